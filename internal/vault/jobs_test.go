package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/store"
)

// testJobKey is a fixed 32-byte job key.
var testJobKey = []byte("0123456789abcdef0123456789abcdef")

const testAddress = "seedship datacenter, dock 4\n1 Harbour Road, Rotterdam"

// jobBody is a valid POST /v1/jobs body for storage account sa1.
func jobBody(name string) string {
	return `{"name":"` + name + `","storage_account":"sa1","container":"seed-web","vault":"","machine":"",` +
		`"job_key":"` + base64.StdEncoding.EncodeToString(testJobKey) + `","drives":[` +
		`{"id":"00112233445566778899aabbccddeeff","seq":1,"manifest_hash":"` + strings.Repeat("ab", 32) + `","bytes":1000,"files":3}]}`
}

// shipBody is a valid shipping body with the tracking number.
func shipBody(tracking string) string {
	return `{"carrier":"DHL","tracking":"` + tracking + `","packages":1,"ship_date":"2025-06-01T00:00:00Z",` +
		`"return_address":"ACME, 2 Main St","contact":"ops@acme.example"}`
}

func testShipping(tracking string) importjob.Shipping {
	return importjob.Shipping{Carrier: "DHL", Tracking: tracking, ShipDate: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		ReturnAddress: "ACME, 2 Main St", Contact: "ops@acme.example"}
}

func testCreateRequest(name string) CreateJobRequest {
	return CreateJobRequest{Name: name, StorageAccount: "sa1", Container: "seed-web", JobKey: testJobKey,
		Drives: []importjob.Drive{{ID: "00112233445566778899aabbccddeeff", Seq: 1, ManifestHash: strings.Repeat("ab", 32), Bytes: 1000, Files: 3}}}
}

// addJobs gives the authorisation world a datacenter, storage account sa1
// in both accounts and three jobs of acme.
func (w *authWorld) addJobs(t *testing.T, acmeID, rivalID string) {
	ctx := context.Background()
	w.f.storageAccount(acmeID, rivalID)
	if err := w.f.admin.SetDatacenterAddress(ctx, testAddress); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"get-me", "ship-me", "cancel-me"} {
		if _, err := w.f.srv.jobs.Create(ctx, acmeID, testCreateRequest(name)); err != nil {
			t.Fatal(err)
		}
	}
}

// storageAccount creates storage account sa1 in each account.
func (f *fixture) storageAccount(accountIDs ...string) {
	f.t.Helper()
	for _, id := range accountIDs {
		if _, err := f.admin.CreateStorageAccount(context.Background(), id, "sa1", "/srv/sa1-"+id); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) accountClient(a *AccountSettings) *AccountClient {
	f.t.Helper()
	c, err := NewAccountClient(a)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// jobWorld is two accounts with storage account sa1 each and a datacenter.
func jobWorld(t *testing.T) (f *fixture, acme, rival *AccountSettings) {
	f = newFixture(t, nil)
	acme, rival = f.account("acme"), f.account("rival")
	f.storageAccount(acme.AccountID, rival.AccountID)
	if err := f.admin.SetDatacenterAddress(context.Background(), testAddress); err != nil {
		t.Fatal(err)
	}
	return f, acme, rival
}

func wantErrIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func TestJobLifecycle(t *testing.T) {
	f, acme, _ := jobWorld(t)
	c := f.accountClient(acme)
	ctx := context.Background()
	if addr, err := c.Datacenter(ctx); err != nil || addr != testAddress {
		t.Errorf("Datacenter = %q, %v; want %q", addr, err, testAddress)
	}
	created := f.clock.Now()
	info, err := c.CreateJob(ctx, testCreateRequest("first"))
	if err != nil {
		t.Fatal(err)
	}
	j := info.Job
	if j.State != importjob.JobCreating || j.Account != acme.AccountID || j.KeyHash != importjob.KeyHash(testJobKey) || len(j.Drives) != 1 {
		t.Errorf("created job = %+v", j)
	}
	if info.DatacenterAddress != testAddress || info.Deadline.What != "report shipping" || !info.Deadline.At.Equal(created.Add(importjob.ShipWithin)) {
		t.Errorf("created job: address %q, deadline %+v", info.DatacenterAddress, info.Deadline)
	}
	if b, err := json.Marshal(info); err != nil || !strings.Contains(string(b), `"deadline":{"what":"report shipping","at":`) {
		t.Errorf("JobInfo JSON = %s, %v; want the documented envelope", b, err)
	}
	_, err = c.CreateJob(ctx, testCreateRequest("first"))
	wantErrIs(t, "CreateJob of an existing name", err, ErrJobExists)
	req := testCreateRequest("second")
	req.StorageAccount = "nope"
	_, err = c.CreateJob(ctx, req)
	wantErrIs(t, "CreateJob with an unknown storage account", err, ErrStorageAccountNotFound)
	_, err = c.Job(ctx, "nope")
	wantErrIs(t, "Job of an unknown name", err, ErrJobNotFound)

	f.clock.Add(time.Hour)
	shipped, err := c.ReportShipping(ctx, "first", testShipping(" 1z 999 aa "))
	if err != nil {
		t.Fatal(err)
	}
	sj := shipped.Job
	if sj.State != importjob.JobShipping || sj.Shipping == nil || sj.Shipping.Tracking != "1Z999AA" || !sj.Shipping.Reported.Equal(f.clock.Now()) {
		t.Errorf("shipped job: state %s shipping %+v", sj.State, sj.Shipping)
	}
	last := sj.History[len(sj.History)-1]
	want := importjob.Transition{Time: f.clock.Now(), From: "Creating", To: "Shipping", Subject: "job", Note: "tracking 1Z999AA"}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("last history entry (-want +got):\n%s", diff)
	}
	if shipped.Deadline.What != "receive drives" || !shipped.Deadline.At.Equal(f.clock.Now().Add(importjob.ReceiveWithin)) {
		t.Errorf("shipped job deadline %+v", shipped.Deadline)
	}
	_, err = c.CancelJob(ctx, "first")
	wantErrIs(t, "CancelJob after shipping", err, ErrInvalidTransition)
	_, err = c.ReportShipping(ctx, "first", testShipping("OTHER"))
	wantErrIs(t, "ReportShipping twice", err, ErrInvalidTransition)

	got, err := c.Job(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(shipped.Job, got.Job); diff != "" {
		t.Errorf("Job after shipping (-shipped +got):\n%s", diff)
	}
	all, err := c.Jobs(ctx)
	if err != nil || len(all) != 1 || all[0].Job.Name != "first" {
		t.Errorf("Jobs = %+v, %v; want the one job", all, err)
	}
	resp := f.request("GET", "/v1/jobs/first", acme.APIKey, nil)
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), base64.StdEncoding.EncodeToString(testJobKey)) {
		t.Errorf("the job's answer contains the job key: %s", body)
	}
	if !strings.Contains(string(body), `"deadline":{"what":"receive drives","at":"`) {
		t.Errorf("answer has no lower-case deadline: %s", body)
	}
}

func TestCancelBeforeShipping(t *testing.T) {
	f, acme, _ := jobWorld(t)
	c := f.accountClient(acme)
	ctx := context.Background()
	if _, err := c.CreateJob(ctx, testCreateRequest("j")); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	info, err := c.CancelJob(ctx, "j")
	if err != nil {
		t.Fatal(err)
	}
	last := info.Job.History[len(info.Job.History)-1]
	if info.Job.State != importjob.JobCancelled || last.From != "Creating" || last.To != "Cancelled" || !last.Time.Equal(f.clock.Now()) {
		t.Errorf("cancelled job: state %s, last transition %+v", info.Job.State, last)
	}
	if info.Deadline.What != "" {
		t.Errorf("cancelled job has deadline %+v", info.Deadline)
	}
	_, err = c.ReportShipping(ctx, "j", testShipping("T1"))
	wantErrIs(t, "ReportShipping after cancel", err, ErrInvalidTransition)
	_, err = c.CancelJob(ctx, "j")
	wantErrIs(t, "CancelJob twice", err, ErrInvalidTransition)
}

func TestTrackingUniqueAcrossAccounts(t *testing.T) {
	f, acme, rival := jobWorld(t)
	ctx := context.Background()
	a, r := f.accountClient(acme), f.accountClient(rival)
	for _, c := range []*AccountClient{a, r} {
		if _, err := c.CreateJob(ctx, testCreateRequest("seed")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.ReportShipping(ctx, "seed", testShipping("1Z 999")); err != nil {
		t.Fatal(err)
	}
	_, err := r.ReportShipping(ctx, "seed", testShipping("1z999"))
	wantErrIs(t, "ReportShipping with another account's tracking number", err, ErrTrackingInUse)
	if err != nil && !strings.Contains(err.Error(), "already used by another import job") {
		t.Errorf("tracking error %q does not say what is wrong", err)
	}
	resp := f.request("POST", "/v1/jobs/seed/shipping", rival.APIKey, strings.NewReader(shipBody("1Z999")))
	e := decodeError(t, resp)
	if resp.StatusCode != http.StatusConflict || e.Code != CodeTrackingInUse || strings.Contains(e.Error, "acme") {
		t.Errorf("raw shipping with a used number = %d %+v, want 409 %s naming no other account", resp.StatusCode, e, CodeTrackingInUse)
	}
	info, err := r.Job(ctx, "seed")
	if err != nil || info.Job.State != importjob.JobCreating {
		t.Errorf("rival's job after the refused shipping: %+v, %v; want Creating", info, err)
	}
	if _, err := r.ReportShipping(ctx, "seed", testShipping("1Z998")); err != nil {
		t.Errorf("ReportShipping with a fresh number: %v", err)
	}
}

func decodeError(t *testing.T, resp *http.Response) errorBody {
	t.Helper()
	var e errorBody
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Errorf("error body: %v", err)
	}
	return e
}

func TestJobExpiry(t *testing.T) {
	f, acme, _ := jobWorld(t)
	c := f.accountClient(acme)
	ctx := context.Background()
	for _, n := range []string{"unshipped", "shipped", "late"} {
		if _, err := c.CreateJob(ctx, testCreateRequest(n)); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Add(importjob.ShipWithin - time.Hour)
	if _, err := c.ReportShipping(ctx, "shipped", testShipping("T-EXP")); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Hour) // the unshipped jobs are overdue now
	info, err := c.Job(ctx, "unshipped")
	if err != nil || info.Job.State != importjob.JobExpired {
		t.Fatalf("Job 14 days after creation: %+v, %v; want Expired", info, err)
	}
	if last := info.Job.History[len(info.Job.History)-1]; last.From != "Creating" || last.To != "Expired" || !last.Time.Equal(f.clock.Now()) {
		t.Errorf("expiry transition %+v", last)
	}
	_, err = c.ReportShipping(ctx, "late", testShipping("T-LATE"))
	wantErrIs(t, "ReportShipping on an overdue job", err, ErrInvalidTransition)
	if info, _ := c.Job(ctx, "late"); info == nil || info.Job.State != importjob.JobExpired {
		t.Errorf("overdue job after a refused shipping: %+v, want Expired", info)
	}
	if info, _ := c.Job(ctx, "shipped"); info == nil || info.Job.State != importjob.JobShipping {
		t.Errorf("shipped job 1 h after shipping: %+v, want Shipping", info)
	}
	f.clock.Add(importjob.ReceiveWithin)
	all, err := c.Jobs(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("Jobs = %d, %v", len(all), err)
	}
	for _, ji := range all {
		if ji.Job.State != importjob.JobExpired {
			t.Errorf("job %s after both deadlines: %s, want Expired", ji.Job.Name, ji.Job.State)
		}
	}
	shipped := all[1].Job
	if shipped.Name != "shipped" || shipped.Drives[0].State != importjob.DriveNeverReceived {
		t.Errorf("expired shipment %s: drive state %s, want NeverReceived", shipped.Name, shipped.Drives[0].State)
	}
	stored, err := f.db.GetJob(ctx, acme.AccountID, "shipped")
	if err != nil || stored.Job.State != importjob.JobExpired {
		t.Errorf("stored job after the list: %s, %v; want Expired persisted", stored.Job.State, err)
	}
}

func TestJobStateFilterSeesExpiry(t *testing.T) {
	f, acme, _ := jobWorld(t)
	c := f.accountClient(acme)
	if _, err := c.CreateJob(context.Background(), testCreateRequest("j")); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(importjob.ShipWithin + time.Second)
	resp := f.request("GET", "/v1/jobs?state=Expired", acme.APIKey, nil)
	var got []JobInfo
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got) != 1 {
		t.Errorf("GET /v1/jobs?state=Expired = %d jobs, %v; want 1", len(got), err)
	}
	if resp := f.request("GET", "/v1/jobs?state=Bogus", acme.APIKey, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown state filter: %d, want 400", resp.StatusCode)
	}
}

func TestJobInvalidBodies(t *testing.T) {
	f, acme, _ := jobWorld(t)
	if _, err := f.srv.jobs.Create(context.Background(), acme.AccountID, testCreateRequest("ok")); err != nil {
		t.Fatal(err)
	}
	good := jobBody("x")
	creates := map[string]string{
		"empty":         "",
		"not json":      "{",
		"unknown field": strings.Replace(good, `"name"`, `"color":"red","name"`, 1),
		"trailing data": good + "{}",
		"bad name":      jobBody("../x"),
		"short key":     strings.Replace(good, base64.StdEncoding.EncodeToString(testJobKey), "AAAA", 1),
		"no drives":     strings.Replace(good, `"drives":[`, `"drives":[],"x":[`, 1),
		"bad drive id":  strings.Replace(good, "00112233445566778899aabbccddeeff", "zz", 1),
		"bad container": strings.Replace(good, "seed-web", "../up", 1),
		"unknown vault": strings.Replace(good, `"vault":""`, `"vault":"nope"`, 1),
		"array":         "[]",
	}
	for name, body := range creates {
		resp := f.request("POST", "/v1/jobs", acme.APIKey, strings.NewReader(body))
		e := decodeError(t, resp)
		if resp.StatusCode != http.StatusBadRequest || e.Code != CodeInvalid || e.Error == "" {
			t.Errorf("create with %s: %d %+v, want 400 %s with a message", name, resp.StatusCode, e, CodeInvalid)
		}
	}
	ship := shipBody("T1")
	ships := map[string]string{
		"empty":         "",
		"no carrier":    strings.Replace(ship, `"DHL"`, `""`, 1),
		"bad tracking":  shipBody("T/1"),
		"two packages":  strings.Replace(ship, `"packages":1`, `"packages":2`, 1),
		"no ship date":  strings.Replace(ship, `"ship_date":"2025-06-01T00:00:00Z",`, ``, 1),
		"bad ship date": strings.Replace(ship, `2025-06-01T00:00:00Z`, `June 1st`, 1),
		"unknown field": strings.Replace(ship, `"carrier"`, `"speed":1,"carrier"`, 1),
		"no contact":    strings.Replace(ship, `"ops@acme.example"`, `" "`, 1),
	}
	for name, body := range ships {
		resp := f.request("POST", "/v1/jobs/ok/shipping", acme.APIKey, strings.NewReader(body))
		e := decodeError(t, resp)
		if resp.StatusCode != http.StatusBadRequest || e.Code != CodeInvalid || e.Error == "" {
			t.Errorf("shipping with %s: %d %+v, want 400 %s with a message", name, resp.StatusCode, e, CodeInvalid)
		}
	}
}

func TestJobIsolation(t *testing.T) {
	f, acme, rival := jobWorld(t)
	ctx := context.Background()
	if _, err := f.accountClient(acme).CreateJob(ctx, testCreateRequest("secret-job")); err != nil {
		t.Fatal(err)
	}
	r := f.accountClient(rival)
	_, err := r.Job(ctx, "secret-job")
	wantErrIs(t, "another account's Job", err, ErrJobNotFound)
	_, err = r.CancelJob(ctx, "secret-job")
	wantErrIs(t, "another account's CancelJob", err, ErrJobNotFound)
	_, err = r.ReportShipping(ctx, "secret-job", testShipping("T9"))
	wantErrIs(t, "another account's ReportShipping", err, ErrJobNotFound)
	if all, err := r.Jobs(ctx); err != nil || len(all) != 0 {
		t.Errorf("rival's Jobs = %+v, %v; want none", all, err)
	}
	resp := f.request("GET", "/v1/jobs?account="+acme.AccountID, rival.APIKey, nil)
	var got []JobInfo
	if json.NewDecoder(resp.Body).Decode(&got); len(got) != 0 {
		t.Errorf("rival listing acme's jobs by ?account= got %d jobs", len(got))
	}
	sas, err := r.StorageAccounts(ctx)
	if err != nil || len(sas) != 1 || sas[0].Store != "/srv/sa1-"+rival.AccountID {
		t.Errorf("rival's StorageAccounts = %+v, %v; want only its own", sas, err)
	}
}

func TestOperatorSeesAllJobs(t *testing.T) {
	f, acme, rival := jobWorld(t)
	ctx := context.Background()
	for _, a := range []*AccountSettings{acme, rival} {
		if _, err := f.accountClient(a).CreateJob(ctx, testCreateRequest("seed")); err != nil {
			t.Fatal(err)
		}
	}
	op, err := f.admin.CreateOperator(ctx, "staff")
	if err != nil {
		t.Fatal(err)
	}
	oc := f.accountClient(op)
	all, err := oc.Jobs(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("operator's Jobs = %d, %v; want 2", len(all), err)
	}
	_, err = oc.Job(ctx, "seed")
	wantErrIs(t, "operator's ambiguous Job", err, ErrInvalidJob)
	resp := f.request("GET", "/v1/jobs/seed?account="+rival.AccountID, op.APIKey, nil)
	var info JobInfo
	if json.NewDecoder(resp.Body).Decode(&info); resp.StatusCode != http.StatusOK || info.Job.Account != rival.AccountID {
		t.Errorf("operator's GET with ?account= = %d, account %s", resp.StatusCode, info.Job.Account)
	}
	_, err = oc.CancelJob(ctx, "seed")
	wantErrIs(t, "operator's CancelJob", err, store.ErrPermission)
}

func TestNoDatacenter(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.accountClient(f.account("acme")).Datacenter(context.Background())
	wantErrIs(t, "Datacenter before it is set", err, ErrNoDatacenter)
}

// TestConcurrentShipping: two shipping reports of one job race; exactly one
// wins, the other is refused as a transition, and one transition is
// recorded.
func TestConcurrentShipping(t *testing.T) {
	f, acme, _ := jobWorld(t)
	c := f.accountClient(acme)
	ctx := context.Background()
	if _, err := c.CreateJob(ctx, testCreateRequest("race")); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.ReportShipping(ctx, "race", testShipping(fmt.Sprintf("T-%d", i)))
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("concurrent shipping: errors %v and %v, want exactly one success", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil {
			wantErrIs(t, "losing shipping report", err, ErrInvalidTransition)
		}
	}
	info, err := c.Job(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tr := range info.Job.History {
		if tr.To == "Shipping" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Shipping transitions recorded, want 1", n)
	}
}
