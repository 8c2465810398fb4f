package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/seed"
	"github.com/seedship/seedship/internal/vault"
)

// fakeJobs is an in-memory import-job service for the CLI tests.
type fakeJobs struct {
	mu       sync.Mutex
	now      time.Time
	address  string
	down     bool // every call fails as if the service were unreachable
	jobs     map[string]*importjob.Job
	tracking map[string]string
	creates  int
}

var errDown = errors.New("dial tcp: connection refused")

func newFakeJobs() *fakeJobs {
	return &fakeJobs{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), address: "Seedship DC1\nDock 4\n1 Harbour Rd",
		jobs: map[string]*importjob.Job{}, tracking: map[string]string{}}
}

// client is the service as one account's settings file sees it.
func (f *fakeJobs) client(a *seed.Account) (jobService, error) {
	return &fakeClient{f: f, account: a.Settings.AccountID}, nil
}

type fakeClient struct {
	f       *fakeJobs
	account string
}

func (c *fakeClient) lock() (*fakeJobs, error) {
	c.f.mu.Lock()
	if c.f.down {
		c.f.mu.Unlock()
		return nil, errDown
	}
	return c.f, nil
}

func (f *fakeJobs) info(j *importjob.Job) *vault.JobInfo {
	j.Expire(f.now)
	out := &vault.JobInfo{Job: *j, DatacenterAddress: f.address}
	out.Job.Drives = append([]importjob.Drive(nil), j.Drives...)
	out.Deadline.What, out.Deadline.At = j.Deadline()
	return out
}

func (c *fakeClient) Datacenter(context.Context) (string, error) {
	f, err := c.lock()
	if err != nil {
		return "", err
	}
	defer f.mu.Unlock()
	return f.address, nil
}

func (c *fakeClient) Job(_ context.Context, name string) (*vault.JobInfo, error) {
	f, err := c.lock()
	if err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	j := f.jobs[c.account+"/"+name]
	if j == nil {
		return nil, fmt.Errorf("job %s: %w", name, vault.ErrJobNotFound)
	}
	return f.info(j), nil
}

func (c *fakeClient) CreateJob(_ context.Context, req vault.CreateJobRequest) (*vault.JobInfo, error) {
	f, err := c.lock()
	if err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	if f.jobs[c.account+"/"+req.Name] != nil {
		return nil, fmt.Errorf("job %s: %w", req.Name, vault.ErrJobExists)
	}
	f.creates++
	j, err := importjob.New(importjob.Spec{ID: fmt.Sprintf("%032x", f.creates), Account: c.account, Name: req.Name,
		StorageAccount: req.StorageAccount, Container: req.Container, Vault: req.Vault, Machine: req.Machine,
		KeyHash: importjob.KeyHash(req.JobKey), Drives: req.Drives}, f.now)
	if err != nil {
		return nil, err
	}
	f.jobs[c.account+"/"+req.Name] = j
	return f.info(j), nil
}

func (c *fakeClient) ReportShipping(_ context.Context, name string, s importjob.Shipping) (*vault.JobInfo, error) {
	f, err := c.lock()
	if err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	j := f.jobs[c.account+"/"+name]
	if j == nil {
		return nil, vault.ErrJobNotFound
	}
	if other, ok := f.tracking[importjob.NormalizeTracking(s.Tracking)]; ok && other != j.ID {
		return nil, fmt.Errorf("409 tracking_in_use: %w", vault.ErrTrackingInUse)
	}
	if j.Expire(f.now) {
		return nil, fmt.Errorf("job %s expired: %w", name, vault.ErrInvalidTransition)
	}
	if err := j.ReportShipping(f.now, s); err != nil {
		return nil, err
	}
	f.tracking[j.Shipping.Tracking] = j.ID
	return f.info(j), nil
}

// seedCLI runs the offline-seeding commands against a fake service.
type seedCLI struct {
	*cli
	svc     *fakeJobs
	account string // account settings file
	staging string
	src     string
	rng     *rand.ChaCha8
}

const testAccountID = "0123456789abcdef0123456789abcdef"

func newSeedCLI(t *testing.T) *seedCLI {
	t.Helper()
	c := newCLI(t)
	c = c.with("SEEDSHIP_REPO", "", "SEEDSHIP_CONFIG", filepath.Join(t.TempDir(), "config"))
	dir := t.TempDir()
	s := &seedCLI{cli: c, svc: newFakeJobs(), staging: filepath.Join(dir, "staging"), src: filepath.Join(dir, "src"),
		account: writeAccountFile(t, testAccountID, "acme"), rng: rand.NewChaCha8([32]byte{5, 6})}
	return s
}

// writeAccountFile writes an account admin's settings file.
func writeAccountFile(t *testing.T, id, name string) string {
	t.Helper()
	key := "ssa_0123456789abcdef_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	b := fmt.Appendf(nil, `{"format":"seedship-account-settings/1","service_url":"https://vault.example:8443","role":"admin","account_id":%q,"name":%q,"api_key":%q,"created":"2025-01-01T00:00:00Z"}`, id, name, key)
	p := filepath.Join(t.TempDir(), name+".json")
	writeFile(t, p, b)
	return p
}

// exec runs one command with stdin and the fake service in its context.
func (s *seedCLI) exec(stdin string, terminal bool, args ...string) result {
	s.t.Helper()
	var stdout, stderr bytes.Buffer
	e := env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, terminal: terminal,
		getenv: func(k string) string { return s.vars[k] }}
	ctx := context.WithValue(context.Background(), jobServiceKey{}, jobServiceFunc(s.svc.client))
	code := run(ctx, e, args)
	return result{args: args, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (s *seedCLI) mustExec(stdin string, args ...string) result {
	s.t.Helper()
	r := s.exec(stdin, false, args...)
	if r.code != exitOK {
		s.t.Fatalf("want exit 0, got\n%s", r)
	}
	return r
}

func (s *seedCLI) mustFail(want string, args ...string) result {
	s.t.Helper()
	r := s.exec("", false, args...)
	if r.code == exitOK || !strings.Contains(r.stderr, want) {
		s.t.Fatalf("want failure mentioning %q, got\n%s", want, r)
	}
	return r
}

// addFiles writes n incompressible files of size bytes into a new
// sub-folder of the source, so that each backup writes its own pack.
func (s *seedCLI) addFiles(sub string, n, size int) {
	for i := range n {
		b := make([]byte, size)
		s.rng.Read(b)
		writeFile(s.t, filepath.Join(s.src, sub, fmt.Sprintf("f%d", i)), b)
	}
}

func (s *seedCLI) offlineArgs(job string) []string {
	return []string{"backup", "--offline", "--staging", s.staging, "--job", job, "--account-settings", s.account,
		"--storage-account", "sa1", "--container", "seed", s.src}
}

func (s *seedCLI) record() *seed.Record {
	s.t.Helper()
	rec, err := seed.Read(s.staging)
	if err != nil {
		s.t.Fatal(err)
	}
	return rec
}

func TestOfflineBackup(t *testing.T) {
	s := newSeedCLI(t)
	s.addFiles("a", 2, 100<<10)
	r := s.mustExec("", s.offlineArgs("seed-1")...)
	for _, want := range []string{"created seedship repository", "snapshot", "seedship diskprep --staging " + s.staging} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("offline backup output lacks %q:\n%s", want, r)
		}
	}
	rec := s.record()
	if rec.Job != "seed-1" || rec.AccountID != testAccountID || rec.StorageAccount != "sa1" || rec.Container != "seed" || len(rec.Snapshots) != 1 {
		t.Errorf("seed record = %+v", rec)
	}
	fi, err := os.Stat(filepath.Join(s.staging, seed.AccountCopyName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("account copy: %v (mode %v), want mode 0600", err, fi.Mode())
	}
	// The staging location is an ordinary repository.
	s.with("SEEDSHIP_REPO", s.staging).ok("check")

	// Continued with the same job: a second snapshot in the same record.
	s.addFiles("b", 1, 50<<10)
	s.mustExec("", s.offlineArgs("seed-1")...)
	if rec := s.record(); len(rec.Snapshots) != 2 {
		t.Errorf("after a second offline backup the record lists %d snapshots, want 2", len(rec.Snapshots))
	}
}

func TestOfflineBackupRefuses(t *testing.T) {
	s := newSeedCLI(t)
	s.addFiles("a", 1, 10<<10)
	args := s.offlineArgs("seed-1")
	s.mustFail("invalid import job name", replaceArg(args, "seed-1", "../x")...)
	s.mustFail("needs --container", replaceArg(args, "seed", "")...)
	s.mustFail("instead of --repo", append([]string{"--repo", t.TempDir()}, args...)...)

	// A name already used in the account.
	s.svc.jobs[testAccountID+"/taken"] = &importjob.Job{Name: "taken", State: importjob.JobShipping}
	s.mustFail("import job taken already exists in account acme", s.offlineArgs("taken")...)
	if _, err := seed.Read(s.staging); !errors.Is(err, seed.ErrNoRecord) {
		t.Errorf("a refused offline backup left a seed record: %v", err)
	}

	// Unreachable service: a warning, and the backup goes on.
	s.svc.down = true
	r := s.mustExec("", args...)
	if !strings.Contains(r.stderr, "warning: could not check") {
		t.Errorf("no warning about the unreachable service:\n%s", r)
	}
	s.svc.down = false
	s.mustFail("staging location of import job seed-1, not seed-2", s.offlineArgs("seed-2")...)
	other := writeAccountFile(t, strings.Repeat("e", 32), "other")
	s.mustFail("belongs to account acme", replaceArg(args, s.account, other)...)

	// A repository that is not a staging location.
	plain := newCLI(t)
	plain.initRepo()
	s.mustFail("not a staging location", replaceArg(args, s.staging, plain.repo)...)
}

func replaceArg(args []string, old, new string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == old {
			out[i] = new
		}
	}
	return out
}

// TestStagingPrivateFiles checks that the seed record, the account
// settings copy and the job key never reach a drive.
func TestStagingPrivateFiles(t *testing.T) {
	s := newSeedCLI(t)
	s.addFiles("a", 1, 10<<10)
	s.mustExec("", s.offlineArgs("seed-1")...)
	d := filepath.Join(t.TempDir(), "d1")
	os.Mkdir(d, 0o755)
	s.mustExec("", "diskprep", "--staging", s.staging, "--drive", d)
	for _, name := range []string{seed.RecordName, seed.AccountCopyName, seed.JobKeyName, drive.JournalName} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			t.Errorf("%s was copied to the drive", name)
		}
	}
}
