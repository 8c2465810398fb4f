package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/service"
	"github.com/seedship/seedship/internal/vault"
)

// prepJob prepares drives for a job from a small seeded staging
// repository, creates the job for the account and reports its shipping.
func prepJob(t *testing.T, dir, account, job string, seed uint64, drives int) []drive.DriveResult {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	staging := t.TempDir()
	put := func(rel string, n int) {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if rel == "" {
			s := sha256.Sum256(b)
			h := hex.EncodeToString(s[:])
			rel = "data/" + h[:2] + "/" + h
		}
		p := filepath.Join(staging, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("config", 155)
	for range 4 * drives {
		put("", 2<<10+rng.IntN(6<<10))
	}
	key := make([]byte, drive.JobKeySize)
	key[0] = byte(seed)
	var ds []string
	for i := range 4*drives + 2 {
		d := filepath.Join(t.TempDir(), fmt.Sprint("drive", i))
		os.Mkdir(d, 0o755)
		ds = append(ds, d)
	}
	res, err := drive.Prep(context.Background(), drive.Options{Staging: staging, Job: job, JobKey: key, Drives: ds,
		Capacity: 40 << 10, SkipVerify: true, Rand: rand.NewChaCha8([32]byte{byte(seed)})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := service.Open(ctx, dir, service.Options{LogOutput: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acc, err := s.DB.AccountByName(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	req := vault.CreateJobRequest{Name: job, StorageAccount: "sa1", Container: "web", JobKey: key}
	for _, d := range res.Drives {
		req.Drives = append(req.Drives, importjob.Drive{ID: d.ID, Seq: d.Seq, ManifestHash: d.ManifestHash, Bytes: d.Bytes, Files: d.Files})
	}
	if _, err := s.Jobs().Create(ctx, acc.ID, req); err != nil {
		t.Fatal(err)
	}
	sh := importjob.Shipping{Carrier: "UPS", Tracking: fmt.Sprint("1Z", seed), ShipDate: time.Now(), ReturnAddress: "ACME", Contact: "ops"}
	if _, err := s.Jobs().ReportShipping(ctx, acc.ID, job, sh); err != nil {
		t.Fatal(err)
	}
	return res.Drives
}

func TestOpsCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	sa := t.TempDir()
	for _, a := range []string{"acme", "rival"} {
		mustRun(t, "account", "create", "--data", dir, a, "--out", filepath.Join(t.TempDir(), a+".json"))
		mustRun(t, "storage-account", "create", "--data", dir, "--account", a, "sa1", "--store", sa)
	}
	drives := prepJob(t, dir, "acme", "seed-1", 1, 2)
	if len(drives) < 2 {
		t.Fatalf("%d drives, want 2 or more", len(drives))
	}
	other := prepJob(t, dir, "rival", "seed-2", 2, 1)
	prepJob(t, dir, "rival", "seed-1", 3, 1)

	job := []string{"--data", dir, "--job", "seed-1"}
	cmd := func(name string, extra ...string) []string {
		return append(append([]string{"ops", name}, job...), extra...)
	}
	if r := seedshipd(t, cmd("receive", "--drive", drives[0].Path)...); r.code == 0 || !strings.Contains(r.stderr, "add --account") {
		t.Errorf("receive of an ambiguous job: exit %d, %q", r.code, r.stderr)
	}
	job = append(job, "--account", "acme")
	r := seedshipd(t, cmd("receive", "--drive", other[0].Path)...)
	if r.code == 0 || !strings.Contains(r.stderr, "belongs to import job seed-2") || !strings.Contains(r.stderr, `"drive refused"`) {
		t.Errorf("receive of another job's drive: exit %d, %q", r.code, r.stderr)
	}
	r = mustRun(t, cmd("receive", "--drive", drives[0].Path)...)
	mustContainOut(t, r.stdout, "received; job Received, 0/")
	r = mustRun(t, cmd("import", "--drive", drives[0].Path, "--station", "dock-1")...)
	mustContainOut(t, r.stdout, "Completed; job Transferring", "copy log: web/seedship-import-logs/seed-1/"+drives[0].ID+"/copy.log")
	for _, f := range manifestFiles(t, drives[0]) {
		b, err := os.ReadFile(filepath.Join(sa, "web", filepath.FromSlash(f.Path)))
		if err != nil || hexSHA(b) != f.SHA256 {
			t.Errorf("object web/%s: %v, hash mismatch", f.Path, err)
		}
	}
	r = mustRun(t, "ops", "jobs", "--data", dir)
	mustContainOut(t, r.stdout, "seed-1", "acme", "Transferring", "1/", "seed-2", "Shipping", "receive drives by", drives[0].ID+":Completed")
	for _, d := range drives[1:] {
		mustRun(t, cmd("never-received", "--drive-id", d.ID)...)
	}
	r = mustRun(t, cmd("ship-back", "--carrier", "DHL", "--tracking", "jd 01")...)
	mustContainOut(t, r.stdout, "DHL JD01", "CompletedWithErrors")
	if r := mustRun(t, "ops", "jobs", "--data", dir); strings.Contains(r.stdout, "CompletedWithErrors") {
		t.Errorf("ops jobs lists a completed job: %q", r.stdout)
	}
	if r := mustRun(t, "ops", "jobs", "--data", dir, "--state", "CompletedWithErrors"); !strings.Contains(r.stdout, "seed-1") {
		t.Errorf("ops jobs --state CompletedWithErrors = %q", r.stdout)
	}
	if r := seedshipd(t, cmd("import", "--drive", drives[0].Path)...); r.code == 0 {
		t.Errorf("import after ship-back succeeded: %q", r.stdout)
	}
}

func manifestFiles(t *testing.T, d drive.DriveResult) []drive.File {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Path, drive.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := drive.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m.Files
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustContainOut(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("output %q, want %q in it", got, w)
		}
	}
}
