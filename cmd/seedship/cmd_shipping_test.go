package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/vault"
)

// prepared returns a staging location whose job was created with 3 drives.
func prepared(t *testing.T) *seedCLI {
	s := newSeedCLI(t)
	s.threePacks()
	s.mustExec("", diskprepArgs(s.staging, s.drives(3))...)
	return s
}

func shipFlags(staging, tracking string) []string {
	return []string{"shipping", "--staging", staging, "--carrier", "UPS", "--tracking", tracking, "--packages", "1",
		"--ship-date", "2025-03-02", "--return-address", "ACME, 1 Main St, Springfield", "--contact", "ops@acme.example", "--yes"}
}

func TestShippingFlags(t *testing.T) {
	s := prepared(t)
	s.mustFail(`invalid argument "x"`, "shipping", "--staging", s.staging, "--packages", "x")
	s.mustFail("all drives of a job travel in one package", replaceArg(shipFlags(s.staging, "1Z 999"), "1", "2")...)
	s.mustFail("use YYYY-MM-DD", replaceArg(shipFlags(s.staging, "1Z 999"), "2025-03-02", "2.3.2025")...)
	s.svc.tracking["1Z999"] = "another job"
	s.mustFail("tracking number 1Z999 is already used by another import job", shipFlags(s.staging, "1z 999")...)
	delete(s.svc.tracking, "1Z999")

	r := s.mustExec("", shipFlags(s.staging, "1z 999")...)
	for _, want := range []string{"shipping of import job seed-1 reported: UPS 1Z999", "receive drives by 2025-03-15T12:00:00Z"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("shipping output lacks %q:\n%s", want, r)
		}
	}
	if rec := s.record(); rec.Shipping == nil || rec.Shipping.Tracking != "1Z999" || rec.ImportJob.State != importjob.JobShipping {
		t.Errorf("seed record after shipping: %+v, %+v", rec.Shipping, rec.ImportJob)
	}
	s.mustFail("shipping was already reported", shipFlags(s.staging, "1Z999")...)

	r = s.mustExec("", "shipping", "--staging", s.staging, "--status")
	for _, want := range []string{"import job seed-1 (id", "): Shipping", "drives:   3, 0 done", "drive 2 (", "Specified", "UPS 1Z999 on 2025-03-02", "deadline: receive drives by 2025-03-15T12:00:00Z"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, r)
		}
	}
	r = s.mustExec("", "shipping", "--staging", s.staging, "--status", "--json")
	var info vault.JobInfo
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info.Job.State != importjob.JobShipping || len(info.Job.Drives) != 3 {
		t.Errorf("status --json = %v, %+v\n%s", err, info.Job, r)
	}

	// Drives that do not arrive within 14 days: the job expires.
	s.svc.now = s.svc.now.Add(15 * 24 * time.Hour)
	r = s.mustExec("", "shipping", "--staging", s.staging, "--status")
	if !strings.Contains(r.stdout, "Expired") || !strings.Contains(r.stdout, "NeverReceived") {
		t.Errorf("status of an expired job:\n%s", r)
	}
}

func TestShippingInteractive(t *testing.T) {
	s := prepared(t)
	answers := "UPS\n1z 555\n\n2025-03-02\nACME, 1 Main St\nops@acme.example\n"
	r := s.exec(answers+"no\n", false, "shipping", "--staging", s.staging)
	if r.code == exitOK || !strings.Contains(r.stderr, "nothing was reported") || !strings.Contains(r.stderr, "tracking:       1Z555") {
		t.Fatalf("shipping answered no:\n%s", r)
	}
	if j := s.svc.jobs[testAccountID+"/seed-1"]; j.State != importjob.JobCreating {
		t.Fatalf("job is %s after answering no", j.State)
	}
	r = s.exec(answers[:10], false, "shipping", "--staging", s.staging)
	if r.code == exitOK || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("shipping with stdin closed early:\n%s", r)
	}
	r = s.exec(answers+"yes\n", false, "shipping", "--staging", s.staging)
	if r.code != exitOK || !strings.Contains(r.stdout, "reported: UPS 1Z555") || !strings.Contains(r.stderr, "Type yes to report") {
		t.Fatalf("shipping answered yes:\n%s", r)
	}
	if j := s.svc.jobs[testAccountID+"/seed-1"]; j.State != importjob.JobShipping || j.Shipping.ReturnAddress != "ACME, 1 Main St" {
		t.Errorf("job after shipping: %s %+v", j.State, j.Shipping)
	}
}

func TestShippingRefuses(t *testing.T) {
	s := newSeedCLI(t)
	s.mustFail("has no seed record: run seedship backup --offline first", "shipping", "--staging", t.TempDir(), "--status")
	s.addFiles("a", 1, 10<<10)
	s.mustExec("", s.offlineArgs("seed-1")...)
	s.mustFail("import job seed-1 not found in account acme", "shipping", "--staging", s.staging, "--status")

	s = prepared(t)
	s.svc.now = s.svc.now.Add(15 * 24 * time.Hour) // shipping not reported in time
	s.mustFail("import job seed-1 expired (report shipping was due", shipFlags(s.staging, "1Z1")...)
	if rec := s.record(); rec.ImportJob.State != importjob.JobExpired {
		t.Errorf("seed record says %s, want Expired", rec.ImportJob.State)
	}
}
