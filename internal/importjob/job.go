// Package importjob is the model of an offline-seeding import job and its
// drives: the fields the service stores and the API serialises, and the
// state machine that moves them from Creating to Completed. It is pure: no
// database, no clock, no I/O. Every method that changes a state checks the
// change against an explicit transition table, stamps it with the time the
// caller passes in and appends it to the job's History; a refused change
// returns a *TransitionError wrapping ErrInvalidTransition.
//
// A Job value is not safe for concurrent use; the service loads it, applies
// one method and stores it back inside one database transaction.
package importjob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Errors of the package, wrapped with %w and the object named.
var (
	// ErrInvalid: a field of a job, drive or shipping record is malformed.
	ErrInvalid = errors.New("invalid import job")
	// ErrInvalidName: a job name breaks the naming rules.
	ErrInvalidName = errors.New("invalid import job name")
	// ErrDriveNotFound: the job has no drive with that id.
	ErrDriveNotFound = errors.New("no such drive in job")
	// ErrOtherTarget: the job's seed is for another vault or machine.
	ErrOtherTarget = errors.New("import job is for another vault or machine")
)

// Job is one import job: a set of drives that carry one staging repository
// to one storage container.
type Job struct {
	ID             string    `json:"id"`
	Account        string    `json:"account"`
	Name           string    `json:"name"`
	StorageAccount string    `json:"storage_account"`
	Container      string    `json:"container"`
	Vault          string    `json:"vault"`
	Machine        string    `json:"machine"`
	State          JobState  `json:"state"`
	Created        time.Time `json:"created"`
	// KeyHash is the hex SHA-256 of the job key that authenticates the
	// drive manifests (see KeyHash). The key itself is kept by the service
	// apart from the job record and never serialised with it.
	KeyHash        string       `json:"key_hash,omitempty"`
	Shipping       *Shipping    `json:"shipping,omitempty"`
	ReturnShipping *Shipping    `json:"return_shipping,omitempty"`
	Drives         []Drive      `json:"drives"`
	History        []Transition `json:"history"`
}

// Shipping describes one shipment: customer to datacenter (Job.Shipping) or
// back (Job.ReturnShipping).
type Shipping struct {
	Carrier string `json:"carrier"`
	// Tracking is stored normalised (NormalizeTracking); the database keeps
	// it unique across all jobs.
	Tracking string `json:"tracking"`
	// Packages is the number of parcels; all drives of a job travel in one.
	Packages      int       `json:"packages"`
	ShipDate      time.Time `json:"ship_date,omitzero"`
	ReturnAddress string    `json:"return_address,omitempty"`
	Contact       string    `json:"contact,omitempty"`
	// Reported is when the shipment was reported to the service.
	Reported time.Time `json:"reported,omitzero"`
}

// Drive is one drive of a job, as described by its manifest, and the
// progress of its import.
type Drive struct {
	ID           string     `json:"id"`            // 32 lower-case hex digits (the manifest's drive_id)
	Seq          int        `json:"seq"`           // 1, 2, … within the job
	ManifestHash string     `json:"manifest_hash"` // hex SHA-256 of the manifest file's bytes
	Bytes        int64      `json:"bytes"`         // total size of the manifest's files
	Files        int        `json:"files"`         // number of files in the manifest
	State        DriveState `json:"state"`
	BytesCopied  int64      `json:"bytes_copied"`
	FilesFailed  int        `json:"files_failed"`
	// Claim names the import station holding the drive while Transferring.
	Claim string `json:"claim,omitempty"`
}

// Transition records one state change of the job or of one of its drives.
type Transition struct {
	Time    time.Time `json:"time"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Subject string    `json:"subject"` // "job" or the drive id
	Note    string    `json:"note,omitempty"`
}

// Spec is what a new job is created from; the service fills in ID, Account,
// Vault and Machine from the caller's credentials.
type Spec struct {
	ID             string  `json:"id"`
	Account        string  `json:"account"`
	Name           string  `json:"name"`
	StorageAccount string  `json:"storage_account"`
	Container      string  `json:"container"`
	Vault          string  `json:"vault"`
	Machine        string  `json:"machine"`
	KeyHash        string  `json:"key_hash,omitempty"`
	Drives         []Drive `json:"drives,omitempty"` // only ID, Seq, ManifestHash, Bytes, Files are used
}

// KeyHash returns the hex SHA-256 of a job key, the fingerprint stored in
// Job.KeyHash.
func KeyHash(jobKey []byte) string {
	sum := sha256.Sum256(jobKey)
	return hex.EncodeToString(sum[:])
}

// New returns a job in state Creating, created at now, with the spec's
// drives in state Specified.
func New(s Spec, now time.Time) (*Job, error) {
	j := &Job{
		ID: s.ID, Account: s.Account, Name: s.Name, StorageAccount: s.StorageAccount,
		Container: s.Container, Vault: s.Vault, Machine: s.Machine, KeyHash: s.KeyHash,
		State: JobCreating, Created: now, Drives: []Drive{}, History: []Transition{},
	}
	if err := j.validateFields(); err != nil {
		return nil, err
	}
	j.History = append(j.History, Transition{Time: now, To: string(JobCreating), Subject: "job"})
	for _, d := range s.Drives {
		if err := j.AddDrive(now, d); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// AddDrive adds a drive in state Specified; only while the job is Creating.
func (j *Job) AddDrive(now time.Time, d Drive) error {
	if j.State != JobCreating {
		return &TransitionError{Subject: "job " + j.Name, From: string(j.State), To: "add drive " + d.ID,
			Allowed: []string{string(JobCreating)}, Reason: "drives can only be added while the job is Creating"}
	}
	d = Drive{ID: d.ID, Seq: d.Seq, ManifestHash: d.ManifestHash, Bytes: d.Bytes, Files: d.Files, State: DriveSpecified}
	if err := validateDrive(d); err != nil {
		return fmt.Errorf("job %s: %w", j.Name, err)
	}
	for _, o := range j.Drives {
		if o.ID == d.ID || o.Seq == d.Seq {
			return fmt.Errorf("job %s: drive %s (seq %d): %w: id or sequence number already used by drive %s",
				j.Name, d.ID, d.Seq, ErrInvalid, o.ID)
		}
	}
	j.Drives = append(j.Drives, d)
	j.History = append(j.History, Transition{Time: now, To: string(DriveSpecified), Subject: d.ID})
	return nil
}

// Validate checks a job read from outside (database, API): its fields,
// states and drives.
func (j *Job) Validate() error {
	if err := j.validateFields(); err != nil {
		return err
	}
	if !j.State.Valid() {
		return fmt.Errorf("job %s: %w: unknown state %q", j.Name, ErrInvalid, j.State)
	}
	ids, seqs := map[string]bool{}, map[int]bool{}
	for _, d := range j.Drives {
		if err := validateDrive(d); err != nil {
			return fmt.Errorf("job %s: %w", j.Name, err)
		}
		if !d.State.Valid() {
			return fmt.Errorf("job %s: drive %s: %w: unknown state %q", j.Name, d.ID, ErrInvalid, d.State)
		}
		if ids[d.ID] || seqs[d.Seq] {
			return fmt.Errorf("job %s: drive %s (seq %d): %w: duplicate id or sequence number", j.Name, d.ID, d.Seq, ErrInvalid)
		}
		ids[d.ID], seqs[d.Seq] = true, true
	}
	return nil
}

func (j *Job) validateFields() error {
	if err := ValidateName(j.Name); err != nil {
		return err
	}
	if j.KeyHash != "" && !isHex(j.KeyHash, 64) {
		return fmt.Errorf("job %s: %w: key hash %q is not 64 lower-case hex digits", j.Name, ErrInvalid, j.KeyHash)
	}
	for _, f := range []struct{ name, v string }{
		{"id", j.ID}, {"account", j.Account}, {"storage account", j.StorageAccount}, {"container", j.Container},
	} {
		if f.v == "" {
			return fmt.Errorf("job %s: %w: %s is empty", j.Name, ErrInvalid, f.name)
		}
	}
	return nil
}

func validateDrive(d Drive) error {
	switch {
	case !isHex(d.ID, 32):
		return fmt.Errorf("drive %q: %w: id is not 32 lower-case hex digits", d.ID, ErrInvalid)
	case d.Seq < 1:
		return fmt.Errorf("drive %s: %w: sequence number %d < 1", d.ID, ErrInvalid, d.Seq)
	case !isHex(d.ManifestHash, 64):
		return fmt.Errorf("drive %s: %w: manifest hash %q is not 64 lower-case hex digits", d.ID, ErrInvalid, d.ManifestHash)
	case d.Bytes < 0 || d.Files < 0 || d.BytesCopied < 0 || d.FilesFailed < 0:
		return fmt.Errorf("drive %s: %w: negative size or count", d.ID, ErrInvalid)
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
