package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
)

// MaxFailures bounds the failed files a Result lists (the error log lists
// them all).
const MaxFailures = 100

// releaseTimeout bounds giving a claim back after the import stopped (the
// import's own context may be done by then).
const releaseTimeout = 30 * time.Second

// Result is the outcome of one drive's import.
type Result struct {
	Job      string
	DriveID  string
	Seq      int
	State    importjob.DriveState // the drive's state afterwards
	JobState importjob.JobState
	// Reason is why the drive failed (State Failed).
	Reason string
	Files  int   // files in the manifest
	Bytes  int64 // their total size
	// FilesCopied were written by this run; FilesSkipped were already in the
	// container (an earlier, interrupted run); FilesFailed were not stored.
	FilesCopied, FilesSkipped, FilesFailed int
	// FilesIgnored are entries on the drive that its manifest does not list.
	FilesIgnored int
	BytesCopied  int64 // bytes of the drive's files now in the container
	BytesWritten int64 // bytes this run wrote
	Failures     []Failure
	// CopyLog and ErrorLog are the object names of the logs.
	CopyLog, ErrorLog string
}

// Failure is one file that was not imported.
type Failure struct {
	Path   string
	Reason string
}

// run is one import of one drive.
type run struct {
	im        *Importer
	accountID string
	job       importjob.Job
	station   string
	st        store.Store
	logs      *driveLogs
	res       *Result
	lastSave  time.Time
}

// Import copies every file of the received drive mounted at root into the
// job's storage container, verifying each against the manifest, writes the
// drive's copy and error logs into the container and moves the drive to
// Completed, CompletedMoreInfo (some files failed) or Failed (manifest
// unreadable, MAC or hash mismatch: the error wraps ErrDriveFailed). The
// drive is claimed for this station first: a drive another station is
// importing is refused with ErrClaimed. When the import stops early (error,
// cancelled context) the claim is given back so that a later run, which
// skips the files already in the container, can finish it.
func (im *Importer) Import(ctx context.Context, accountID, job, root string) (*Result, error) {
	r, err := im.getJob(ctx, accountID, job)
	if err != nil {
		return nil, err
	}
	c, err := im.check(ctx, r, root)
	if err != nil {
		return nil, err
	}
	d := r.Job.Drive(c.driveID)
	if d.State == importjob.DriveSpecified {
		return nil, fmt.Errorf("job %s: drive %s (seq %d): %w: receive it first (seedshipd ops receive)", job, d.ID, d.Seq, ErrNotReceived)
	}
	st, err := im.openStore(ctx, r.Job)
	if err != nil {
		return nil, err
	}
	logs, err := newDriveLogs(im.TempDir)
	if err != nil {
		return nil, err
	}
	defer logs.close()
	ru := &run{im: im, accountID: accountID, job: r.Job, station: im.station(), st: st, logs: logs,
		res: &Result{Job: job, DriveID: d.ID, Seq: d.Seq}}
	if c.failure != "" {
		return ru.res, ru.fail(ctx, c.failure)
	}
	return ru.res, ru.importDrive(ctx, root, c.manifest)
}

// openStore opens the store of the job's storage account.
func (im *Importer) openStore(ctx context.Context, j importjob.Job) (store.Store, error) {
	sa, err := im.DB.GetStorageAccount(ctx, j.Account, j.StorageAccount)
	if err != nil {
		return nil, fmt.Errorf("job %s: storage account %s: %w", j.Name, j.StorageAccount, err)
	}
	if im.OpenStore == nil {
		return nil, fmt.Errorf("job %s: no store opener configured", j.Name)
	}
	st, err := im.OpenStore(ctx, sa.Store)
	if err != nil {
		return nil, fmt.Errorf("job %s: open storage account %s at %s: %w", j.Name, sa.Name, sa.Store, err)
	}
	return st, nil
}

// importDrive claims the drive, copies its files, publishes the logs and
// finishes the drive; on any error it gives the claim back.
func (ru *run) importDrive(ctx context.Context, root string, m *drive.Manifest) error {
	if err := ru.claim(ctx); err != nil {
		return err
	}
	ru.im.log().Info("drive import started", "job", ru.job.Name, "drive", m.DriveID, "station", ru.station,
		"files", len(m.Files), "bytes", m.Bytes())
	err := ru.copyAll(ctx, root, m)
	if err == nil {
		err = ru.finish(ctx)
	}
	if err != nil {
		ru.release(ctx, err)
		ru.im.log().Warn("drive import stopped", "job", ru.job.Name, "drive", m.DriveID, "station", ru.station, "err", err.Error())
	}
	return err
}

// claim takes the drive for this station: Received → Transferring. Only one
// station succeeds; the others learn who holds it.
func (ru *run) claim(ctx context.Context) error {
	id := ru.res.DriveID
	_, err := ru.im.change(ctx, ru.accountID, ru.job.Name, func(j *importjob.Job, now time.Time) error {
		d := j.Drive(id)
		switch {
		case d.State == importjob.DriveTransferring && !ru.im.TakeOver && !staleClaim(d.Claim):
			return fmt.Errorf("job %s: drive %s: %w: %s holds it; if that station is dead, run again with --take-over",
				j.Name, id, ErrClaimed, d.Claim)
		case d.State == importjob.DriveTransferring:
			if err := j.ReleaseDrive(now, id, "claim of "+d.Claim+" taken over by "+ru.station); err != nil {
				return err
			}
		case d.State.Done() || d.State == importjob.DriveShippedBack:
			return fmt.Errorf("job %s: drive %s was already imported (%s): nothing to do", j.Name, id, d.State)
		}
		return j.StartDrive(now, id, ru.station)
	})
	return err
}

// owned is a change that applies op only while this station holds the
// drive.
func (ru *run) owned(ctx context.Context, op func(j *importjob.Job, now time.Time) error) (meta.JobRecord, error) {
	id := ru.res.DriveID
	return ru.im.change(ctx, ru.accountID, ru.job.Name, func(j *importjob.Job, now time.Time) error {
		if d := j.Drive(id); d == nil || d.State != importjob.DriveTransferring || d.Claim != ru.station {
			return fmt.Errorf("job %s: drive %s: %w: the drive is no longer claimed by %s", j.Name, id, ErrClaimLost, ru.station)
		}
		return op(j, now)
	})
}

// release gives the claim back after the import stopped early.
func (ru *run) release(ctx context.Context, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, err := ru.owned(ctx, func(j *importjob.Job, now time.Time) error {
		if err := j.UpdateDriveProgress(ru.res.DriveID, ru.res.BytesCopied, ru.res.FilesFailed); err != nil {
			return err
		}
		return j.ReleaseDrive(now, ru.res.DriveID, "import stopped: "+cause.Error())
	})
	if err != nil && !errors.Is(err, ErrClaimLost) {
		ru.im.log().Error("cannot release drive claim", "job", ru.job.Name, "drive", ru.res.DriveID, "err", err.Error())
	}
}

// save stores the progress in the job when it is due.
func (ru *run) save(ctx context.Context) error {
	every := ru.im.SaveEvery
	if every == 0 {
		every = 5 * time.Second
	}
	now := ru.im.now()
	if now.Sub(ru.lastSave) < every {
		return nil
	}
	ru.lastSave = now
	_, err := ru.owned(ctx, func(j *importjob.Job, _ time.Time) error {
		return j.UpdateDriveProgress(ru.res.DriveID, ru.res.BytesCopied, ru.res.FilesFailed)
	})
	return err
}

// finish publishes the logs and moves the drive to Completed or
// CompletedMoreInfo.
func (ru *run) finish(ctx context.Context) error {
	if err := ru.publish(ctx); err != nil {
		return err
	}
	res := ru.res
	r, err := ru.owned(ctx, func(j *importjob.Job, now time.Time) error {
		return j.FinishDrive(now, res.DriveID, res.BytesCopied, res.FilesFailed)
	})
	if err != nil {
		return err
	}
	res.State, res.JobState = r.Job.Drive(res.DriveID).State, r.Job.State
	ru.im.log().Info("drive imported", "job", ru.job.Name, "drive", res.DriveID, "state", res.State,
		"copied", res.FilesCopied, "skipped", res.FilesSkipped, "failed", res.FilesFailed,
		"ignored", res.FilesIgnored, "bytes", res.BytesCopied, "job_state", res.JobState)
	return nil
}

func (ru *run) publish(ctx context.Context) error {
	var err error
	prefix := LogPrefix(ru.job.Container, ru.job.Name, ru.res.DriveID)
	ru.res.CopyLog, ru.res.ErrorLog, err = ru.logs.publish(ctx, ru.st, prefix)
	if err != nil {
		return fmt.Errorf("job %s: drive %s: store the import logs: %w", ru.job.Name, ru.res.DriveID, err)
	}
	return nil
}

// fail marks a drive whose manifest failed its checks Failed, and stores
// the reason in its error log.
func (ru *run) fail(ctx context.Context, reason string) error {
	res := ru.res
	res.Reason = reason
	r, err := ru.im.change(ctx, ru.accountID, ru.job.Name, func(j *importjob.Job, now time.Time) error {
		if d := j.Drive(res.DriveID); d.State == importjob.DriveTransferring && d.Claim != ru.station && !staleClaim(d.Claim) {
			return fmt.Errorf("job %s: drive %s: %w: %s holds it", j.Name, res.DriveID, ErrClaimed, d.Claim)
		}
		return j.FailDrive(now, res.DriveID, "manifest check before import: "+reason)
	})
	if err != nil {
		return fmt.Errorf("job %s: drive %s failed verification (%s), and it cannot be marked Failed: %w", ru.job.Name, res.DriveID, reason, err)
	}
	res.State, res.JobState = r.Job.Drive(res.DriveID).State, r.Job.State
	ru.logs.copy.printf("# job %s, drive %s (seq %d): nothing imported: the drive failed verification", ru.job.Name, res.DriveID, res.Seq)
	ru.logs.errs.printf("drive failed: %s", reason)
	ru.im.log().Warn("drive failed", "job", ru.job.Name, "drive", res.DriveID, "reason", reason, "job_state", res.JobState)
	err = fmt.Errorf("job %s: drive %s (seq %d) %w: %s: nothing was imported", ru.job.Name, res.DriveID, res.Seq, ErrDriveFailed, reason)
	if perr := ru.publish(ctx); perr != nil {
		return errors.Join(err, perr)
	}
	return err
}
