package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/treetest"
)

// TestHelpHasExamples runs "--help" for every command of the tree and
// checks that each shows examples.
func TestHelpHasExamples(t *testing.T) {
	c := newCLI(t)
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		for _, sub := range cmd.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			t.Run(strings.Join(p, "_"), func(t *testing.T) {
				r := c.on(t).ok(append(p, "--help")...)
				if !strings.Contains(r.stdout, "Example") {
					t.Errorf("seedship %s --help shows no examples:\n%s", strings.Join(p, " "), r.stdout)
				}
			})
			walk(sub, p)
		}
	}
	root := newRootCmd(env{getenv: func(string) string { return "" }})
	if r := c.ok("--help"); !strings.Contains(r.stdout, "Example") {
		t.Errorf("seedship --help shows no examples:\n%s", r.stdout)
	}
	walk(root, nil)
}

// TestKeyCommands adds, lists, removes and changes passwords.
func TestKeyCommands(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	keys := listKeys(t, c)
	if len(keys) != 1 || !keys[0].current {
		t.Fatalf("key list after init = %+v, want one current key", keys)
	}
	first := keys[0].id

	add := c.with("SEEDSHIP_NEW_PASSWORD", "second password").ok("key", "add")
	if !strings.HasPrefix(add.stdout, "added key ") {
		t.Errorf("key add output = %q", add.stdout)
	}
	second := c.with("SEEDSHIP_PASSWORD", "second password")
	second.ok("snapshots")
	if keys = listKeys(t, second); len(keys) != 2 {
		t.Fatalf("key list after add = %+v, want two keys", keys)
	}
	var secondID string
	for _, k := range keys {
		if k.current {
			secondID = k.id
		}
	}
	if secondID == "" || secondID == first {
		t.Fatalf("key list with the second password marks %q as current, want a new key", secondID)
	}

	c.fail(exitFailure, []string{first}, "key", "remove", first)
	c.fail(exitFailure, []string{"matches 0 keys"}, "key", "remove", "ffffffffff")
	c.fail(exitFailure, []string{"matches 2 keys"}, "key", "remove", "")
	if r := c.ok("key", "remove", secondID); !strings.Contains(r.stdout, "removed key "+secondID) {
		t.Errorf("key remove output = %q", r.stdout)
	}
	second.fail(exitFailure, []string{"wrong password"}, "snapshots")
	c.fail(exitFailure, []string{"last key"}, "key", "remove", first)

	pwFile := filepath.Join(t.TempDir(), "pw")
	writeFile(t, pwFile, []byte("third password\n"))
	if r := c.ok("key", "passwd", "--new-password-file", pwFile); !strings.Contains(r.stdout, "password changed") {
		t.Errorf("key passwd output = %q", r.stdout)
	}
	c.fail(exitFailure, []string{"wrong password"}, "snapshots")
	third := c.with("SEEDSHIP_PASSWORD", "", "SEEDSHIP_PASSWORD_FILE", pwFile)
	third.ok("snapshots")
	if keys = listKeys(t, third); len(keys) != 1 || keys[0].id == first {
		t.Errorf("key list after passwd = %+v, want one new key", keys)
	}
	// Without a new password the message must say how to give one, not
	// point at SEEDSHIP_PASSWORD, which holds the current password.
	r := third.fail(exitFailure, nil, "key", "add")
	if !strings.Contains(r.stderr, "new-password-file") && !strings.Contains(r.stderr, "SEEDSHIP_NEW_PASSWORD") {
		t.Errorf("key add without a new password does not say how to give one:\n%s", r)
	}
}

type keyRow struct {
	id      string
	current bool
}

func listKeys(t *testing.T, c *cli) []keyRow {
	t.Helper()
	r := c.ok("key", "list")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var out []keyRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		k := keyRow{id: f[0]}
		if f[0] == "*" {
			k = keyRow{id: f[1], current: true}
		}
		out = append(out, k)
	}
	return out
}

// TestForgetPrune removes old snapshots and their data, and the repository
// stays complete.
func TestForgetPrune(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	src := t.TempDir()
	treetest.Build(t, src, treetest.Options{Seed: 4, Small: 3})
	for i := range 3 {
		writeFile(t, filepath.Join(src, "big.bin"), randomBytes(uint64(i), 600<<10))
		c.ok("backup", src)
	}
	want := treetest.Scan(t, src)
	c.fail(exitFailure, []string{"--keep-"}, "forget")
	c.fail(exitFailure, []string{"duration", "7d"}, "forget", "--keep-within", "7 days")

	dry := c.ok("forget", "--keep-last", "1", "--dry-run")
	if !strings.Contains(dry.stdout, "2 snapshot(s) would be removed") {
		t.Errorf("forget --dry-run output:\n%s", dry)
	}
	if n := len(c.snapshots()); n != 3 {
		t.Fatalf("forget --dry-run left %d snapshots, want 3", n)
	}
	var plan struct {
		Keep, Remove []string
		DryRun       bool `json:"dry_run"`
	}
	js := c.ok("forget", "--keep-last", "1", "--dry-run", "--json")
	if err := json.Unmarshal([]byte(strings.SplitN(js.stdout, "\n", 2)[0]), &plan); err != nil || len(plan.Keep) != 1 || len(plan.Remove) != 2 || !plan.DryRun {
		t.Errorf("forget --json = %+v (%v):\n%s", plan, err, js)
	}

	before := dirSize(t, filepath.Join(c.repo, "data"))
	f := c.ok("forget", "--keep-last", "1")
	if !strings.Contains(f.stdout, "2 snapshot(s) removed, 1 kept") {
		t.Errorf("forget output:\n%s", f)
	}
	if n := len(c.snapshots()); n != 1 {
		t.Fatalf("forget --keep-last 1 left %d snapshots", n)
	}
	p := c.ok("prune")
	if !strings.Contains(p.stdout, "freed") {
		t.Errorf("prune output:\n%s", p)
	}
	if after := dirSize(t, filepath.Join(c.repo, "data")); after >= before-(1<<20) {
		t.Errorf("prune freed %d bytes of packs, want the two forgotten 600 KiB files", before-after)
	}
	c.ok("check", "--read-data")
	target := t.TempDir()
	c.ok("restore", "latest", "--target", target)
	treetest.Equal(t, want, treetest.Scan(t, restoredRoot(target, src)))

	c.ok("backup", src)
	c.ok("forget", "--keep-last", "1", "--prune")
	c.ok("check", "--read-data")
}

// TestUnlock covers live and stale locks of other processes.
func TestUnlock(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("x"))
	r := openTestRepo(t, c)

	addLock(t, r, repo.LockInfo{Time: time.Now(), Exclusive: true, Host: "otherhost", PID: 1})
	c.fail(exitFailure, []string{"locked", "otherhost"}, "backup", src)
	if u := c.ok("unlock"); !strings.Contains(u.stdout, "0 lock(s) removed") {
		t.Errorf("unlock removed a live lock:\n%s", u)
	}
	if u := c.ok("unlock", "--remove-all"); !strings.Contains(u.stdout, "1 lock(s) removed") {
		t.Errorf("unlock --remove-all:\n%s", u)
	}
	c.ok("backup", src)

	addLock(t, r, repo.LockInfo{Time: time.Now().Add(-2 * time.Hour), Exclusive: true, Host: "otherhost", PID: 1})
	if u := c.ok("unlock"); !strings.Contains(u.stdout, "1 lock(s) removed") {
		t.Errorf("unlock of a stale lock:\n%s", u)
	}
	addLock(t, r, repo.LockInfo{Time: time.Now().Add(-2 * time.Hour), Exclusive: true, Host: "otherhost", PID: 1})
	c.ok("backup", src) // removes the stale lock itself
	if ids, err := r.List(context.Background(), repo.KindLocks); err != nil || len(ids) != 0 {
		t.Errorf("locks after a backup = %v, %v; want none", ids, err)
	}
}

func openTestRepo(t *testing.T, c *cli) *repo.Repository {
	t.Helper()
	st, err := local.Open(c.repo)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(context.Background(), st, []byte(c.vars["SEEDSHIP_PASSWORD"]), repo.Options{KDF: crypto.TestKDF()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func addLock(t *testing.T, r *repo.Repository, li repo.LockInfo) {
	t.Helper()
	b, err := json.Marshal(li)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.SaveUnpacked(context.Background(), repo.KindLocks, b); err != nil {
		t.Fatal(err)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n
}
