// Package importer is the datacenter side of offline seeding: it receives
// shipped drives against their import job and copies every file of a drive
// into the job's storage container, verifying each file's SHA-256 against
// the drive's authenticated manifest before the object becomes visible.
// Files up to 64 MiB (packs are 16 MiB) are read into memory and verified
// before their Put, which then sends a seekable body; larger files are
// verified while they stream and their Put is aborted on a mismatch. Two
// Puts are in flight while the next file is read and hashed.
//
// Job and drive states move only through importjob's methods, inside
// meta.ModifyJob, so concurrent stations never lose an update: a drive's
// import is claimed with StartDrive, which succeeds for exactly one station
// (only from Received). The package does no terminal I/O; the caller gets
// progress through a callback and a Result.
//
// A drive is untrusted input. Its manifest is bounded and checked by
// package drive (MAC with the job key, then parse, then the registered
// hash); every listed file is opened without following symbolic links, and
// every object name is built by ObjectName, which only ever yields a valid
// name below the job's container prefix.
package importer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
)

// Errors of the package, wrapped with %w and the job or drive named.
var (
	// ErrForeignDrive: the drive is not one of the job's drives (it belongs
	// to another job, or cannot be identified at all). Nothing is changed.
	ErrForeignDrive = errors.New("drive does not belong to this import job")
	// ErrDriveFailed: the drive's manifest is unreadable, its MAC or its
	// hash does not match; the drive was marked Failed.
	ErrDriveFailed = errors.New("drive failed verification")
	// ErrNotReceived: the drive has not been received yet.
	ErrNotReceived = errors.New("drive has not been received")
	// ErrClaimed: another station holds the drive's import claim.
	ErrClaimed = errors.New("drive is being imported by another station")
	// ErrClaimLost: the station's claim was taken over while it imported.
	ErrClaimLost = errors.New("import claim lost")
	// ErrJobKey: the job's stored key is missing or malformed.
	ErrJobKey = errors.New("job key unusable")
)

// JobStore is the part of the service's database the importer uses.
type JobStore interface {
	meta.Jobs
	GetStorageAccount(ctx context.Context, accountID, name string) (meta.StorageAccount, error)
}

// Importer receives and imports drives at one station.
type Importer struct {
	// DB holds the jobs and storage accounts.
	DB JobStore
	// OpenStore opens a storage account's store location (required for
	// Import).
	OpenStore func(ctx context.Context, location string) (store.Store, error)
	// Station names this import station in claims (DefaultStation when
	// empty).
	Station string
	// TakeOver lets Import take over a drive claimed by another station
	// (one known to be dead). Claims of dead processes on this host are
	// taken over without it.
	TakeOver bool
	// Logger receives refusals, failures and progress (slog.Default's
	// handler is not used: nil discards).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Progress, when set, is called after every file of an import.
	Progress func(Progress)
	// SaveEvery is how often an import's progress is stored in the job
	// (default 5 s; negative: after every file).
	SaveEvery time.Duration
	// TempDir holds the logs while they are written (os.TempDir when
	// empty).
	TempDir string

	bufferLimit int64 // tests only: maxBuffered when 0
}

// Progress reports an import in progress.
type Progress struct {
	Job, DriveID string
	Path         string // the file just handled
	Files        int    // files in the manifest
	Bytes        int64  // bytes in the manifest
	FilesDone    int    // copied, skipped or failed so far
	FilesFailed  int
	BytesCopied  int64 // bytes of this drive now in the container
}

// DefaultStation is "hostname:pid", unique per running importer.
func DefaultStation() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}

func (im *Importer) station() string {
	if im.Station == "" {
		return DefaultStation()
	}
	return im.Station
}

func (im *Importer) now() time.Time {
	if im.Now == nil {
		return time.Now().UTC()
	}
	return im.Now().UTC()
}

func (im *Importer) log() *slog.Logger {
	if im.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return im.Logger
}

// errNoChange, returned by a change's op, stores nothing and is not an
// error.
var errNoChange = errors.New("no change")

// change applies op to the account's job in one optimistic-concurrency
// update, after the job's expiry. An expiry is stored even when op is then
// refused (importjob's methods change nothing when they refuse).
func (im *Importer) change(ctx context.Context, accountID, name string, op func(*importjob.Job, time.Time) error) (meta.JobRecord, error) {
	now := im.now()
	var opErr error
	r, err := meta.ModifyJob(ctx, im.DB, accountID, name, now, func(j *importjob.Job) (bool, error) {
		expired := j.Expire(now)
		opErr = op(j, now)
		if errors.Is(opErr, errNoChange) {
			opErr = nil
			return expired, nil
		}
		if opErr != nil && !expired {
			return false, opErr
		}
		return true, nil
	})
	if errors.Is(err, meta.ErrNotFound) {
		return r, fmt.Errorf("import job %s: %w: see seedshipd ops jobs", name, err)
	}
	if err != nil {
		return r, err
	}
	return r, opErr
}

// jobKey decodes the key stored for the job.
func jobKey(r meta.JobRecord) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(r.JobKey)
	if err != nil || len(key) != drive.JobKeySize {
		return nil, fmt.Errorf("job %s: %w: the database holds no %d-byte base64 key for it", r.Job.Name, ErrJobKey, drive.JobKeySize)
	}
	return key, nil
}

// NeverReceived gives up waiting for a drive of the job that did not
// arrive; the job moves to Packaging once every other drive is done.
func (im *Importer) NeverReceived(ctx context.Context, accountID, job, driveID, note string) (importjob.Job, error) {
	if note == "" {
		note = "marked never received by station " + im.station()
	}
	r, err := im.change(ctx, accountID, job, func(j *importjob.Job, now time.Time) error {
		return j.MarkNeverReceived(now, driveID, note)
	})
	if err == nil {
		im.log().Info("drive never received", "job", job, "drive", driveID, "job_state", r.Job.State)
	}
	return r.Job, err
}

// ShipBack records the return shipment of the job's drives: the job
// completes, with errors when a drive or file failed or never arrived.
func (im *Importer) ShipBack(ctx context.Context, accountID, job string, s importjob.Shipping) (importjob.Job, error) {
	r, err := im.change(ctx, accountID, job, func(j *importjob.Job, now time.Time) error {
		return j.ShipBack(now, s)
	})
	if err == nil {
		im.log().Info("drives shipped back", "job", job, "tracking", r.Job.ReturnShipping.Tracking, "job_state", r.Job.State)
	}
	return r.Job, err
}
