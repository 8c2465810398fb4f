package metatest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
)

// jobTests are the conformance tests of storage accounts, settings and jobs.
var jobTests = []struct {
	name string
	fn   func(*testing.T, meta.DB)
}{
	{"StorageAccounts", testStorageAccounts},
	{"Settings", testSettings},
	{"Jobs", testJobs},
	{"JobErrors", testJobErrors},
	{"JobTrackingUnique", testJobTrackingUnique},
	{"JobConcurrentUpdate", testJobConcurrentUpdate},
	{"JobModifyConcurrent", testJobModifyConcurrent},
	{"JobTrackingConcurrent", testJobTrackingConcurrent},
}

func testStorageAccounts(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	account(t, db, "a2", "bravo")
	sb := meta.StorageAccount{AccountID: "a1", Name: "sb", Store: "s3:bucket/x", Created: t0}
	sa := meta.StorageAccount{AccountID: "a1", Name: "sa", Store: "/srv/sa", Created: t0.Add(time.Second)}
	other := meta.StorageAccount{AccountID: "a2", Name: "sa", Store: "azure:c", Created: t0}
	for _, s := range []meta.StorageAccount{sb, sa, other} {
		must(t, "CreateStorageAccount "+s.Name, db.CreateStorageAccount(ctx, s))
	}
	wantErr(t, "CreateStorageAccount same name", db.CreateStorageAccount(ctx, sa), meta.ErrExists)
	wantErr(t, "CreateStorageAccount no account", db.CreateStorageAccount(ctx,
		meta.StorageAccount{AccountID: "nope", Name: "x", Store: "/x", Created: t0}), meta.ErrNotFound)
	got, err := db.GetStorageAccount(ctx, "a2", "sa")
	must(t, "GetStorageAccount", err)
	if diff := cmp.Diff(other, got); diff != "" {
		t.Errorf("GetStorageAccount mismatch (-want +got):\n%s", diff)
	}
	_, err = db.GetStorageAccount(ctx, "a2", "sb")
	wantErr(t, "GetStorageAccount of another account", err, meta.ErrNotFound)
	all, err := db.ListStorageAccounts(ctx, "a1")
	must(t, "ListStorageAccounts", err)
	if diff := cmp.Diff([]meta.StorageAccount{sa, sb}, all); diff != "" {
		t.Errorf("ListStorageAccounts mismatch (-want +got):\n%s", diff)
	}
}

func testSettings(t *testing.T, db meta.DB) {
	ctx := context.Background()
	_, err := db.GetSetting(ctx, meta.SettingDatacenterAddress)
	wantErr(t, "GetSetting unset", err, meta.ErrNotFound)
	for _, v := range []string{"Dock 4, 1 Main St", "Dock 5\nSomewhere"} {
		must(t, "SetSetting", db.SetSetting(ctx, meta.SettingDatacenterAddress, v))
		got, err := db.GetSetting(ctx, meta.SettingDatacenterAddress)
		if err != nil || got != v {
			t.Errorf("GetSetting = %q, %v; want %q", got, err, v)
		}
	}
}

// hexID returns a distinct lower-case hex string of n digits.
func hexID(n, i int) string { return fmt.Sprintf("%0*x", n, i+1) }

// newJob returns a job record in state Creating with one drive.
func newJob(t *testing.T, id, accountID, name string) meta.JobRecord {
	t.Helper()
	j, err := importjob.New(importjob.Spec{ID: id, Account: accountID, Name: name, StorageAccount: "sa",
		Container: "seed", Vault: "v1", Machine: "m1", KeyHash: hexID(64, 0),
		Drives: []importjob.Drive{{ID: hexID(32, 1), Seq: 1, ManifestHash: hexID(64, 2), Bytes: 10, Files: 2}}}, t0)
	must(t, "importjob.New "+name, err)
	return meta.JobRecord{Job: *j, JobKey: "a2V5", Version: 1, Updated: t0}
}

func createJob(t *testing.T, db meta.DB, id, accountID, name string) meta.JobRecord {
	t.Helper()
	r := newJob(t, id, accountID, name)
	must(t, "CreateJob "+name, db.CreateJob(context.Background(), r))
	return r
}

func diffJob(t *testing.T, what string, want, got meta.JobRecord) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

func shipping(tracking string) importjob.Shipping {
	return importjob.Shipping{Carrier: "DHL", Tracking: tracking, ShipDate: t0, ReturnAddress: "1 Main St", Contact: "ops@example.com"}
}

func testJobs(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	account(t, db, "a2", "bravo")
	b := createJob(t, db, "j2", "a1", "beta")
	a := createJob(t, db, "j1", "a1", "alpha")
	o := createJob(t, db, "j3", "a2", "alpha") // same name, other account
	got, err := db.GetJob(ctx, "a2", "alpha")
	must(t, "GetJob", err)
	diffJob(t, "GetJob", o, got)
	now := t0.Add(time.Hour)
	must(t, "ReportShipping", a.Job.ReportShipping(now, shipping("1z 999")))
	upd, err := db.UpdateJob(ctx, a, now)
	must(t, "UpdateJob", err)
	a.Version, a.Updated = 2, now
	diffJob(t, "UpdateJob result", a, upd)
	got, err = db.GetJob(ctx, "a1", "alpha")
	must(t, "GetJob after update", err)
	diffJob(t, "GetJob after update", a, got)
	for _, tc := range []struct {
		f    meta.JobFilter
		want []meta.JobRecord
	}{
		{meta.JobFilter{}, []meta.JobRecord{a, b, o}},
		{meta.JobFilter{AccountID: "a1"}, []meta.JobRecord{a, b}},
		{meta.JobFilter{State: importjob.JobCreating}, []meta.JobRecord{b, o}},
		{meta.JobFilter{AccountID: "a1", State: importjob.JobShipping}, []meta.JobRecord{a}},
		{meta.JobFilter{Name: "alpha"}, []meta.JobRecord{a, o}},
		{meta.JobFilter{AccountID: "nope"}, nil},
	} {
		all, err := db.ListJobs(ctx, tc.f)
		must(t, "ListJobs", err)
		if diff := cmp.Diff(tc.want, all); diff != "" {
			t.Errorf("ListJobs(%+v) mismatch (-want +got):\n%s", tc.f, diff)
		}
	}
}

func testJobErrors(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	a := createJob(t, db, "j1", "a1", "alpha")
	wantErr(t, "CreateJob same name", db.CreateJob(ctx, newJob(t, "j2", "a1", "alpha")), meta.ErrExists)
	wantErr(t, "CreateJob same id", db.CreateJob(ctx, newJob(t, "j1", "a1", "other")), meta.ErrExists)
	wantErr(t, "CreateJob no account", db.CreateJob(ctx, newJob(t, "j9", "nope", "x")), meta.ErrNotFound)
	_, err := db.GetJob(ctx, "a1", "nope")
	wantErr(t, "GetJob missing", err, meta.ErrNotFound)
	_, err = db.GetJob(ctx, "a2", "alpha")
	wantErr(t, "GetJob of another account", err, meta.ErrNotFound)
	gone := newJob(t, "j9", "a1", "gone")
	_, err = db.UpdateJob(ctx, gone, t0)
	wantErr(t, "UpdateJob missing", err, meta.ErrNotFound)
	stale := a
	stale.Version = 7
	_, err = db.UpdateJob(ctx, stale, t0)
	wantErr(t, "UpdateJob wrong version", err, meta.ErrConflict)
	renamed := a
	renamed.Job.Name = "renamed"
	if _, err := db.UpdateJob(ctx, renamed, t0); err == nil {
		t.Errorf("UpdateJob that renames the job succeeded")
	}
}

func testJobTrackingUnique(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	account(t, db, "a2", "bravo")
	a := createJob(t, db, "j1", "a1", "one")
	b := createJob(t, db, "j2", "a2", "two")
	must(t, "ReportShipping one", a.Job.ReportShipping(t0, shipping("TRACK-1")))
	a, err := db.UpdateJob(ctx, a, t0)
	must(t, "UpdateJob one", err)
	_, err = db.UpdateJob(ctx, a, t0) // same job, same number again
	must(t, "UpdateJob one again", err)
	must(t, "ReportShipping two", b.Job.ReportShipping(t0, shipping("track-1")))
	_, err = db.UpdateJob(ctx, b, t0)
	wantErr(t, "UpdateJob with another job's tracking number", err, meta.ErrTrackingInUse)
	got, err := db.GetJob(ctx, "a2", "two")
	must(t, "GetJob two", err)
	if got.Job.State != importjob.JobCreating || got.Version != 1 {
		t.Errorf("job after refused update: state %s version %d, want Creating 1", got.Job.State, got.Version)
	}
	c := newJob(t, "j3", "a2", "three")
	must(t, "ReportShipping three", c.Job.ReportShipping(t0, shipping("TRACK-1")))
	wantErr(t, "CreateJob with another job's tracking number", db.CreateJob(ctx, c), meta.ErrTrackingInUse)
}

// testJobConcurrentUpdate: two writers that read the same version; exactly
// one update lands, the other gets ErrConflict.
func testJobConcurrentUpdate(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	r := createJob(t, db, "j1", "a1", "one")
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := r
			mine.Job.History = append(append([]importjob.Transition(nil), r.Job.History...),
				importjob.Transition{Time: t0, Subject: "job", Note: fmt.Sprintf("writer %d", i)})
			_, errs[i] = db.UpdateJob(ctx, mine, t0)
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, meta.ErrConflict):
			t.Errorf("UpdateJob #%d: %v, want nil or ErrConflict", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of 2 concurrent updates of one version succeeded, want exactly 1", ok)
	}
	got, err := db.GetJob(ctx, "a1", "one")
	must(t, "GetJob", err)
	if got.Version != 2 || len(got.Job.History) != len(r.Job.History)+1 {
		t.Errorf("after concurrent updates: version %d, %d history entries; want 2 and %d", got.Version, len(got.Job.History), len(r.Job.History)+1)
	}
}

// testJobModifyConcurrent: w goroutines each apply n changes through
// meta.ModifyJob; all w×n survive.
func testJobModifyConcurrent(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	r := createJob(t, db, "j1", "a1", "one")
	const writers, n = 4, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				_, err := meta.ModifyJob(ctx, db, "a1", "one", t0, func(j *importjob.Job) (bool, error) {
					j.History = append(j.History, importjob.Transition{Time: t0, Subject: "job", Note: fmt.Sprintf("w%d-%d", w, i)})
					return true, nil
				})
				if err != nil {
					t.Errorf("ModifyJob w%d-%d: %v", w, i, err)
				}
			}
		}()
	}
	wg.Wait()
	got, err := db.GetJob(ctx, "a1", "one")
	must(t, "GetJob", err)
	if want := len(r.Job.History) + writers*n; len(got.Job.History) != want || got.Version != 1+writers*n {
		t.Errorf("after %d×%d concurrent ModifyJob: %d history entries, version %d; want %d and %d",
			writers, n, len(got.Job.History), got.Version, want, 1+writers*n)
	}
}

// testJobTrackingConcurrent: jobs created at once with one tracking number;
// exactly one is stored, the others get ErrTrackingInUse.
func testJobTrackingConcurrent(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		r := newJob(t, fmt.Sprintf("j%d", i), "a1", fmt.Sprintf("job%d", i))
		must(t, "ReportShipping", r.Job.ReportShipping(t0, shipping("SAME-1")))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.CreateJob(ctx, r)
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		default:
			wantErr(t, fmt.Sprintf("concurrent CreateJob #%d", i), err, meta.ErrTrackingInUse)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent jobs with one tracking number were created, want exactly 1", ok, n)
	}
}
