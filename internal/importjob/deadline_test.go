package importjob

import (
	"testing"
	"time"
)

func TestDeadlineAndExpire(t *testing.T) {
	day := 24 * time.Hour
	shippedAt := t0.Add(3 * day)
	tests := []struct {
		name     string
		setup    func(t *testing.T) *Job
		wantWhat string
		wantAt   time.Time
		clock    []time.Duration // offsets from t0, in order; the last ones expire
		expireAt int             // index into clock of the first expiring call; -1 never
	}{
		{"creating", func(t *testing.T) *Job {
			j, err := New(testSpec(1), t0)
			step(t, "new", err)
			return j
		}, "report shipping", t0.Add(14 * day), []time.Duration{0, 13 * day, 14 * day, 14*day + time.Nanosecond}, 3},
		{"shipping", func(t *testing.T) *Job {
			j, err := New(testSpec(2), t0)
			step(t, "new", err)
			step(t, "ship", j.ReportShipping(shippedAt, testShipping()))
			return j
		}, "receive drives", shippedAt.Add(14 * day), []time.Duration{14 * day, 17 * day, 17*day + time.Second, 40 * day}, 2},
		{"received", func(t *testing.T) *Job {
			j := newShipped(t, 2)
			step(t, "receive", j.ReceiveDrive(at(2), j.Drives[0].ID))
			return j
		}, "", time.Time{}, []time.Duration{0, 15 * day, 400 * day}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := tc.setup(t)
			what, when := j.Deadline()
			if what != tc.wantWhat || !when.Equal(tc.wantAt) {
				t.Fatalf("Deadline() = %q, %v; want %q, %v", what, when, tc.wantWhat, tc.wantAt)
			}
			for i, off := range tc.clock {
				wantExpired := tc.expireAt >= 0 && i == tc.expireAt
				if got := j.Expire(t0.Add(off)); got != wantExpired {
					t.Errorf("Expire(t0+%v) = %v, want %v (state %s)", off, got, wantExpired, j.State)
				}
			}
			if tc.expireAt < 0 {
				return
			}
			if j.State != JobExpired {
				t.Fatalf("state %s, want Expired", j.State)
			}
			if what, _ := j.Deadline(); what != "" {
				t.Errorf("expired job still has deadline %q", what)
			}
			last := j.History[len(j.History)-1]
			if last.To != string(JobExpired) || !last.Time.Equal(t0.Add(tc.clock[tc.expireAt])) || last.Note == "" {
				t.Errorf("last transition %+v", last)
			}
			for _, d := range j.Drives {
				want := DriveSpecified
				if tc.name == "shipping" {
					want = DriveNeverReceived
				}
				if d.State != want {
					t.Errorf("drive %s is %s after expiry, want %s", d.ID, d.State, want)
				}
			}
		})
	}
}
