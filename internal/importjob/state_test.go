package importjob

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The transition tables, written out independently of the implementation.
var (
	wantJob = map[[2]JobState]bool{
		{JobCreating, JobShipping}:             true,
		{JobCreating, JobCancelled}:            true,
		{JobCreating, JobExpired}:              true,
		{JobShipping, JobReceived}:             true,
		{JobShipping, JobExpired}:              true,
		{JobReceived, JobTransferring}:         true,
		{JobReceived, JobPackaging}:            true,
		{JobTransferring, JobPackaging}:        true,
		{JobPackaging, JobCompleted}:           true,
		{JobPackaging, JobCompletedWithErrors}: true,
	}
	wantDrive = map[[2]DriveState]bool{
		{DriveSpecified, DriveReceived}:             true,
		{DriveSpecified, DriveNeverReceived}:        true,
		{DriveReceived, DriveTransferring}:          true,
		{DriveReceived, DriveFailed}:                true,
		{DriveReceived, DriveShippedBack}:           true,
		{DriveTransferring, DriveCompleted}:         true,
		{DriveTransferring, DriveCompletedMoreInfo}: true,
		{DriveTransferring, DriveFailed}:            true,
		{DriveTransferring, DriveReceived}:          true,
		{DriveCompleted, DriveShippedBack}:          true,
		{DriveCompletedMoreInfo, DriveShippedBack}:  true,
		{DriveFailed, DriveShippedBack}:             true,
	}
)

func TestJobTransitionTable(t *testing.T) {
	states := JobStates()
	if len(states) != 9 {
		t.Fatalf("JobStates() has %d states, want 9", len(states))
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, from := range states {
		if !from.Valid() {
			t.Errorf("%s.Valid() = false", from)
		}
		for _, to := range states {
			want := wantJob[[2]JobState{from, to}]
			if got := from.CanMove(to); got != want {
				t.Errorf("%s.CanMove(%s) = %v, want %v", from, to, got, want)
			}
			j := &Job{Name: "j1", State: from}
			err := j.move(now, to, "")
			checkMove(t, string(from), string(to), want, err, strs(from.Next()))
			if want && (j.State != to || len(j.History) != 1 || j.History[0] != (Transition{Time: now, From: string(from), To: string(to), Subject: "job"})) {
				t.Errorf("move %s → %s: state %s, history %+v", from, to, j.State, j.History)
			}
			if !want && (j.State != from || len(j.History) != 0) {
				t.Errorf("refused move %s → %s changed the job: %s, %+v", from, to, j.State, j.History)
			}
		}
		if got, want := from.Terminal(), len(from.Next()) == 0; got != want {
			t.Errorf("%s.Terminal() = %v, want %v", from, got, want)
		}
	}
	if JobState("Bogus").Valid() {
		t.Error(`JobState("Bogus").Valid() = true`)
	}
}

func TestDriveTransitionTable(t *testing.T) {
	states := DriveStates()
	if len(states) != 8 {
		t.Fatalf("DriveStates() has %d states, want 8", len(states))
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, from := range states {
		if !from.Valid() {
			t.Errorf("%s.Valid() = false", from)
		}
		for _, to := range states {
			want := wantDrive[[2]DriveState{from, to}]
			if got := from.CanMove(to); got != want {
				t.Errorf("%s.CanMove(%s) = %v, want %v", from, to, got, want)
			}
			j := &Job{Name: "j1", Drives: []Drive{{ID: "d1", State: from}}}
			err := j.moveDrive(now, &j.Drives[0], to, "n")
			checkMove(t, string(from), string(to), want, err, strs(from.Next()))
			if want && (j.Drives[0].State != to || len(j.History) != 1 || j.History[0].Subject != "d1") {
				t.Errorf("move drive %s → %s: state %s, history %+v", from, to, j.Drives[0].State, j.History)
			}
			if !want && (j.Drives[0].State != from || len(j.History) != 0) {
				t.Errorf("refused drive move %s → %s changed the job", from, to)
			}
		}
	}
	if DriveState("").Valid() {
		t.Error(`DriveState("").Valid() = true`)
	}
}

// checkMove checks the outcome of one attempted transition.
func checkMove(t *testing.T, from, to string, allowed bool, err error, next []string) {
	t.Helper()
	if allowed {
		if err != nil {
			t.Errorf("%s → %s: %v, want allowed", from, to, err)
		}
		return
	}
	if !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("%s → %s: err = %v, want ErrInvalidTransition", from, to, err)
		return
	}
	var te *TransitionError
	if !errors.As(err, &te) || te.From != from || te.To != to {
		t.Errorf("%s → %s: error %#v does not name the states", from, to, err)
		return
	}
	if got, want := strings.Join(te.Allowed, ","), strings.Join(next, ","); got != want {
		t.Errorf("%s → %s: allowed = %q, want %q", from, to, got, want)
	}
	msg := err.Error()
	if !strings.Contains(msg, from+" → "+to) || (len(next) > 0 && !strings.Contains(msg, strings.Join(next, ", "))) {
		t.Errorf("%s → %s: message %q does not say what is allowed", from, to, msg)
	}
}
