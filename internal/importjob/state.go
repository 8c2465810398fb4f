package importjob

import (
	"errors"
	"fmt"
	"strings"
)

// JobState is the state of an import job.
type JobState string

// The job states. The normal path is Creating → Shipping → Received →
// Transferring → Packaging → Completed (or CompletedWithErrors).
const (
	// JobCreating: the customer is preparing drives; drives may be added.
	JobCreating JobState = "Creating"
	// JobShipping: shipping was reported; the drives are on their way.
	JobShipping JobState = "Shipping"
	// JobReceived: at least one drive arrived at the datacenter.
	JobReceived JobState = "Received"
	// JobTransferring: at least one drive is being (or was) imported.
	JobTransferring JobState = "Transferring"
	// JobPackaging: every drive is done or never arrived; the data is in
	// the storage container and the drives wait to be shipped back.
	JobPackaging JobState = "Packaging"
	// JobCompleted: drives shipped back, every file imported.
	JobCompleted JobState = "Completed"
	// JobCompletedWithErrors: drives shipped back; some file or drive failed
	// or a drive never arrived.
	JobCompletedWithErrors JobState = "CompletedWithErrors"
	// JobCancelled: cancelled by the customer before shipping.
	JobCancelled JobState = "Cancelled"
	// JobExpired: shipping was not reported, or no drive arrived, in time.
	JobExpired JobState = "Expired"
)

// DriveState is the state of one drive of a job.
type DriveState string

// The drive states. The normal path is Specified → Received → Transferring →
// Completed, then ShippedBack.
const (
	// DriveSpecified: the drive is part of the job but has not arrived.
	DriveSpecified DriveState = "Specified"
	// DriveReceived: the drive arrived at the datacenter.
	DriveReceived DriveState = "Received"
	// DriveTransferring: a station is importing the drive.
	DriveTransferring DriveState = "Transferring"
	// DriveCompleted: every file of the drive's manifest was imported.
	DriveCompleted DriveState = "Completed"
	// DriveCompletedMoreInfo: imported, but some files failed (see the logs).
	DriveCompletedMoreInfo DriveState = "CompletedMoreInfo"
	// DriveFailed: nothing imported: unreadable drive or manifest, or the
	// manifest's MAC or hash did not match.
	DriveFailed DriveState = "Failed"
	// DriveNeverReceived: the job moved on without this drive.
	DriveNeverReceived DriveState = "NeverReceived"
	// DriveShippedBack: the drive was returned to the customer.
	DriveShippedBack DriveState = "ShippedBack"
)

// ErrInvalidTransition is wrapped by every refused state change.
var ErrInvalidTransition = errors.New("invalid state transition")

// jobNext is the job transition table: the states a job in state s may
// move to, in the order they are listed in errors.
func jobNext(s JobState) []JobState {
	switch s {
	case JobCreating:
		return []JobState{JobShipping, JobCancelled, JobExpired}
	case JobShipping:
		return []JobState{JobReceived, JobExpired}
	case JobReceived:
		// Straight to Packaging when every received drive failed before
		// its import started and the others never arrived.
		return []JobState{JobTransferring, JobPackaging}
	case JobTransferring:
		return []JobState{JobPackaging}
	case JobPackaging:
		return []JobState{JobCompleted, JobCompletedWithErrors}
	}
	return nil
}

// driveNext is the drive transition table. Transferring → Received releases
// a station's claim (the station stopped; another may import the drive).
func driveNext(s DriveState) []DriveState {
	switch s {
	case DriveSpecified:
		return []DriveState{DriveReceived, DriveNeverReceived}
	case DriveReceived:
		return []DriveState{DriveTransferring, DriveFailed, DriveShippedBack}
	case DriveTransferring:
		return []DriveState{DriveCompleted, DriveCompletedMoreInfo, DriveFailed, DriveReceived}
	case DriveCompleted, DriveCompletedMoreInfo, DriveFailed:
		return []DriveState{DriveShippedBack}
	}
	return nil
}

// JobStates returns every job state, in workflow order.
func JobStates() []JobState {
	return []JobState{JobCreating, JobShipping, JobReceived, JobTransferring, JobPackaging,
		JobCompleted, JobCompletedWithErrors, JobCancelled, JobExpired}
}

// DriveStates returns every drive state, in workflow order.
func DriveStates() []DriveState {
	return []DriveState{DriveSpecified, DriveReceived, DriveTransferring, DriveCompleted,
		DriveCompletedMoreInfo, DriveFailed, DriveNeverReceived, DriveShippedBack}
}

// Valid reports whether s is one of the job states.
func (s JobState) Valid() bool {
	return len(jobNext(s)) > 0 || s.Terminal()
}

// Terminal reports whether s is a final state.
func (s JobState) Terminal() bool {
	switch s {
	case JobCompleted, JobCompletedWithErrors, JobCancelled, JobExpired:
		return true
	}
	return false
}

// Next returns the states a job in state s may move to.
func (s JobState) Next() []JobState { return jobNext(s) }

// CanMove reports whether a job may move from s to to.
func (s JobState) CanMove(to JobState) bool {
	for _, n := range jobNext(s) {
		if n == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is one of the drive states.
func (s DriveState) Valid() bool {
	return len(driveNext(s)) > 0 || s == DriveNeverReceived || s == DriveShippedBack
}

// Done reports whether the drive's import is over (successfully or not).
func (s DriveState) Done() bool {
	return s == DriveCompleted || s == DriveCompletedMoreInfo || s == DriveFailed
}

// Next returns the states a drive in state s may move to.
func (s DriveState) Next() []DriveState { return driveNext(s) }

// CanMove reports whether a drive may move from s to to.
func (s DriveState) CanMove(to DriveState) bool {
	for _, n := range driveNext(s) {
		if n == to {
			return true
		}
	}
	return false
}

// TransitionError describes a refused state change. It matches
// ErrInvalidTransition with errors.Is.
type TransitionError struct {
	Subject string   // "job <name>" or "drive <id>", or an operation
	From    string   // the current state
	To      string   // the refused target state, or the operation
	Allowed []string // the states (or job states) that would have been allowed
	Reason  string   // optional detail
}

// Error names the subject, the refused change and what is allowed.
func (e *TransitionError) Error() string {
	allowed := "none: " + e.From + " is final"
	if len(e.Allowed) > 0 {
		allowed = strings.Join(e.Allowed, ", ")
	}
	msg := fmt.Sprintf("%s: %s → %s: %v (allowed: %s)", e.Subject, e.From, e.To, ErrInvalidTransition, allowed)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns ErrInvalidTransition.
func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

func jobTransitionError(name string, from, to JobState) error {
	return &TransitionError{Subject: "job " + name, From: string(from), To: string(to), Allowed: strs(jobNext(from))}
}

func driveTransitionError(id string, from, to DriveState) error {
	return &TransitionError{Subject: "drive " + id, From: string(from), To: string(to), Allowed: strs(driveNext(from))}
}

func strs[S ~string](in []S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
