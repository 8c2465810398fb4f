package importjob

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func hexID(n int, c byte) string { return strings.Repeat(string(c), n) }

func testSpec(drives int) Spec {
	s := Spec{ID: "job-1", Account: "acct", Name: "seed-2025", StorageAccount: "sa", Container: "c1",
		Vault: "v1", Machine: "m1", KeyHash: KeyHash([]byte("k"))}
	for i := 1; i <= drives; i++ {
		s.Drives = append(s.Drives, Drive{ID: hexID(32, byte('0'+i)), Seq: i, ManifestHash: hexID(64, 'a'), Bytes: 100, Files: 3})
	}
	return s
}

func testShipping() Shipping {
	return Shipping{Carrier: "DHL", Tracking: " 1z 999 aa1 ", ShipDate: t0, ReturnAddress: "1 Main St", Contact: "ops@example.com"}
}

func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

func newShipped(t *testing.T, drives int) *Job {
	t.Helper()
	j, err := New(testSpec(drives), t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.ReportShipping(at(1), testShipping()); err != nil {
		t.Fatal(err)
	}
	return j
}

// step applies an operation and fails the test on error.
func step(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestHappyPath(t *testing.T) {
	j := newShipped(t, 2)
	d1, d2 := j.Drives[0].ID, j.Drives[1].ID
	if j.Shipping.Tracking != "1Z999AA1" || j.Shipping.Packages != 1 || !j.Shipping.Reported.Equal(at(1)) {
		t.Errorf("shipping = %+v", j.Shipping)
	}
	step(t, "receive d1", j.ReceiveDrive(at(2), d1))
	step(t, "receive d2", j.ReceiveDrive(at(3), d2))
	step(t, "start d1", j.StartDrive(at(4), d1, "station-a"))
	if j.State != JobTransferring || j.Drive(d1).Claim != "station-a" {
		t.Fatalf("after start: job %s, claim %q", j.State, j.Drive(d1).Claim)
	}
	step(t, "progress", j.UpdateDriveProgress(d1, 50, 0))
	step(t, "finish d1", j.FinishDrive(at(5), d1, 100, 0))
	if done, total := j.DrivesDone(); done != 1 || total != 2 || j.SeedReady() {
		t.Errorf("DrivesDone = %d/%d, SeedReady = %v", done, total, j.SeedReady())
	}
	step(t, "start d2", j.StartDrive(at(6), d2, "station-b"))
	step(t, "finish d2", j.FinishDrive(at(7), d2, 100, 0))
	if j.State != JobPackaging || !j.SeedReady() {
		t.Fatalf("after last drive: job %s", j.State)
	}
	step(t, "ship back", j.ShipBack(at(8), Shipping{Carrier: "UPS", Tracking: "r-1"}))
	if j.State != JobCompleted || j.ReturnShipping.Tracking != "R-1" {
		t.Errorf("after ship back: %s %+v", j.State, j.ReturnShipping)
	}
	var got []string
	for _, h := range j.History {
		got = append(got, fmt.Sprintf("%s %s:%s>%s", h.Time.Sub(t0), short(h.Subject), h.From, h.To))
	}
	want := []string{
		"0s job:>Creating", "0s 1111:>Specified", "0s 2222:>Specified",
		"1h0m0s job:Creating>Shipping",
		"2h0m0s 1111:Specified>Received", "2h0m0s job:Shipping>Received",
		"3h0m0s 2222:Specified>Received",
		"4h0m0s 1111:Received>Transferring", "4h0m0s job:Received>Transferring",
		"5h0m0s 1111:Transferring>Completed",
		"6h0m0s 2222:Received>Transferring", "7h0m0s 2222:Transferring>Completed",
		"7h0m0s job:Transferring>Packaging",
		"8h0m0s 1111:Completed>ShippedBack", "8h0m0s 2222:Completed>ShippedBack",
		"8h0m0s job:Packaging>Completed",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func short(s string) string { return s[:min(4, len(s))] }

func TestCompletedWithErrors(t *testing.T) {
	tests := []struct {
		name  string
		drive func(j *Job, id string) error // takes the second drive to its end
	}{
		{"files failed", func(j *Job, id string) error {
			return errors.Join(j.ReceiveDrive(at(2), id), j.StartDrive(at(3), id, "s"), j.FinishDrive(at(4), id, 90, 2))
		}},
		{"drive failed", func(j *Job, id string) error {
			return errors.Join(j.ReceiveDrive(at(2), id), j.StartDrive(at(3), id, "s"), j.FailDrive(at(4), id, "MAC mismatch"))
		}},
		{"unreadable before start", func(j *Job, id string) error {
			return errors.Join(j.ReceiveDrive(at(2), id), j.FailDrive(at(4), id, "no manifest"))
		}},
		{"never received", func(j *Job, id string) error { return j.MarkNeverReceived(at(4), id, "lost") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newShipped(t, 2)
			d1, d2 := j.Drives[0].ID, j.Drives[1].ID
			step(t, "d1", errors.Join(j.ReceiveDrive(at(2), d1), j.StartDrive(at(2), d1, "s"), j.FinishDrive(at(3), d1, 100, 0)))
			if j.State != JobTransferring {
				t.Fatalf("job %s after first drive", j.State)
			}
			step(t, "d2", tc.drive(j, d2))
			if j.State != JobPackaging || !j.HasErrors() {
				t.Fatalf("job %s, HasErrors %v", j.State, j.HasErrors())
			}
			step(t, "ship back", j.ShipBack(at(9), Shipping{Carrier: "UPS", Tracking: "R1"}))
			if j.State != JobCompletedWithErrors {
				t.Errorf("job %s, want CompletedWithErrors", j.State)
			}
			if tc.name == "never received" && j.Drive(d2).State != DriveNeverReceived {
				t.Errorf("never-received drive is %s after ship back", j.Drive(d2).State)
			}
		})
	}
}

func TestSingleUnreadableDrive(t *testing.T) {
	j := newShipped(t, 1)
	id := j.Drives[0].ID
	step(t, "receive", j.ReceiveDrive(at(2), id))
	step(t, "fail", j.FailDrive(at(3), id, "unreadable"))
	if j.State != JobPackaging {
		t.Errorf("job %s, want Packaging (Received → Packaging)", j.State)
	}
}

func TestReleaseDrive(t *testing.T) {
	j := newShipped(t, 1)
	id := j.Drives[0].ID
	step(t, "receive+start", errors.Join(j.ReceiveDrive(at(2), id), j.StartDrive(at(3), id, "a")))
	if err := j.StartDrive(at(3), id, "b"); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("second claim: %v, want ErrInvalidTransition", err)
	}
	step(t, "release", j.ReleaseDrive(at(4), id, "station a stopped"))
	if d := j.Drive(id); d.State != DriveReceived || d.Claim != "" || j.State != JobTransferring {
		t.Errorf("after release: drive %s claim %q job %s", d.State, d.Claim, j.State)
	}
	step(t, "restart", j.StartDrive(at(5), id, "b"))
	if j.Drive(id).Claim != "b" {
		t.Errorf("claim %q, want b", j.Drive(id).Claim)
	}
}

func TestRefusedOperations(t *testing.T) {
	creating := func(t *testing.T) *Job {
		j, err := New(testSpec(1), t0)
		step(t, "new", err)
		return j
	}
	id := testSpec(1).Drives[0].ID
	tests := []struct {
		name string
		op   func(t *testing.T) error
		want error
	}{
		{"receive before shipping", func(t *testing.T) error { return creating(t).ReceiveDrive(at(1), id) }, ErrInvalidTransition},
		{"cancel after shipping", func(t *testing.T) error { return newShipped(t, 1).Cancel(at(2), "") }, ErrInvalidTransition},
		{"add drive after shipping", func(t *testing.T) error {
			return newShipped(t, 1).AddDrive(at(2), Drive{ID: hexID(32, 'f'), Seq: 2, ManifestHash: hexID(64, 'b')})
		}, ErrInvalidTransition},
		{"ship twice", func(t *testing.T) error { return newShipped(t, 1).ReportShipping(at(2), testShipping()) }, ErrInvalidTransition},
		{"start before receive", func(t *testing.T) error { return newShipped(t, 1).StartDrive(at(2), id, "s") }, ErrInvalidTransition},
		{"finish before start", func(t *testing.T) error {
			j := newShipped(t, 1)
			step(t, "receive", j.ReceiveDrive(at(2), id))
			return j.FinishDrive(at(3), id, 1, 0)
		}, ErrInvalidTransition},
		{"never received while shipping", func(t *testing.T) error { return newShipped(t, 1).MarkNeverReceived(at(2), id, "") }, ErrInvalidTransition},
		{"ship back before packaging", func(t *testing.T) error {
			return newShipped(t, 1).ShipBack(at(2), Shipping{Carrier: "x", Tracking: "1"})
		}, ErrInvalidTransition},
		{"progress when not transferring", func(t *testing.T) error { return newShipped(t, 1).UpdateDriveProgress(id, 1, 0) }, ErrInvalidTransition},
		{"unknown drive", func(t *testing.T) error { return newShipped(t, 1).ReceiveDrive(at(2), hexID(32, 'e')) }, ErrDriveNotFound},
		{"ship without drives", func(t *testing.T) error {
			j, err := New(testSpec(0), t0)
			step(t, "new", err)
			return j.ReportShipping(at(1), testShipping())
		}, ErrInvalid},
		{"ship without return address", func(t *testing.T) error {
			s := testShipping()
			s.ReturnAddress = " "
			return creating(t).ReportShipping(at(1), s)
		}, ErrInvalid},
		{"ship in two packages", func(t *testing.T) error {
			s := testShipping()
			s.Packages = 2
			return creating(t).ReportShipping(at(1), s)
		}, ErrInvalid},
		{"bad tracking", func(t *testing.T) error {
			s := testShipping()
			s.Tracking = "12/34"
			return creating(t).ReportShipping(at(1), s)
		}, ErrInvalid},
		{"duplicate drive", func(t *testing.T) error {
			return creating(t).AddDrive(at(1), Drive{ID: id, Seq: 2, ManifestHash: hexID(64, 'b')})
		}, ErrInvalid},
		{"duplicate seq", func(t *testing.T) error {
			return creating(t).AddDrive(at(1), Drive{ID: hexID(32, 'e'), Seq: 1, ManifestHash: hexID(64, 'b')})
		}, ErrInvalid},
		{"bad drive id", func(t *testing.T) error {
			return creating(t).AddDrive(at(1), Drive{ID: "XYZ", Seq: 2, ManifestHash: hexID(64, 'b')})
		}, ErrInvalid},
		{"no station", func(t *testing.T) error {
			j := newShipped(t, 1)
			step(t, "receive", j.ReceiveDrive(at(2), id))
			return j.StartDrive(at(3), id, "")
		}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(t); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	j, err := New(testSpec(1), t0)
	step(t, "new", err)
	step(t, "cancel", j.Cancel(at(1), "changed my mind"))
	if j.State != JobCancelled || j.History[len(j.History)-1].Note != "changed my mind" {
		t.Errorf("job %s, history %+v", j.State, j.History)
	}
	if what, _ := j.Deadline(); what != "" || j.Expire(at(1000)) {
		t.Errorf("cancelled job has deadline %q or expired", what)
	}
}

func TestNewValidates(t *testing.T) {
	for _, mod := range []func(*Spec){
		func(s *Spec) { s.Name = "-bad" },
		func(s *Spec) { s.ID = "" },
		func(s *Spec) { s.Container = "" },
		func(s *Spec) { s.KeyHash = "ABC" },
		func(s *Spec) { s.Drives[0].Seq = 0 },
		func(s *Spec) { s.Drives[0].ManifestHash = hexID(63, 'a') },
		func(s *Spec) { s.Drives[0].Bytes = -1 },
	} {
		s := testSpec(1)
		mod(&s)
		if _, err := New(s, t0); err == nil {
			t.Errorf("New(%+v) succeeded", s)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	j := newShipped(t, 2)
	step(t, "receive", j.ReceiveDrive(at(2), j.Drives[0].ID))
	b, err := json.Marshal(j)
	step(t, "marshal", err)
	for _, key := range []string{`"storage_account":"sa"`, `"state":"Received"`, `"manifest_hash":"`, `"tracking":"1Z999AA1"`, `"subject":"job"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	var got Job
	step(t, "unmarshal", json.Unmarshal(b, &got))
	step(t, "validate", got.Validate())
	if diff := cmp.Diff(j, &got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
