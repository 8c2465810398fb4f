package importjob

import (
	"fmt"
	"time"
)

// move changes the job's state after checking the transition table and
// records the change.
func (j *Job) move(now time.Time, to JobState, note string) error {
	if !j.State.CanMove(to) {
		return jobTransitionError(j.Name, j.State, to)
	}
	j.History = append(j.History, Transition{Time: now, From: string(j.State), To: string(to), Subject: "job", Note: note})
	j.State = to
	return nil
}

// moveDrive changes drive d's state after checking the transition table and
// records the change.
func (j *Job) moveDrive(now time.Time, d *Drive, to DriveState, note string) error {
	if !d.State.CanMove(to) {
		return driveTransitionError(d.ID, d.State, to)
	}
	j.History = append(j.History, Transition{Time: now, From: string(d.State), To: string(to), Subject: d.ID, Note: note})
	d.State = to
	return nil
}

// Drive returns the drive with the given id, or nil.
func (j *Job) Drive(id string) *Drive {
	for i := range j.Drives {
		if j.Drives[i].ID == id {
			return &j.Drives[i]
		}
	}
	return nil
}

// drive is Drive with an error naming the job and drive.
func (j *Job) drive(id string) (*Drive, error) {
	if d := j.Drive(id); d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("job %s: drive %s: %w", j.Name, id, ErrDriveNotFound)
}

// requireJob refuses an operation on a drive unless the job is in one of
// the given states.
func (j *Job) requireJob(op string, states ...JobState) error {
	for _, s := range states {
		if j.State == s {
			return nil
		}
	}
	return &TransitionError{Subject: "job " + j.Name, From: string(j.State), To: op, Allowed: strs(states),
		Reason: "not possible in job state " + string(j.State)}
}

// Cancel cancels a job that has not been shipped yet.
func (j *Job) Cancel(now time.Time, note string) error {
	return j.move(now, JobCancelled, note)
}

// ReportShipping records the inbound shipment (normalised, Reported = now)
// and moves the job from Creating to Shipping. The job needs at least one
// drive. The caller checks the tracking number's uniqueness in its database.
func (j *Job) ReportShipping(now time.Time, s Shipping) error {
	if !j.State.CanMove(JobShipping) {
		return jobTransitionError(j.Name, j.State, JobShipping)
	}
	if len(j.Drives) == 0 {
		return fmt.Errorf("job %s: %w: no drives to ship: prepare drives first", j.Name, ErrInvalid)
	}
	s, err := NormalizeShipping(s, true)
	if err != nil {
		return fmt.Errorf("job %s: %w", j.Name, err)
	}
	s.Reported = now
	if err := j.move(now, JobShipping, "tracking "+s.Tracking); err != nil {
		return err
	}
	j.Shipping = &s
	return nil
}

// ReceiveDrive records the arrival of a drive. The first drive moves the
// job from Shipping to Received.
func (j *Job) ReceiveDrive(now time.Time, id string) error {
	if err := j.requireJob("receive drive "+id, JobShipping, JobReceived, JobTransferring); err != nil {
		return err
	}
	d, err := j.drive(id)
	if err != nil {
		return err
	}
	if err := j.moveDrive(now, d, DriveReceived, ""); err != nil {
		return err
	}
	if j.State == JobShipping {
		return j.move(now, JobReceived, "first drive received")
	}
	return nil
}

// StartDrive records that station claimed a received drive and started its
// import. The first drive moves the job from Received to Transferring.
func (j *Job) StartDrive(now time.Time, id, station string) error {
	if err := j.requireJob("start drive "+id, JobReceived, JobTransferring); err != nil {
		return err
	}
	d, err := j.drive(id)
	if err != nil {
		return err
	}
	if station == "" {
		return fmt.Errorf("job %s: drive %s: %w: no station named", j.Name, id, ErrInvalid)
	}
	if err := j.moveDrive(now, d, DriveTransferring, "claimed by "+station); err != nil {
		return err
	}
	d.Claim = station
	if j.State == JobReceived {
		return j.move(now, JobTransferring, "first drive started")
	}
	return nil
}

// UpdateDriveProgress records the import progress of a transferring drive.
// It is not a transition and is not recorded in History.
func (j *Job) UpdateDriveProgress(id string, bytesCopied int64, filesFailed int) error {
	d, err := j.drive(id)
	if err != nil {
		return err
	}
	if d.State != DriveTransferring {
		return &TransitionError{Subject: "drive " + id, From: string(d.State), To: "update progress",
			Allowed: []string{string(DriveTransferring)}, Reason: "progress only while transferring"}
	}
	if bytesCopied < 0 || filesFailed < 0 {
		return fmt.Errorf("job %s: drive %s: %w: negative progress", j.Name, id, ErrInvalid)
	}
	d.BytesCopied, d.FilesFailed = bytesCopied, filesFailed
	return nil
}

// ReleaseDrive gives up a station's claim on a transferring drive (the
// station stopped); the drive goes back to Received for another attempt.
func (j *Job) ReleaseDrive(now time.Time, id, note string) error {
	d, err := j.drive(id)
	if err != nil {
		return err
	}
	if err := j.moveDrive(now, d, DriveReceived, note); err != nil {
		return err
	}
	d.Claim = ""
	return nil
}

// FinishDrive records the end of a drive's import: Completed, or
// CompletedMoreInfo when filesFailed > 0. The job moves to Packaging when
// that was the last drive.
func (j *Job) FinishDrive(now time.Time, id string, bytesCopied int64, filesFailed int) error {
	d, err := j.drive(id)
	if err != nil {
		return err
	}
	if bytesCopied < 0 || filesFailed < 0 {
		return fmt.Errorf("job %s: drive %s: %w: negative progress", j.Name, id, ErrInvalid)
	}
	to, note := DriveCompleted, ""
	if filesFailed > 0 {
		to, note = DriveCompletedMoreInfo, fmt.Sprintf("%d files failed", filesFailed)
	}
	if err := j.moveDrive(now, d, to, note); err != nil {
		return err
	}
	d.BytesCopied, d.FilesFailed, d.Claim = bytesCopied, filesFailed, ""
	return j.advance(now)
}

// FailDrive records that a drive could not be imported (unreadable drive or
// manifest, MAC or manifest hash mismatch). The job moves to Packaging when
// that was the last drive.
func (j *Job) FailDrive(now time.Time, id, reason string) error {
	d, err := j.drive(id)
	if err != nil {
		return err
	}
	if err := j.requireJob("fail drive "+id, JobReceived, JobTransferring); err != nil {
		return err
	}
	if err := j.moveDrive(now, d, DriveFailed, reason); err != nil {
		return err
	}
	d.Claim = ""
	return j.advance(now)
}

// MarkNeverReceived gives up waiting for a drive that has not arrived, once
// at least one drive of the job did. The job moves to Packaging when every
// other drive is done.
func (j *Job) MarkNeverReceived(now time.Time, id, note string) error {
	if err := j.requireJob("give up drive "+id, JobReceived, JobTransferring); err != nil {
		return err
	}
	d, err := j.drive(id)
	if err != nil {
		return err
	}
	if err := j.moveDrive(now, d, DriveNeverReceived, note); err != nil {
		return err
	}
	return j.advance(now)
}

// advance moves the job to Packaging once every drive is done or was never
// received.
func (j *Job) advance(now time.Time) error {
	if j.State != JobReceived && j.State != JobTransferring {
		return nil
	}
	for _, d := range j.Drives {
		if !d.State.Done() && d.State != DriveNeverReceived {
			return nil
		}
	}
	return j.move(now, JobPackaging, "every drive done")
}

// ShipBack records the return shipment of the drives: every drive that
// arrived moves to ShippedBack and the job completes, with errors when a
// file or drive failed or a drive never arrived.
func (j *Job) ShipBack(now time.Time, s Shipping) error {
	if !j.State.CanMove(JobCompleted) {
		return jobTransitionError(j.Name, j.State, JobCompleted)
	}
	s, err := NormalizeShipping(s, false)
	if err != nil {
		return fmt.Errorf("job %s: return %w", j.Name, err)
	}
	s.Reported = now
	final := JobCompleted
	if j.HasErrors() {
		final = JobCompletedWithErrors
	}
	for _, d := range j.Drives { // check all before changing any
		if d.State != DriveNeverReceived && !d.State.CanMove(DriveShippedBack) {
			return driveTransitionError(d.ID, d.State, DriveShippedBack)
		}
	}
	for i := range j.Drives {
		if d := &j.Drives[i]; d.State != DriveNeverReceived {
			if err := j.moveDrive(now, d, DriveShippedBack, "tracking "+s.Tracking); err != nil {
				return err
			}
		}
	}
	j.ReturnShipping = &s
	return j.move(now, final, "")
}

// HasErrors reports whether any drive failed, had failed files or never
// arrived.
func (j *Job) HasErrors() bool {
	for _, d := range j.Drives {
		if d.FilesFailed > 0 || d.State == DriveFailed || d.State == DriveCompletedMoreInfo || d.State == DriveNeverReceived {
			return true
		}
	}
	return false
}

// DrivesDone returns how many drives are done (imported, failed or never
// received) out of all drives, for "k/n drives done" messages.
func (j *Job) DrivesDone() (done, total int) {
	for _, d := range j.Drives {
		if d.State.Done() || d.State == DriveNeverReceived || d.State == DriveShippedBack {
			done++
		}
	}
	return done, len(j.Drives)
}

// SeedReady reports whether the drives' data is in the storage container
// (Packaging or later, but not cancelled or expired), so the vault may
// adopt the seed.
func (j *Job) SeedReady() bool {
	return j.State == JobPackaging || j.State == JobCompleted || j.State == JobCompletedWithErrors
}

// SeedFor reports whether machine of vault may adopt the job's seed: the
// job names that machine, or only that vault, or no target at all.
func (j *Job) SeedFor(vault, machine string) bool {
	return (j.Vault == "" || j.Vault == vault) && (j.Machine == "" || j.Machine == machine)
}

// BindSeed makes machine of vault the target of a ready seed that names no
// machine yet (a job created without a target is bound on first adoption),
// and records it in History. It reports whether the job changed: binding
// to the target it already has changes nothing; another target fails with
// ErrOtherTarget.
func (j *Job) BindSeed(now time.Time, vault, machine string) (bool, error) {
	switch {
	case vault == "" || machine == "":
		return false, fmt.Errorf("job %s: %w: seed target needs a vault and a machine", j.Name, ErrInvalid)
	case !j.SeedFor(vault, machine):
		return false, fmt.Errorf("job %s: %w", j.Name, ErrOtherTarget)
	case j.Vault == vault && j.Machine == machine:
		return false, nil
	}
	op := "bind seed to machine " + machine
	if err := j.requireJob(op, JobPackaging, JobCompleted, JobCompletedWithErrors); err != nil {
		return false, err
	}
	j.Vault, j.Machine = vault, machine
	j.History = append(j.History, Transition{Time: now, From: string(j.State), To: string(j.State), Subject: "job",
		Note: "seed bound to vault " + vault + ", machine " + machine})
	return true, nil
}
