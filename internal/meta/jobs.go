package meta

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seedship/seedship/internal/importjob"
)

// Errors of the import-job records, wrapped with %w and the job named.
var (
	// ErrTrackingInUse: another job (of any account) already has that
	// inbound tracking number.
	ErrTrackingInUse = errors.New("tracking number already used by another import job")
	// ErrConflict: the job changed since it was read (optimistic
	// concurrency); read it again and reapply the change.
	ErrConflict = errors.New("job changed concurrently")
)

// SettingDatacenterAddress is the settings key of the datacenter's shipping
// address.
const SettingDatacenterAddress = "datacenter_address"

// StorageAccount is where an account's import jobs put their data: a named
// store location (local folder, azure:…, s3:…) that holds the storage
// containers.
type StorageAccount struct {
	AccountID string
	Name      string // unique within the account
	Store     string // store location
	Created   time.Time
}

// JobRecord is an import job as stored: the job itself and what the
// database keeps beside it.
type JobRecord struct {
	// Job.Account is the owning account's id; Job.ID and (Job.Account,
	// Job.Name) are unique.
	Job importjob.Job
	// JobKey is the job key as the customer gave it (base64); it is never
	// part of the job's JSON.
	JobKey string
	// Version counts the record's updates; UpdateJob succeeds only when it
	// matches the stored version.
	Version int64
	Updated time.Time
}

// JobFilter selects jobs; empty fields match everything.
type JobFilter struct {
	AccountID string
	Name      string
	State     importjob.JobState
}

// StorageAccounts stores storage accounts.
type StorageAccounts interface {
	// CreateStorageAccount stores sa; ErrExists when the account already
	// has one of that name; ErrNotFound when the account does not exist.
	CreateStorageAccount(ctx context.Context, sa StorageAccount) error
	GetStorageAccount(ctx context.Context, accountID, name string) (StorageAccount, error)
	// ListStorageAccounts returns the account's storage accounts sorted by name.
	ListStorageAccounts(ctx context.Context, accountID string) ([]StorageAccount, error)
}

// Settings stores service-wide settings such as the datacenter address.
type Settings interface {
	// SetSetting creates or replaces a setting.
	SetSetting(ctx context.Context, key, value string) error
	// GetSetting returns a setting; ErrNotFound when it was never set.
	GetSetting(ctx context.Context, key string) (string, error)
}

// Jobs stores import jobs.
type Jobs interface {
	// CreateJob stores a new job with version 1: ErrExists when its id, or
	// its name within the account, is taken; ErrTrackingInUse when its
	// tracking number is; ErrNotFound when the account does not exist.
	CreateJob(ctx context.Context, r JobRecord) error
	// GetJob returns the account's job of that name.
	GetJob(ctx context.Context, accountID, name string) (JobRecord, error)
	// ListJobs returns the jobs f selects, by account id, then name (byte-wise).
	ListJobs(ctx context.Context, f JobFilter) ([]JobRecord, error)
	// UpdateJob replaces the stored job r.Job.ID if its version is still
	// r.Version, and returns the record with its new version: ErrConflict
	// when another writer updated it first, ErrTrackingInUse when its new
	// tracking number belongs to another job, ErrNotFound when it is gone.
	// Name, account and job key do not change.
	UpdateJob(ctx context.Context, r JobRecord, now time.Time) (JobRecord, error)
}

// maxJobRetries bounds ModifyJob's attempts against concurrent writers.
const maxJobRetries = 16

// ModifyJob is the read-modify-write of one job: it reads the account's job,
// applies fn to it and, when fn reports a change, stores it at time now.
// When another writer updated the job in between, it starts over from a
// fresh read, so no update is lost. An error from fn is returned as it is
// and nothing is stored.
func ModifyJob(ctx context.Context, db Jobs, accountID, name string, now time.Time,
	fn func(*importjob.Job) (changed bool, err error)) (JobRecord, error) {
	for attempt := range maxJobRetries {
		r, err := db.GetJob(ctx, accountID, name)
		if err != nil {
			return r, err
		}
		changed, err := fn(&r.Job)
		if err != nil || !changed {
			return r, err
		}
		nr, err := db.UpdateJob(ctx, r, now)
		if !errors.Is(err, ErrConflict) {
			return nr, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return r, err
		}
	}
	return JobRecord{}, fmt.Errorf("update job %s: %w %d times in a row", name, ErrConflict, maxJobRetries)
}

// backoff waits a random time that grows with attempt (up to 64 ms), so
// writers that keep colliding on one job spread out instead of retrying in
// lockstep: without it, one of several instances can lose every round.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(time.Millisecond << min(attempt, 6)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
