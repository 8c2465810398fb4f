package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
)

// Receipt is the outcome of receiving a drive.
type Receipt struct {
	Job     importjob.Job // the job after the change
	DriveID string
	Seq     int
	// AlreadyReceived: the drive had been received before; nothing changed.
	AlreadyReceived bool
	// Failure is why the drive failed verification on receipt (it is then
	// Failed and will not be imported).
	Failure string
}

// getJob reads the account's job, naming it when it does not exist.
func (im *Importer) getJob(ctx context.Context, accountID, name string) (meta.JobRecord, error) {
	r, err := im.DB.GetJob(ctx, accountID, name)
	if errors.Is(err, meta.ErrNotFound) {
		return r, fmt.Errorf("import job %s: %w: see seedshipd ops jobs", name, err)
	}
	return r, err
}

// Receive records the arrival of the drive mounted at root against the
// account's job. The drive must be one of the job's drives (by its
// manifest; a drive of another job or of none is refused with
// ErrForeignDrive and logged). A drive of the job whose manifest MAC or
// hash does not match is received and marked Failed at once: the error
// wraps ErrDriveFailed. Receiving a drive again changes nothing.
func (im *Importer) Receive(ctx context.Context, accountID, job, root string) (*Receipt, error) {
	r, err := im.getJob(ctx, accountID, job)
	if err != nil {
		return nil, err
	}
	c, err := im.check(ctx, r, root)
	if err != nil {
		return nil, err
	}
	rc := &Receipt{DriveID: c.driveID, Failure: c.failure}
	nr, err := im.change(ctx, accountID, job, func(j *importjob.Job, now time.Time) error {
		return receive(j, now, c, rc)
	})
	if err != nil {
		return nil, fmt.Errorf("receive drive %s: %w", c.driveID, err)
	}
	rc.Job = nr.Job
	if d := nr.Job.Drive(c.driveID); d != nil {
		rc.Seq = d.Seq
	}
	im.log().Info("drive received", "job", job, "account", accountID, "drive", c.driveID, "seq", rc.Seq,
		"already", rc.AlreadyReceived, "failure", c.failure, "job_state", nr.Job.State)
	if c.failure != "" && !rc.AlreadyReceived {
		return rc, fmt.Errorf("job %s: drive %s (seq %d) received, but %w: %s: it will not be imported; ship it back with the job's other drives",
			job, c.driveID, rc.Seq, ErrDriveFailed, c.failure)
	}
	return rc, nil
}

// receive is Receive's change of the job.
func receive(j *importjob.Job, now time.Time, c checked, rc *Receipt) error {
	d := j.Drive(c.driveID)
	rc.AlreadyReceived = d.State != importjob.DriveSpecified && d.State != importjob.DriveNeverReceived
	if rc.AlreadyReceived {
		return errNoChange
	}
	if err := j.ReceiveDrive(now, c.driveID); err != nil {
		return err
	}
	if c.failure != "" {
		return j.FailDrive(now, c.driveID, "manifest check on receipt: "+c.failure)
	}
	return nil
}
