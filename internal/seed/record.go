package seed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
)

// Names in the staging directory.
const (
	// RecordName is the seed record (drive.SeedRecordName: never copied to
	// a drive).
	RecordName = drive.SeedRecordName
	// AccountCopyName is the private copy of the account settings file
	// (mode 0600), so that diskprep and shipping need no --account-settings.
	AccountCopyName = "seedship-account.json"
	// JobKeyName holds the job key, hex encoded (mode 0600).
	JobKeyName = "seedship-jobkey"
	// FormatVersion is the seed record format this package reads and
	// writes.
	FormatVersion = 1
	// maxRecordSize bounds the seed record read.
	maxRecordSize = 1 << 20
	// maxSnapshots bounds the snapshot list of a record.
	maxSnapshots = 10_000
)

// Errors of the package.
var (
	// ErrNoRecord: the staging directory has no seed record.
	ErrNoRecord = errors.New("no seed record")
	// ErrRecord: the seed record is malformed.
	ErrRecord = errors.New("invalid seed record")
	// ErrForeignAccount: an account settings file is for another account
	// than the seed record.
	ErrForeignAccount = errors.New("account settings file of another account")
	// ErrJobKey: the job key file is malformed.
	ErrJobKey = errors.New("invalid job key file")
)

// Record is the seed record of a staging location.
type Record struct {
	Format int    `json:"format"`
	Job    string `json:"job"`
	// AccountID and AccountName name the account the job belongs to.
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	// ServiceURL and Fingerprint are where the service is.
	ServiceURL  string `json:"service_url"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// StorageAccount and Container are where the datacenter imports the
	// drives to.
	StorageAccount string `json:"storage_account"`
	Container      string `json:"container"`
	// Vault and Machine identify the registered machine (empty when the
	// source computer is not registered).
	Vault   string `json:"vault,omitempty"`
	Machine string `json:"machine,omitempty"`
	// Snapshots are the IDs of the snapshots the offline backups wrote.
	Snapshots []string  `json:"snapshots"`
	Created   time.Time `json:"created"`
	// ImportJob is set once diskprep created the job at the service.
	ImportJob *ImportJob `json:"import_job,omitempty"`
	// Shipping is set once the shipment was reported.
	Shipping *importjob.Shipping `json:"shipping,omitempty"`
}

// ImportJob is the import job as the service last reported it.
type ImportJob struct {
	ID                string             `json:"id"`
	State             importjob.JobState `json:"state"`
	Drives            []importjob.Drive  `json:"drives"`
	DatacenterAddress string             `json:"datacenter_address,omitempty"`
	Created           time.Time          `json:"created"`
	Updated           time.Time          `json:"updated"`
}

// SetJob records the service's view of the job at now.
func (r *Record) SetJob(j *importjob.Job, address string, now time.Time) {
	ij := &ImportJob{ID: j.ID, State: j.State, Drives: j.Drives, DatacenterAddress: address, Created: j.Created, Updated: now}
	if address == "" && r.ImportJob != nil {
		ij.DatacenterAddress = r.ImportJob.DatacenterAddress
	}
	r.ImportJob = ij
	if j.Shipping != nil {
		s := *j.Shipping
		r.Shipping = &s
	}
}

// Marshal encodes the record as indented JSON.
func (r *Record) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Parse decodes and checks a seed record. Unknown fields are refused, so
// a record written by a newer version is not half understood.
func Parse(b []byte) (*Record, error) {
	if len(b) > maxRecordSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrRecord, maxRecordSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the record", ErrRecord)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Record) validate() error {
	switch {
	case r.Format != FormatVersion:
		return fmt.Errorf("%w: format %d, this seedship reads %d: upgrade seedship", ErrRecord, r.Format, FormatVersion)
	case r.AccountID == "" || r.ServiceURL == "" || r.StorageAccount == "" || r.Container == "":
		return fmt.Errorf("%w: account, service URL, storage account and container are required", ErrRecord)
	case len(r.Snapshots) > maxSnapshots:
		return fmt.Errorf("%w: more than %d snapshots", ErrRecord, maxSnapshots)
	}
	if err := importjob.ValidateName(r.Job); err != nil {
		return fmt.Errorf("%w: %w", ErrRecord, err)
	}
	return nil
}

// Read reads the seed record of the staging directory dir; ErrNoRecord
// when there is none.
func Read(dir string) (*Record, error) {
	path := filepath.Join(dir, RecordName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoRecord)
	}
	if err != nil {
		return nil, fmt.Errorf("read seed record: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("read seed record %s: %w", path, err)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Write stores the record in dir atomically.
func Write(dir string, r *Record) error {
	if err := r.validate(); err != nil {
		return err
	}
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	return writeAtomic(dir, RecordName, b, 0o644)
}

// IsRepository reports whether dir already holds a repository (a config
// file).
func IsRepository(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "config"))
	return err == nil && fi.Mode().IsRegular()
}

// writeAtomic writes name in dir through a temporary file whose name
// starts with ".tmp-", which neither drive preparation nor the local store
// ever picks up, then renames it into place.
func writeAtomic(dir, name string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}
