package vault

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
)

// Bounds of an import-job request.
const (
	// JobKeySize is the size of a job key, the key that authenticates the
	// drive manifests.
	JobKeySize = 32
	// MaxDrives bounds the drives of one job.
	MaxDrives = 1000
	// maxAddressLen bounds the datacenter address.
	maxAddressLen = 1024
)

// CreateJobRequest is the body of POST /v1/jobs.
type CreateJobRequest struct {
	Name           string `json:"name"`
	StorageAccount string `json:"storage_account"`
	Container      string `json:"container"`
	// Vault and Machine name the repository the seed is for: ids (or the
	// vault's name); both optional.
	Vault   string `json:"vault"`
	Machine string `json:"machine"`
	// JobKey is the 32-byte job key (base64 in JSON).
	JobKey []byte            `json:"job_key"`
	Drives []importjob.Drive `json:"drives"`
}

// JobInfo is a job as the API returns it: the job, its pending deadline and
// where to ship the drives.
type JobInfo struct {
	Job      importjob.Job `json:"job"`
	Deadline struct {
		What string
		At   time.Time
	} `json:"deadline"`
	DatacenterAddress string `json:"datacenter_address,omitempty"`
}

// jobEnvelope is JobInfo as the server writes it (lower-case deadline keys;
// JobInfo decodes it, as JSON keys match case-insensitively).
type jobEnvelope struct {
	Job               importjob.Job `json:"job"`
	Deadline          jobDeadline   `json:"deadline"`
	DatacenterAddress string        `json:"datacenter_address,omitempty"`
}

type jobDeadline struct {
	What string    `json:"what,omitempty"`
	At   time.Time `json:"at,omitzero"`
}

// StorageAccountInfo is one entry of GET /v1/storage-accounts.
type StorageAccountInfo struct {
	Name  string `json:"name"`
	Store string `json:"store"`
}

// decodeStrict decodes exactly one JSON value, refusing unknown fields,
// an empty body and trailing data.
func decodeStrict(b []byte, what string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %s: empty body", ErrInvalidJob, what)
		}
		return fmt.Errorf("%w: %s: %v", ErrInvalidJob, what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: data after the JSON object", ErrInvalidJob, what)
	}
	return nil
}

// parseCreateJob decodes and checks the body of POST /v1/jobs.
func parseCreateJob(b []byte) (CreateJobRequest, error) {
	var req CreateJobRequest
	if err := decodeStrict(b, "create job", &req); err != nil {
		return req, err
	}
	return req, req.check()
}

// check validates every field; the drives through importjob.New.
func (req *CreateJobRequest) check() error {
	if err := importjob.ValidateName(req.Name); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: job %s: %s", ErrInvalidJob, req.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case ValidName(req.StorageAccount) != nil:
		return bad("storage_account %q: use 1 to 64 letters, digits, '.', '_' and '-'", req.StorageAccount)
	case store.ValidName(req.Container) != nil || len(req.Container) > 255:
		return bad("container %q is not a valid container name", req.Container)
	case req.Vault != "" && ValidName(req.Vault) != nil, req.Machine != "" && ValidName(req.Machine) != nil:
		return bad("vault %q or machine %q is not an id or name", req.Vault, req.Machine)
	case len(req.JobKey) != JobKeySize:
		return bad("job_key has %d bytes, want %d (base64)", len(req.JobKey), JobKeySize)
	case len(req.Drives) == 0 || len(req.Drives) > MaxDrives:
		return bad("%d drives: a job has 1 to %d", len(req.Drives), MaxDrives)
	}
	_, err := importjob.New(req.spec("00000000000000000000000000000000", "check"), time.Time{})
	return err
}

// spec is the importjob.Spec of the request for account accountID.
func (req *CreateJobRequest) spec(id, accountID string) importjob.Spec {
	return importjob.Spec{ID: id, Account: accountID, Name: req.Name, StorageAccount: req.StorageAccount,
		Container: req.Container, Vault: req.Vault, Machine: req.Machine, KeyHash: importjob.KeyHash(req.JobKey),
		Drives: req.Drives}
}

// parseShipping decodes and normalises the body of POST
// /v1/jobs/{name}/shipping. Reported is the server's to set.
func parseShipping(b []byte) (importjob.Shipping, error) {
	var s importjob.Shipping
	if err := decodeStrict(b, "shipping", &s); err != nil {
		return s, err
	}
	s, err := importjob.NormalizeShipping(s, true)
	if err != nil {
		return s, err
	}
	s.ShipDate, s.Reported = s.ShipDate.UTC(), time.Time{}
	if y := s.ShipDate.Year(); y < 2000 || y > 9999 {
		return s, fmt.Errorf("%w: shipping %s: ship date %s out of range", ErrInvalidJob, s.Tracking, s.ShipDate.Format(time.DateOnly))
	}
	return s, nil
}

// Jobs is the import-job logic behind the API and the operator commands.
// It applies expiry (with its clock) to every job it reads or writes, and
// changes jobs only through importjob's methods inside meta.ModifyJob.
type Jobs struct {
	DB   meta.DB
	Now  func() time.Time
	Rand io.Reader
}

// expire is the ModifyJob change that applies the job's deadline.
func (js *Jobs) expire(now time.Time) func(*importjob.Job) (bool, error) {
	return func(j *importjob.Job) (bool, error) { return j.Expire(now), nil }
}

// Get returns the account's job, expired first if its deadline passed.
func (js *Jobs) Get(ctx context.Context, accountID, name string) (meta.JobRecord, error) {
	return meta.ModifyJob(ctx, js.DB, accountID, name, js.Now().UTC(), js.expire(js.Now().UTC()))
}

// List returns the jobs f selects, each expired first if its deadline
// passed (so a State filter sees the states after expiry).
func (js *Jobs) List(ctx context.Context, f meta.JobFilter) ([]meta.JobRecord, error) {
	state := f.State
	f.State = ""
	rs, err := js.DB.ListJobs(ctx, f)
	if err != nil {
		return nil, err
	}
	now := js.Now().UTC()
	out := rs[:0]
	for _, r := range rs {
		if probe := r.Job; probe.Expire(now) {
			if r, err = meta.ModifyJob(ctx, js.DB, r.Job.Account, r.Job.Name, now, js.expire(now)); err != nil {
				return nil, err
			}
		}
		if state == "" || r.Job.State == state {
			out = append(out, r)
		}
	}
	return out, nil
}

// Create creates a job in state Creating for the account.
func (js *Jobs) Create(ctx context.Context, accountID string, req CreateJobRequest) (meta.JobRecord, error) {
	if err := req.check(); err != nil {
		return meta.JobRecord{}, err
	}
	if _, err := js.DB.GetStorageAccount(ctx, accountID, req.StorageAccount); errors.Is(err, meta.ErrNotFound) {
		return meta.JobRecord{}, fmt.Errorf("job %s: %w: %q: ask the service operator for the storage account names (seedshipd storage-account list)",
			req.Name, ErrStorageAccountNotFound, req.StorageAccount)
	} else if err != nil {
		return meta.JobRecord{}, err
	}
	if err := js.resolveTarget(ctx, accountID, &req); err != nil {
		return meta.JobRecord{}, err
	}
	id, err := newID(js.Rand)
	if err != nil {
		return meta.JobRecord{}, err
	}
	now := js.Now().UTC()
	j, err := importjob.New(req.spec(id, accountID), now)
	if err != nil {
		return meta.JobRecord{}, err
	}
	r := meta.JobRecord{Job: *j, JobKey: base64.StdEncoding.EncodeToString(req.JobKey), Version: 1, Updated: now}
	if err := js.DB.CreateJob(ctx, r); err != nil {
		return meta.JobRecord{}, err
	}
	return r, nil
}

// resolveTarget checks the request's vault and machine against the account
// and replaces a vault name by its id.
func (js *Jobs) resolveTarget(ctx context.Context, accountID string, req *CreateJobRequest) error {
	if req.Vault == "" {
		if req.Machine != "" {
			return fmt.Errorf("%w: job %s: a machine needs its vault", ErrInvalidJob, req.Name)
		}
		return nil
	}
	v, err := js.DB.GetVault(ctx, req.Vault)
	if errors.Is(err, meta.ErrNotFound) || err == nil && v.AccountID != accountID {
		v, err = js.DB.VaultByName(ctx, accountID, req.Vault)
	}
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("%w: job %s: the account has no vault %q", ErrInvalidJob, req.Name, req.Vault)
	}
	if err != nil {
		return err
	}
	req.Vault = v.ID
	if req.Machine == "" {
		return nil
	}
	m, err := js.DB.GetMachine(ctx, req.Machine)
	if errors.Is(err, meta.ErrNotFound) || err == nil && m.VaultID != v.ID {
		return fmt.Errorf("%w: job %s: vault %s has no machine %q", ErrInvalidJob, req.Name, v.Name, req.Machine)
	}
	return err
}

// ReportShipping records the inbound shipment and moves the job to Shipping.
func (js *Jobs) ReportShipping(ctx context.Context, accountID, name string, s importjob.Shipping) (meta.JobRecord, error) {
	return js.change(ctx, accountID, name, func(j *importjob.Job, now time.Time) error { return j.ReportShipping(now, s) })
}

// Cancel cancels a job that was not shipped.
func (js *Jobs) Cancel(ctx context.Context, accountID, name string) (meta.JobRecord, error) {
	return js.change(ctx, accountID, name, func(j *importjob.Job, now time.Time) error {
		return j.Cancel(now, "cancelled by the account admin")
	})
}

// change applies op after expiry. An expiry is stored even when op is then
// refused (importjob's methods change nothing when they refuse).
func (js *Jobs) change(ctx context.Context, accountID, name string, op func(*importjob.Job, time.Time) error) (meta.JobRecord, error) {
	now := js.Now().UTC()
	var opErr error
	r, err := meta.ModifyJob(ctx, js.DB, accountID, name, now, func(j *importjob.Job) (bool, error) {
		expired := j.Expire(now)
		opErr = op(j, now)
		if opErr != nil && !expired {
			return false, opErr
		}
		return true, nil
	})
	if err != nil {
		return r, err
	}
	return r, opErr
}

// Datacenter returns the datacenter's shipping address; ErrNoDatacenter
// when the operator has not set it.
func (js *Jobs) Datacenter(ctx context.Context) (string, error) {
	a, err := js.DB.GetSetting(ctx, meta.SettingDatacenterAddress)
	if errors.Is(err, meta.ErrNotFound) {
		return "", fmt.Errorf("%w: the operator sets it with seedshipd datacenter set", ErrNoDatacenter)
	}
	return a, err
}

// Info returns the API's view of a job record.
func (js *Jobs) Info(ctx context.Context, r meta.JobRecord) (JobInfo, error) {
	var info JobInfo
	info.Job = r.Job
	info.Deadline.What, info.Deadline.At = r.Job.Deadline()
	addr, err := js.Datacenter(ctx)
	if err != nil && !errors.Is(err, ErrNoDatacenter) {
		return info, err
	}
	info.DatacenterAddress = addr
	return info, nil
}

// MarshalJSON writes the envelope the API documents (lower-case deadline
// keys, no deadline fields when none applies).
func (i JobInfo) MarshalJSON() ([]byte, error) { return json.Marshal(envelope(i)) }

func envelope(info JobInfo) jobEnvelope {
	return jobEnvelope{Job: info.Job, Deadline: jobDeadline{What: info.Deadline.What, At: info.Deadline.At},
		DatacenterAddress: info.DatacenterAddress}
}

// SetDatacenterAddress sets the shipping address that job answers carry.
func (a *Admin) SetDatacenterAddress(ctx context.Context, address string) error {
	address = strings.TrimSpace(address)
	if address == "" || len(address) > maxAddressLen || !importjob.PlainText(address) {
		return fmt.Errorf("%w: datacenter address: 1 to %d bytes of UTF-8 text without control characters", ErrInvalidJob, maxAddressLen)
	}
	return a.DB.SetSetting(ctx, meta.SettingDatacenterAddress, address)
}

// CreateStorageAccount records a storage account of the account: a store
// location (checked by the caller) that import jobs write containers into.
func (a *Admin) CreateStorageAccount(ctx context.Context, accountID, name, location string) (meta.StorageAccount, error) {
	if err := ValidName(name); err != nil {
		return meta.StorageAccount{}, fmt.Errorf("create storage account: %w", err)
	}
	if location == "" {
		return meta.StorageAccount{}, fmt.Errorf("create storage account %s: no store location", name)
	}
	sa := meta.StorageAccount{AccountID: accountID, Name: name, Store: location, Created: a.Now().UTC()}
	return sa, a.DB.CreateStorageAccount(ctx, sa)
}
