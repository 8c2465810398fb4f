package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/service"
	"github.com/seedship/seedship/internal/vault"
)

func TestStorageAccountAndDatacenterCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "account", "create", "--data", dir, "acme", "--out", filepath.Join(t.TempDir(), "acme.json"))
	local := filepath.Join(t.TempDir(), "sa")
	mustRun(t, "storage-account", "create", "--data", dir, "--account", "acme", "sa1", "--store", local)
	mustRun(t, "storage-account", "create", "--data", dir, "--account", "acme", "sa2", "--store", "s3:bucket/imports")
	r := mustRun(t, "storage-account", "list", "--data", dir, "--account", "acme")
	for _, want := range []string{"sa1", local, "sa2", "s3:bucket/imports"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("storage-account list = %q, want %q in it", r.stdout, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"storage-account", "create", "--data", dir, "--account", "acme", "sa1", "--store", local}, "already has"},
		{[]string{"storage-account", "create", "--data", dir, "--account", "acme", "sa3", "--store", "ftp:x"}, "store location"},
		{[]string{"storage-account", "create", "--data", dir, "--account", "nobody", "sa3", "--store", local}, "no account"},
		{[]string{"storage-account", "create", "--data", dir, "--account", "acme", "bad/name", "--store", local}, "invalid name"},
		{[]string{"storage-account", "create", "--data", dir, "--account", "acme", "sa4"}, "required"},
		{[]string{"datacenter", "show", "--data", dir}, "datacenter set"},
		{[]string{"datacenter", "set", "--data", dir, "--address", "  "}, "address"},
		{[]string{"jobs", "list", "--data", dir, "--state", "Bogus"}, "unknown job state"},
		{[]string{"jobs", "list", "--data", dir, "--account", "nobody"}, "no account"},
	} {
		if r := seedshipd(t, tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("seedshipd %s: exit %d, %q; want failure mentioning %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	addr := "seedship DC\nDock 4, 1 Harbour Road"
	mustRun(t, "datacenter", "set", "--data", dir, "--address", addr)
	if r := mustRun(t, "datacenter", "show", "--data", dir); r.stdout != addr+"\n" {
		t.Errorf("datacenter show = %q, want %q", r.stdout, addr)
	}
}

// TestJobsList creates jobs through the service's job logic and lists them
// as the operator does.
func TestJobsList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	for _, a := range []string{"acme", "rival"} {
		mustRun(t, "account", "create", "--data", dir, a, "--out", filepath.Join(t.TempDir(), a+".json"))
		mustRun(t, "storage-account", "create", "--data", dir, "--account", a, "sa1", "--store", t.TempDir())
	}
	if r := mustRun(t, "jobs", "list", "--data", dir); !strings.HasPrefix(r.stdout, "ACCOUNT") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("jobs list of no jobs = %q, want just the header", r.stdout)
	}
	ctx := context.Background()
	s, err := service.Open(ctx, dir, service.Options{LogOutput: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	js := s.Jobs()
	for i, a := range []string{"acme", "rival"} {
		acc, err := s.DB.AccountByName(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		req := vault.CreateJobRequest{Name: a + "-seed", StorageAccount: "sa1", Container: "c", JobKey: make([]byte, vault.JobKeySize),
			Drives: []importjob.Drive{{ID: strings.Repeat("ab", 16), Seq: 1, ManifestHash: strings.Repeat("cd", 32)}}}
		if _, err := js.Create(ctx, acc.ID, req); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			sh := importjob.Shipping{Carrier: "UPS", Tracking: "1z 42", ShipDate: time.Now(), ReturnAddress: "ACME", Contact: "ops"}
			if _, err := js.ReportShipping(ctx, acc.ID, req.Name, sh); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()
	r := mustRun(t, "jobs", "list", "--data", dir)
	for _, want := range []string{"acme-seed", "rival-seed", "Creating", "Shipping", "UPS 1Z42", "0/1", "sa1/c", "report shipping by", "receive drives by"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("jobs list = %q, want %q in it", r.stdout, want)
		}
	}
	if r := mustRun(t, "jobs", "list", "--data", dir, "--account", "rival"); strings.Contains(r.stdout, "acme-seed") || !strings.Contains(r.stdout, "rival-seed") {
		t.Errorf("jobs list --account rival = %q", r.stdout)
	}
	if r := mustRun(t, "jobs", "list", "--data", dir, "--state", "Shipping"); strings.Contains(r.stdout, "rival-seed") || !strings.Contains(r.stdout, "acme-seed") {
		t.Errorf("jobs list --state Shipping = %q, want acme's job only", r.stdout)
	}
}

// TestJobAPIEndToEnd drives the import-job API of a running seedshipd
// with the account admin's client, as seedship diskprep and shipping do.
func TestJobAPIEndToEnd(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "service")
	srv := startServe(t, data)
	accFile := filepath.Join(t.TempDir(), "acme.json")
	mustRun(t, "account", "create", "--data", data, "acme", "--out", accFile, "--url", srv.url)
	mustRun(t, "storage-account", "create", "--data", data, "--account", "acme", "sa1", "--store", t.TempDir())
	mustRun(t, "datacenter", "set", "--data", data, "--address", "Dock 4")
	b, err := os.ReadFile(accFile)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := vault.ParseAccountSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := vault.NewAccountClient(acc)
	if err != nil {
		t.Fatal(err)
	}
	req := vault.CreateJobRequest{Name: "seed-1", StorageAccount: "sa1", Container: "web", JobKey: make([]byte, vault.JobKeySize),
		Drives: []importjob.Drive{{ID: strings.Repeat("ab", 16), Seq: 1, ManifestHash: strings.Repeat("cd", 32), Bytes: 5, Files: 1}}}
	info, err := c.CreateJob(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if info.DatacenterAddress != "Dock 4" || info.Job.State != importjob.JobCreating {
		t.Errorf("CreateJob = %+v", info)
	}
	sh := importjob.Shipping{Carrier: "DHL", Tracking: "JD0001", ShipDate: time.Now(), ReturnAddress: "ACME", Contact: "ops"}
	if _, err := c.ReportShipping(ctx, "seed-1", sh); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, "jobs", "list", "--data", data, "--state", "Shipping"); !strings.Contains(r.stdout, "seed-1") {
		t.Errorf("jobs list after shipping = %q", r.stdout)
	}
}
