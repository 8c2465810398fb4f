package importjob

import (
	"errors"
	"testing"
)

// readySeed is a one-drive job in state Packaging with the given target.
func readySeed(t *testing.T, vault, machine string) *Job {
	t.Helper()
	s := testSpec(1)
	s.Vault, s.Machine = vault, machine
	j, err := New(s, t0)
	step(t, "new", err)
	step(t, "ship", j.ReportShipping(at(1), testShipping()))
	d := j.Drives[0].ID
	step(t, "receive", j.ReceiveDrive(at(2), d))
	step(t, "start", j.StartDrive(at(3), d, "st"))
	step(t, "finish", j.FinishDrive(at(4), d, 100, 0))
	return j
}

func TestBindSeed(t *testing.T) {
	tests := []struct {
		name           string
		vault, machine string // the job's target
		wantChanged    bool
		wantErr        error
	}{
		{"untargeted", "", "", true, nil},
		{"vault only", "v1", "", true, nil},
		{"same target", "v1", "m1", false, nil},
		{"other machine", "v1", "m2", false, ErrOtherTarget},
		{"other vault", "v2", "", false, ErrOtherTarget},
	}
	for _, tc := range tests {
		j := readySeed(t, tc.vault, tc.machine)
		n := len(j.History)
		changed, err := j.BindSeed(at(5), "v1", "m1")
		if changed != tc.wantChanged || !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("%s: BindSeed = %v, %v; want %v, %v", tc.name, changed, err, tc.wantChanged, tc.wantErr)
		}
		if tc.wantChanged && (j.Vault != "v1" || j.Machine != "m1" || len(j.History) != n+1 || j.History[n].Note == "") {
			t.Errorf("%s: after binding: target %s/%s, history %+v", tc.name, j.Vault, j.Machine, j.History[n:])
		}
		if !tc.wantChanged && len(j.History) != n {
			t.Errorf("%s: unchanged job gained history %+v", tc.name, j.History[n:])
		}
	}
	j, err := New(testSpec(1), t0)
	step(t, "new", err)
	j.Vault, j.Machine = "", ""
	if _, err := j.BindSeed(at(1), "v1", "m1"); !errors.Is(err, ErrInvalidTransition) || j.Machine != "" {
		t.Errorf("BindSeed of a Creating job = %v (machine %q), want ErrInvalidTransition and no change", err, j.Machine)
	}
	if _, err := j.BindSeed(at(1), "v1", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("BindSeed without a machine = %v, want ErrInvalid", err)
	}
}
