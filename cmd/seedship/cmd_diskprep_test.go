package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/seed"
)

// packSize is the size of the one file each test backup adds: incompressible,
// so each backup writes one pack of about this size.
const packSize = 1200 << 10

// threePacks makes a staging location of job seed-1 with three backups,
// one pack each, so that drives of 2 MiB take one pack each.
func (s *seedCLI) threePacks() {
	s.t.Helper()
	for _, sub := range []string{"a", "b", "c"} {
		s.addFiles(sub, 1, packSize)
		s.mustExec("", s.offlineArgs("seed-1")...)
	}
}

// drives returns n new, empty drive directories.
func (s *seedCLI) drives(n int) []string {
	var out []string
	for i := range n {
		d := filepath.Join(s.t.TempDir(), "drive"+string(rune('1'+i)))
		if err := os.Mkdir(d, 0o755); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func diskprepArgs(staging string, drives []string, extra ...string) []string {
	args := []string{"diskprep", "--staging", staging, "--drive-capacity", "2097152"}
	for _, d := range drives {
		args = append(args, "--drive", d)
	}
	return append(args, extra...)
}

// checkDrives verifies every drive with the staging location's job key.
func (s *seedCLI) checkDrives(ds []string) {
	s.t.Helper()
	key, err := seed.ReadJobKey(s.staging)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, d := range ds {
		if _, err := drive.Verify(context.Background(), d, key, nil); err != nil {
			s.t.Errorf("verify %s: %v", d, err)
		}
	}
}

func TestDiskprep(t *testing.T) {
	s := newSeedCLI(t)
	s.threePacks()
	ds := s.drives(3)
	r := s.mustExec("", diskprepArgs(s.staging, ds)...)
	for _, want := range []string{"drive 1  id", "drive 3  id", "import job seed-1 created", "Creating) with 3 drives",
		"ship the 3 drives in one package to:", "    Dock 4", "then run: seedship shipping --staging " + s.staging, "report shipping by"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("diskprep output lacks %q:\n%s", want, r)
		}
	}
	s.checkDrives(ds)
	rec := s.record()
	if rec.ImportJob == nil || rec.ImportJob.State != importjob.JobCreating || len(rec.ImportJob.Drives) != 3 || !strings.Contains(rec.ImportJob.DatacenterAddress, "Dock 4") {
		t.Fatalf("seed record's import job = %+v", rec.ImportJob)
	}
	key, _ := seed.ReadJobKey(s.staging)
	if j := s.svc.jobs[testAccountID+"/seed-1"]; j == nil || j.KeyHash != importjob.KeyHash(key) || len(j.Drives) != 3 {
		t.Errorf("service job = %+v, want 3 drives and the staging key's hash", j)
	}
	for _, d := range ds {
		if _, err := os.Stat(filepath.Join(d, seed.JobKeyName)); err == nil {
			t.Errorf("the job key is on drive %s", d)
		}
	}

	r = s.mustExec("", diskprepArgs(s.staging, ds)...)
	if !strings.Contains(r.stdout, "nothing to do") || s.svc.creates != 1 {
		t.Errorf("second diskprep did something (%d creates):\n%s", s.svc.creates, r)
	}
	s.mustFail("it takes no more backups", s.offlineArgs("seed-1")...) // no more backups into a prepared staging location
}

func TestDiskprepNeedsDrive(t *testing.T) {
	s := newSeedCLI(t)
	s.threePacks()
	ds := s.drives(3)
	r := s.exec("", false, diskprepArgs(s.staging, ds[:1])...)
	if r.code == exitOK || !strings.Contains(r.stderr, "drive 2 is needed") || !strings.Contains(r.stdout, "drive 1  id") {
		t.Fatalf("diskprep with one drive: want a stop asking for drive 2 after drive 1, got\n%s", r)
	}
	if s.svc.creates != 0 {
		t.Error("a job was created before all drives were ready")
	}
	// On a terminal the next drives are asked for; the given one is skipped.
	r = s.exec(ds[1]+"\n"+ds[2]+"\n", true, diskprepArgs(s.staging, ds[:1])...)
	if r.code != exitOK || !strings.Contains(r.stderr, "Attach drive 2") || !strings.Contains(r.stdout, "with 3 drives") {
		t.Fatalf("diskprep asking for drives:\n%s", r)
	}
	s.checkDrives(ds)
}

func TestDiskprepServiceDown(t *testing.T) {
	s := newSeedCLI(t)
	s.threePacks()
	ds := s.drives(3)
	s.svc.down = true
	r := s.exec("", false, diskprepArgs(s.staging, ds)...)
	if r.code == exitOK || !strings.Contains(r.stderr, "the 3 drives are ready, but creating import job seed-1 failed") {
		t.Fatalf("diskprep with the service down:\n%s", r)
	}
	if s.record().ImportJob != nil {
		t.Error("the seed record names a job that was not created")
	}
	before := driveTimes(t, ds)
	s.svc.down = false
	r = s.mustExec("", diskprepArgs(s.staging, nil)...)
	if !strings.Contains(r.stdout, "import job seed-1 created") {
		t.Errorf("retry did not create the job:\n%s", r)
	}
	if after := driveTimes(t, ds); after != before {
		t.Error("the retry touched the drives")
	}
}

// driveTimes summarises the modification times of everything on the drives.
func driveTimes(t *testing.T, ds []string) string {
	var b strings.Builder
	for _, d := range ds {
		filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if err == nil {
				b.WriteString(p + fi.ModTime().String() + "\n")
			}
			return nil
		})
	}
	return b.String()
}

func TestDiskprepRefuses(t *testing.T) {
	s := newSeedCLI(t)
	empty := t.TempDir()
	s.mustFail(empty+" has no seed record: run seedship backup --offline first", "diskprep", "--staging", empty, "--drive", t.TempDir())
	s.addFiles("a", 1, 10<<10)
	s.mustExec("", s.offlineArgs("seed-1")...)
	ds := s.drives(1)
	s.mustFail("staging location of import job seed-1, not other", diskprepArgs(s.staging, ds, "--job", "other")...)
	other := writeAccountFile(t, strings.Repeat("e", 32), "other")
	s.mustFail("belongs to account acme", diskprepArgs(s.staging, ds, "--account-settings", other)...)
	writeFile(t, filepath.Join(ds[0], "holiday.jpg"), []byte("x"))
	s.mustFail("pass --yes to erase it", diskprepArgs(s.staging, ds)...)
	s.mustFail("overlap", diskprepArgs(s.staging, []string{s.staging})...)
	if _, err := os.Stat(filepath.Join(ds[0], "holiday.jpg")); err != nil {
		t.Errorf("a refused diskprep removed a file from the drive: %v", err)
	}
	s.mustExec("", diskprepArgs(s.staging, ds, "--yes")...)
	s.checkDrives(ds)

	// A drive changed after preparation fails verification.
	m := filepath.Join(ds[0], drive.ManifestName)
	b, _ := os.ReadFile(m)
	os.WriteFile(m, []byte(strings.Replace(string(b), `"seq":1`, `"seq":2`, 1)), 0o644)
	key, _ := seed.ReadJobKey(s.staging)
	if _, err := drive.Verify(context.Background(), ds[0], key, nil); !errors.Is(err, drive.ErrMAC) {
		t.Errorf("Verify(tampered manifest) = %v, want ErrMAC", err)
	}
}
