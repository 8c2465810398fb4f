package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/vault"
)

// pruneFixture is a running service with one vault of two registered
// machines: machine 1 has three snapshots of a changing folder, machine 2
// one of its own.
type pruneFixture struct {
	data, tmp string
	mc        [2]*vault.MachineConfig
	st        [2]store.Store // each machine's vault client
	src       string
	snaps     []*snapshot.Snapshot // machine 1's, oldest first
	last      map[string]string    // machine 1's folder at its last backup
	pwFile    string
}

func newPruneFixture(t *testing.T) *pruneFixture {
	t.Helper()
	ctx := context.Background()
	f := &pruneFixture{data: filepath.Join(t.TempDir(), "service"), tmp: t.TempDir()}
	srv := startServe(t, f.data)
	mustRun(t, "account", "create", "--data", f.data, "acme", "--out", filepath.Join(f.tmp, "acme.json"), "--url", srv.url)
	mustRun(t, "vault", "create", "--data", f.data, "--account", "acme", "web")
	for i := range f.mc {
		n := string(rune('1' + i))
		cred := filepath.Join(f.tmp, "cred"+n)
		mustRun(t, "vault", "credentials", "--data", f.data, "--account", "acme", "web", "--out", cred, "--url", srv.url)
		mc, err := vault.Register(ctx, cred, filepath.Join(f.tmp, "config"+n))
		if err != nil {
			t.Fatalf("register machine %s: %v", n, err)
		}
		if f.st[i], err = vault.OpenStore(ctx, mc); err != nil {
			t.Fatal(err)
		}
		f.mc[i] = mc
	}
	f.pwFile = filepath.Join(f.tmp, "password")
	writeFile(t, f.pwFile, append(password, '\n'))

	f.src = filepath.Join(f.tmp, "src")
	r1 := initRepo(t, f.st[0])
	writeFile(t, filepath.Join(f.src, "kept.bin"), seeded(1, 200<<10))
	var parent *snapshot.Snapshot
	for i := range 3 {
		writeFile(t, filepath.Join(f.src, "changing.bin"), seeded(uint64(10+i), 300<<10))
		writeFile(t, filepath.Join(f.src, "note.txt"), []byte("backup "+string(rune('1'+i))+"\n"))
		parent = backup(t, r1, f.src, parent)
		f.snaps = append(f.snaps, parent)
	}
	f.last = readTree(t, f.src)

	other := filepath.Join(f.tmp, "other")
	writeFile(t, filepath.Join(other, "m2.bin"), seeded(99, 100<<10))
	backup(t, initRepo(t, f.st[1]), other, nil)
	return f
}

func initRepo(t *testing.T, st store.Store) *repo.Repository {
	t.Helper()
	r, err := repo.Init(context.Background(), st, password, repo.Options{KDF: crypto.TestKDF()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func seeded(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// prune runs vault prune on the fixture's vault with args added.
func (f *pruneFixture) prune(t *testing.T, args ...string) result {
	t.Helper()
	return seedshipd(t, append([]string{"vault", "prune", "--data", f.data, "--account", "acme", "web"}, args...)...)
}

// objects lists machine i's repository as the service stores it.
func (f *pruneFixture) objects(t *testing.T, i int) map[string]int64 {
	t.Helper()
	st, err := local.Open(filepath.Join(f.data, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	err = st.List(context.Background(), vault.RepoPrefix(f.mc[i].VaultID, f.mc[i].MachineID), func(fi store.Info) error {
		out[fi.Name] = fi.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("machine %d's repository is empty: wrong prefix?", i+1)
	}
	return out
}

func countPrefix(objs map[string]int64, p string) int {
	n := 0
	for name := range objs {
		if strings.Contains(name, "/machines/") && strings.Contains(name, "/"+p) {
			n++
		}
	}
	return n
}

func TestVaultPrune(t *testing.T) {
	f := newPruneFixture(t)
	m1 := f.mc[0].MachineID
	before1, before2 := f.objects(t, 0), f.objects(t, 1)

	refusals(t, f)

	dry := f.prune(t, "--machine", m1, "--password-file", f.pwFile, "--keep-last", "1", "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, "2 snapshot(s) would be removed, 1 kept") ||
		!strings.Contains(dry.stdout, "would remove") || !strings.Contains(dry.stdout, "nothing was changed") {
		t.Errorf("vault prune --dry-run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if diff := cmp.Diff(before1, f.objects(t, 0)); diff != "" {
		t.Errorf("vault prune --dry-run changed machine 1's repository (-before +after):\n%s", diff)
	}

	// A backup in progress holds a shared lock: prune refuses to run.
	checkLockedOut(t, f)

	res := f.prune(t, "--machine", m1, "--password-file", f.pwFile, "--keep-last", "1")
	if res.code != 0 || !strings.Contains(res.stdout, "2 snapshot(s) removed, 1 kept") || !strings.Contains(res.stdout, "freed") {
		t.Fatalf("vault prune: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, s := range f.snaps[:2] {
		if !strings.Contains(res.stdout, "remove "+s.ID.Short()) {
			t.Errorf("vault prune output does not name removed snapshot %s:\n%s", s.ID.Short(), res.stdout)
		}
	}
	if strings.Contains(res.stderr, string(password)) || strings.Contains(res.stdout, string(password)) {
		t.Errorf("vault prune printed the password")
	}
	after1 := f.objects(t, 0)
	if b, a := countPrefix(before1, "data/"), countPrefix(after1, "data/"); a >= b {
		t.Errorf("machine 1 has %d packs after prune, %d before: want fewer\n%s", a, b, res.stdout)
	}
	if n := countPrefix(after1, "locks/"); n != 0 {
		t.Errorf("vault prune left %d lock(s)", n)
	}
	if diff := cmp.Diff(before2, f.objects(t, 1)); diff != "" {
		t.Errorf("vault prune of machine 1 changed machine 2's repository (-before +after):\n%s", diff)
	}
	checkPruned(t, f)
}

// refusals: every bad invocation fails with a message that says what to
// do, and changes nothing.
func refusals(t *testing.T, f *pruneFixture) {
	m1 := f.mc[0].MachineID
	wrong := filepath.Join(f.tmp, "wrong")
	writeFile(t, wrong, []byte("not the password\n"))
	host, _ := os.Hostname()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no policy", []string{"--machine", m1, "--password-file", f.pwFile}, "no policy given"},
		{"bad duration", []string{"--machine", m1, "--password-file", f.pwFile, "--keep-within", "7 days"}, "7d"},
		{"no password", []string{"--machine", m1, "--keep-last", "1"}, "--password-file"},
		{"wrong password", []string{"--machine", m1, "--password-file", wrong, "--keep-last", "1"}, "wrong password"},
		{"two machines", []string{"--password-file", f.pwFile, "--keep-last", "1"}, "has 2 machines: choose one with --machine"},
		{"unknown machine", []string{"--machine", "nope", "--password-file", f.pwFile, "--keep-last", "1"}, `no machine "nope" (see seedshipd vault machines`},
		{"ambiguous hostname", []string{"--machine", host, "--password-file", f.pwFile, "--keep-last", "1"}, "give the machine id"},
	} {
		if r := f.prune(t, c.args...); r.code != exitFailure || !strings.Contains(r.stderr, c.want) {
			t.Errorf("vault prune, %s: exit %d, %q; want %d and %q", c.name, r.code, r.stderr, exitFailure, c.want)
		}
	}
	pw := []string{"--password-file", f.pwFile, "--keep-last", "1"}
	if r := seedshipd(t, append([]string{"vault", "prune", "--data", f.data, "--account", "acme", "nope"}, pw...)...); r.code == 0 || !strings.Contains(r.stderr, "see seedshipd vault list") {
		t.Errorf("vault prune of an unknown vault: exit %d, %q", r.code, r.stderr)
	}
	if r := seedshipd(t, append([]string{"vault", "prune", "--data", f.data, "--account", "nobody", "web"}, pw...)...); r.code == 0 || !strings.Contains(r.stderr, "no account") {
		t.Errorf("vault prune of an unknown account: exit %d, %q", r.code, r.stderr)
	}
	if n := len(snapshotsOf(t, f.st[0])); n != 3 {
		t.Fatalf("after refused prunes machine 1 has %d snapshots, want 3", n)
	}
}

// checkLockedOut: while machine 1 holds a lock, prune fails with the lock
// message; once released the lock is gone.
func checkLockedOut(t *testing.T, f *pruneFixture) {
	ctx := context.Background()
	r, err := repo.Open(ctx, f.st[0], password, repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	res := f.prune(t, "--machine", f.mc[0].MachineID, "--password-file", f.pwFile, "--keep-last", "1")
	if err := lock.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if res.code != exitFailure || !strings.Contains(res.stderr, "locked") {
		t.Errorf("vault prune during a backup: exit %d, %q; want the lock message", res.code, res.stderr)
	}
	if n := len(snapshotsOf(t, f.st[0])); n != 3 {
		t.Fatalf("prune refused by the lock left %d snapshots, want 3", n)
	}
}

// checkPruned: through the vault (serve still running), machine 1 has its
// newest snapshot only, the repository checks clean with all data read,
// and the snapshot restores bit-exact.
func checkPruned(t *testing.T, f *pruneFixture) {
	ctx := context.Background()
	snaps := snapshotsOf(t, f.st[0])
	if len(snaps) != 1 || snaps[0].ID != f.snaps[2].ID {
		t.Fatalf("after vault prune --keep-last 1: snapshots %v, want only %s", snaps, f.snaps[2].ID.Short())
	}
	r, err := repo.Open(ctx, f.st[0], password, repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := checker.Check(ctx, r, checker.Options{ReadData: true})
	if err != nil || !rep.OK() {
		t.Fatalf("check --read-data after vault prune: %v, report %+v", err, rep)
	}
	target := filepath.Join(f.tmp, "restore")
	restore(t, r, snaps[0], target)
	if diff := cmp.Diff(f.last, readTree(t, filepath.Join(target, f.src))); diff != "" {
		t.Errorf("restore after vault prune differs (-want +got):\n%s", diff)
	}
	// The machine backs up again as usual.
	backup(t, r, f.src, snaps[0])
}

func snapshotsOf(t *testing.T, st store.Store) []*snapshot.Snapshot {
	t.Helper()
	r, err := repo.Open(context.Background(), st, password, repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := r.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snaps
}

// TestVaultPruneSingleMachine: with one machine --machine is not needed,
// SEEDSHIP_PASSWORD gives the password, and a machine without a
// repository yet is named as such.
func TestVaultPruneSingleMachine(t *testing.T) {
	data := filepath.Join(t.TempDir(), "service")
	tmp := t.TempDir()
	srv := startServe(t, data)
	mustRun(t, "account", "create", "--data", data, "acme", "--out", filepath.Join(tmp, "acme.json"), "--url", srv.url)
	mustRun(t, "vault", "create", "--data", data, "--account", "acme", "web")
	args := []string{"vault", "prune", "--data", data, "--account", "acme", "web", "--keep-daily", "7"}
	getenv := func(k string) string {
		if k == "SEEDSHIP_PASSWORD" {
			return string(password)
		}
		return ""
	}
	if r := runEnv(getenv, args...); r.code != exitFailure || !strings.Contains(r.stderr, "no machines") {
		t.Errorf("vault prune of a vault without machines: exit %d, %q", r.code, r.stderr)
	}
	cred := filepath.Join(tmp, "cred")
	mustRun(t, "vault", "credentials", "--data", data, "--account", "acme", "web", "--out", cred, "--url", srv.url)
	mc, err := vault.Register(context.Background(), cred, filepath.Join(tmp, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if r := runEnv(getenv, args...); r.code != exitFailure || !strings.Contains(r.stderr, "has no repository yet") {
		t.Errorf("vault prune of a machine that never backed up: exit %d, %q", r.code, r.stderr)
	}
	st, err := vault.OpenStore(context.Background(), mc)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(tmp, "src")
	writeFile(t, filepath.Join(src, "a.txt"), []byte("hello\n"))
	backup(t, initRepo(t, st), src, nil)
	r := runEnv(getenv, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "0 snapshot(s) removed, 1 kept") || !strings.Contains(r.stdout, mc.MachineID) {
		t.Errorf("vault prune --keep-daily 7 of the only machine: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// runEnv runs the command line in-process with getenv as its environment.
func runEnv(getenv func(string) string, args ...string) result {
	var out, errb lockedBuffer
	code := run(context.Background(), env{stdout: &out, stderr: &errb, getenv: getenv}, args)
	return result{code, out.String(), errb.String()}
}
