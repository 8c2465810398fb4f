package main

import (
	"context"
	"crypto/rand"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta/sqlite"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/vault"
)

// realService starts an in-process seedshipd API over TLS with an account
// acme (storage account sa1), a datacenter address, and this machine
// registered with acme's vault "web". It returns the account settings
// file and the service's job logic for checks.
func realService(t *testing.T, configDir string) (string, *vault.Jobs) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var srv *vault.Server
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	ep := vault.Endpoint{URL: ts.URL, Fingerprint: vault.FingerprintOf(ts.Certificate().Raw)}
	srv = vault.NewServer(vault.ServerConfig{DB: db, Store: mem.New(), Endpoint: ep,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: vault.Limits{AuthFailures: -1}})
	admin := &vault.Admin{DB: db, Endpoint: ep, Now: time.Now, Rand: rand.Reader}
	a, err := admin.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateStorageAccount(ctx, a.AccountID, "sa1", t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetDatacenterAddress(ctx, "Seedship DC1\nDock 4\n1 Harbour Rd"); err != nil {
		t.Fatal(err)
	}
	v, err := admin.CreateVault(ctx, a.AccountID, "web")
	if err != nil {
		t.Fatal(err)
	}
	vc, err := admin.VaultCredentials(ctx, a.AccountID, v.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	credFile := filepath.Join(t.TempDir(), "web.credentials")
	b, _ := vc.Marshal()
	writeFile(t, credFile, b)
	if _, err := vault.Register(ctx, credFile, configDir); err != nil {
		t.Fatal(err)
	}
	accFile := filepath.Join(t.TempDir(), "acme.json")
	b, _ = a.Marshal()
	writeFile(t, accFile, b)
	return accFile, &vault.Jobs{DB: db, Now: time.Now}
}

// realCLI is a seedCLI talking to the real service (no fake in the context).
func realCLI(t *testing.T) *seedCLI {
	s := newSeedCLI(t)
	s.account, _ = realService(t, s.vars["SEEDSHIP_CONFIG"])
	s.svc = nil
	return s
}

// execReal runs one command with the production client.
func (s *seedCLI) execReal(stdin string, args ...string) result {
	s.t.Helper()
	c := s.cli
	return c.runStdin(strings.NewReader(stdin), args...)
}

func (s *seedCLI) mustReal(stdin string, args ...string) result {
	s.t.Helper()
	r := s.execReal(stdin, args...)
	if r.code != exitOK {
		s.t.Fatalf("want exit 0, got\n%s", r)
	}
	return r
}

// TestOfflineSeedingEndToEnd runs steps 2 to 4 of offline seeding against
// an in-process service: offline backup, diskprep onto three directory
// drives, job creation, shipping with flags, status.
func TestOfflineSeedingEndToEnd(t *testing.T) {
	s := realCLI(t)
	for _, sub := range []string{"a", "b", "c"} {
		s.addFiles(sub, 1, packSize)
		s.mustReal("", s.offlineArgs("seed-1")...)
	}
	rec := s.record()
	if rec.Vault == "" || rec.Machine == "" {
		t.Errorf("seed record names no vault or machine: %+v", rec)
	}
	ds := s.drives(3)
	r := s.mustReal("", diskprepArgs(s.staging, ds)...)
	if !strings.Contains(r.stdout, "Creating) with 3 drives") || !strings.Contains(r.stdout, "    Dock 4") {
		t.Fatalf("diskprep:\n%s", r)
	}
	s.checkDrives(ds)
	if r := s.mustReal("", diskprepArgs(s.staging, ds)...); !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("second diskprep:\n%s", r)
	}
	// The name is taken now: a new staging location cannot reuse it.
	r = s.execReal("", replaceArg(s.offlineArgs("seed-1"), s.staging, filepath.Join(t.TempDir(), "st2"))...)
	if r.code == exitOK || !strings.Contains(r.stderr, "import job seed-1 already exists in account acme (state Creating)") {
		t.Errorf("offline backup with a taken job name:\n%s", r)
	}
	r = s.mustReal("", shipFlags(s.staging, "1Z 999 AA1")...)
	if !strings.Contains(r.stdout, "reported: UPS 1Z999AA1") || !strings.Contains(r.stdout, "receive drives by") {
		t.Errorf("shipping:\n%s", r)
	}
	r = s.mustReal("", "shipping", "--staging", s.staging, "--status")
	for _, want := range []string{"): Shipping", "drives:   3, 0 done", "Specified", "deadline: receive drives by"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r)
		}
	}
	if rec := s.record(); rec.ImportJob.State != importjob.JobShipping || rec.Shipping.Tracking != "1Z999AA1" {
		t.Errorf("seed record after shipping: %+v %+v", rec.ImportJob, rec.Shipping)
	}
}

// TestOfflineSeedingInteractive reports shipping by answering the prompts
// on stdin: "no" reports nothing, a duplicate tracking number is refused by
// the service, "yes" reports.
func TestOfflineSeedingInteractive(t *testing.T) {
	s := realCLI(t)
	s.addFiles("a", 2, 64<<10)
	s.mustReal("", s.offlineArgs("seed-1")...)
	s.mustReal("", "diskprep", "--staging", s.staging, "--drive", s.drives(1)[0])
	answers := "UPS\n1z 555\n1\n2025-03-02\nACME, 1 Main St\nops@acme.example\n"
	r := s.execReal(answers+"no\n", "shipping", "--staging", s.staging)
	if r.code == exitOK || !strings.Contains(r.stderr, "nothing was reported") {
		t.Fatalf("answered no:\n%s", r)
	}
	if r := s.mustReal("", "shipping", "--staging", s.staging, "--status"); !strings.Contains(r.stdout, "): Creating") {
		t.Errorf("after no:\n%s", r)
	}
	r = s.mustReal(answers+"yes\n", "shipping", "--staging", s.staging)
	if !strings.Contains(r.stdout, "reported: UPS 1Z555") {
		t.Errorf("answered yes:\n%s", r)
	}
	if rec := s.record(); rec.Shipping == nil || rec.Shipping.Contact != "ops@acme.example" {
		t.Errorf("seed record shipping = %+v", rec.Shipping)
	}
}

// TestDiskprepLoopDevices fills three real 64 MiB ext4 filesystems, so
// that a full drive is a real statfs answer and ENOSPC, not a capacity
// flag. It needs root, mkfs.ext4, losetup and mount.
func TestDiskprepLoopDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make and mount loop-device filesystems")
	}
	for _, tool := range []string{"mkfs.ext4", "losetup", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	ds := []string{loopExt4(t), loopExt4(t), loopExt4(t)}
	s := newSeedCLI(t)
	for i, sub := range []string{"a", "b", "c", "d"} {
		s.addFiles(sub, 5, 5<<20+i<<10)
		s.mustExec("", s.offlineArgs("seed-1")...)
	}
	r := s.mustExec("", "diskprep", "--staging", s.staging, "--drive", ds[0], "--drive", ds[1], "--drive", ds[2])
	// About 100 MiB of packs of up to 16 MiB: two or three drives, by how
	// the packs fall.
	if !strings.Contains(r.stdout, "drive 2  id") || !strings.Contains(r.stdout, "import job seed-1 created") {
		t.Fatalf("diskprep onto three 64 MiB filesystems:\n%s", r)
	}
	var used []string
	for _, d := range ds {
		if _, err := os.Stat(filepath.Join(d, drive.ManifestName)); err == nil {
			used = append(used, d)
		}
	}
	s.checkDrives(used)
	t.Log(r.stdout)
}

// loopExt4 makes and mounts a 64 MiB ext4 filesystem on a loop device.
func loopExt4(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	sh := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Skipf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	sh("mkfs.ext4", "-q", "-F", "-m", "0", img)
	dev := sh("losetup", "-f", "--show", img)
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	sh("mount", dev, mnt)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}
