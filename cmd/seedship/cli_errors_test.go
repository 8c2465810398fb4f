package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/restorer"
	"github.com/seedship/seedship/internal/treetest"
)

// backedUp is a repository with one snapshot of a generated tree.
type backedUp struct {
	c    *cli
	src  string
	want treetest.Manifest
}

func newBackedUp(t *testing.T) *backedUp {
	t.Helper()
	c := newCLI(t)
	c.initRepo()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	treetest.Build(t, src, treetest.Options{Seed: 5, Small: 4, Big: 700 << 10})
	c.ok("backup", src)
	return &backedUp{c: c, src: src, want: treetest.Scan(t, src)}
}

// restoreAll restores the latest snapshot and compares it with the source.
func (b *backedUp) restoreAll(t *testing.T, c *cli) {
	t.Helper()
	target := t.TempDir()
	c.ok("restore", "latest", "--target", target)
	treetest.Equal(t, b.want, treetest.Scan(t, restoredRoot(target, b.src)))
}

// TestBadRepository covers a wrong password, a missing repository, a
// directory that is not a repository and a second init: each fails with a
// message that names the problem, and the repository stays intact.
func TestBadRepository(t *testing.T) {
	b := newBackedUp(t)
	c := b.c
	c.with("SEEDSHIP_PASSWORD", "not the password").fail(exitFailure, []string{"wrong password", c.repo}, "snapshots")
	c.with("SEEDSHIP_PASSWORD", "not the password").fail(exitFailure, []string{"wrong password"}, "backup", b.src)
	c.with("SEEDSHIP_PASSWORD", "").fail(exitFailure, []string{"no repository password", "SEEDSHIP_PASSWORD"}, "snapshots")
	c.with("SEEDSHIP_PASSWORD", "", "SEEDSHIP_PASSWORD_FILE", filepath.Join(b.src, "nope")).fail(exitFailure, []string{"password file"}, "snapshots")
	c.with("SEEDSHIP_REPO", "").fail(exitFailure, []string{"no repository given", "--repo"}, "snapshots")

	missing := filepath.Join(t.TempDir(), "no-such-repo")
	r := c.with("SEEDSHIP_REPO", missing).fail(exitFailure, []string{missing}, "snapshots")
	if !strings.Contains(r.stderr, "init") {
		t.Errorf("the message for a missing repository does not suggest \"seedship init\":\n%s", r)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("snapshots created the missing repository directory %s", missing)
	}
	c.with("SEEDSHIP_REPO", missing).fail(exitFailure, []string{missing}, "backup", b.src)

	notRepo := t.TempDir()
	writeFile(t, filepath.Join(notRepo, "holiday.jpg"), []byte("not a repository"))
	c.with("SEEDSHIP_REPO", notRepo).fail(exitFailure, []string{"not a seedship repository", notRepo, "init"}, "snapshots")
	c.with("SEEDSHIP_REPO", b.src+"/README.txt").fail(exitFailure, []string{"README.txt"}, "snapshots")

	c.fail(exitFailure, []string{"already holds a seedship repository"}, "init")
	c.ok("check", "--read-data")
	b.restoreAll(t, c)
}

// TestBadArguments covers mistakes on the command line.
func TestBadArguments(t *testing.T) {
	b := newBackedUp(t)
	c := b.c
	for _, tc := range []struct {
		args []string
		msgs []string
	}{
		{[]string{"backup"}, []string{"nothing to back up"}},
		{[]string{"backup", filepath.Join(b.src, "no-such-dir")}, []string{"nothing to back up", "no-such-dir"}},
		{[]string{"restore", "latest"}, []string{"--target"}},
		{[]string{"restore", "deadbeef", "--target", t.TempDir()}, []string{"deadbeef", "seedship snapshots"}},
		{[]string{"restore", "latest", "--target", t.TempDir(), "--include", "["}, []string{"["}},
		{[]string{"dump", "latest", b.src}, []string{"not a regular file"}},
		{[]string{"dump", "latest", b.src + "/no-such-file"}, []string{"no-such-file", "not found"}},
		{[]string{"ls", "latest", "/no/such/path"}, []string{"not found"}},
		{[]string{"check", "--read-data-subset", "150%"}, []string{"percentage"}},
		{[]string{"check", "--read-data", "--read-data-subset", "5%"}, []string{"not both"}},
		{[]string{"no-such-command"}, []string{"unknown command"}},
		{[]string{"backup", "--no-such-flag", b.src}, []string{"unknown flag"}},
	} {
		c.fail(exitFailure, tc.msgs, tc.args...)
	}
	// One path exists, the other not: the snapshot is saved, exit code 3.
	c.fail(exitPartial, []string{"no-such-dir", "could not be read"}, "backup", b.src, filepath.Join(b.src, "..", "no-such-dir"))

	// Restoring onto a directory where the snapshot has a symlink.
	target := t.TempDir()
	if err := os.MkdirAll(filepath.Join(restoredRoot(target, b.src), "link-to-readme"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.fail(exitFailure, []string{"link-to-readme"}, "restore", "latest", "--target", target)
	c.ok("check", "--read-data")
}

// TestUnreadableSourceFile backs up a file whose read fails with EIO:
// /proc/self/mem, which is a regular file even for root, and whose read at
// offset 0 fails (that page is never mapped). The snapshot is saved without
// it, exit code 3, and the file is named on stderr.
func TestUnreadableSourceFile(t *testing.T) {
	if _, err := os.Stat("/proc/self/mem"); err != nil {
		t.Skipf("no /proc/self/mem to fail a read: %v", err)
	}
	b := newBackedUp(t)
	c := b.c
	r := c.fail(exitPartial, []string{"/proc/self/mem", "error"}, "backup", b.src, "/proc/self/mem")
	t.Logf("%s", r)
	if !strings.Contains(r.stderr, "input/output error") {
		t.Errorf("stderr does not say why /proc/self/mem could not be read:\n%s", r)
	}
	snaps := c.snapshots()
	if len(snaps) != 2 || snaps[1].Summary == nil || snaps[1].Summary.Errors != 1 {
		t.Fatalf("snapshots after a partial backup = %+v, want 2 with 1 error in the last", snaps)
	}
	c.fail(exitFailure, []string{"not found"}, "dump", "latest", "/proc/self/mem")
	b.restoreAll(t, c)
	c.ok("check", "--read-data")
}

// damageBlob opens the repository, finds the first chunk of file p in the
// latest snapshot and returns its index entry and the path of its pack.
func damageBlob(t *testing.T, c *cli, p string) (index.Entry, string) {
	t.Helper()
	ctx := context.Background()
	r := openTestRepo(t, c)
	snap, err := r.FindSnapshot(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	n, err := restorer.FindNode(ctx, r, snap.Tree, p)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := r.Index().Lookup(pack.DataBlob, n.Content[0])
	if !ok {
		t.Fatalf("chunk of %s not indexed", p)
	}
	return e, filepath.Join(c.repo, filepath.FromSlash(repo.PackName(e.Pack)))
}

// TestCorruptedPack flips one byte inside a chunk of one file: check
// --read-data names the pack, restoring or dumping that file fails with a
// clear message, and every other file still restores.
func TestCorruptedPack(t *testing.T) {
	b := newBackedUp(t)
	c := b.c
	big := filepath.Join(b.src, "data/big.bin")
	e, packFile := damageBlob(t, c, big)
	data, err := os.ReadFile(packFile)
	if err != nil {
		t.Fatal(err)
	}
	data[e.Offset+e.Length/2] ^= 0x10
	if err := os.WriteFile(packFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	r := c.fail(exitFailure, []string{e.Pack.Short(), "check failed"}, "check", "--read-data")
	if !strings.Contains(r.stdout, "errors") {
		t.Errorf("check --read-data prints no counts:\n%s", r)
	}
	t.Logf("%s", r)
	r = c.fail(exitFailure, nil, "restore", "latest", "--target", t.TempDir(), "--include", big)
	t.Logf("%s", r)
	if !strings.Contains(r.stderr, e.ID.Short()) && !strings.Contains(r.stderr, e.Pack.Short()) && !strings.Contains(r.stderr, "big.bin") {
		t.Errorf("restore of the damaged file names neither the file, the chunk nor the pack:\n%s", r)
	}
	c.fail(exitFailure, []string{e.Pack.Short()}, "dump", "latest", big)

	target := t.TempDir()
	c.ok("restore", "latest", "--target", target, "--exclude", big)
	want := b.want.Without(func(rel string, _ treetest.Entry) bool { return rel == "data/big.bin" })
	treetest.Equal(t, want, treetest.Scan(t, restoredRoot(target, b.src)))
}

// TestTruncatedPack cuts the end off a pack: even a check without
// --read-data notices, and restoring the affected file fails clearly.
func TestTruncatedPack(t *testing.T) {
	b := newBackedUp(t)
	c := b.c
	big := filepath.Join(b.src, "data/big.bin")
	e, packFile := damageBlob(t, c, big)
	fi, err := os.Stat(packFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(packFile, fi.Size()-100); err != nil {
		t.Fatal(err)
	}
	c.fail(exitFailure, []string{e.Pack.Short(), "size"}, "check")
	c.fail(exitFailure, []string{e.Pack.Short()}, "check", "--read-data")
	if err := os.Truncate(packFile, int64(e.Offset)+int64(e.Length)/2); err != nil {
		t.Fatal(err)
	}
	r := c.fail(exitFailure, nil, "restore", "latest", "--target", t.TempDir(), "--include", big)
	t.Logf("%s", r)
	if !strings.Contains(r.stderr, e.Pack.Short()) && !strings.Contains(r.stderr, "big.bin") {
		t.Errorf("restore from a truncated pack names neither the file nor the pack:\n%s", r)
	}
}

// TestOddPaths backs up and restores a directory whose own path holds a
// newline, a tab and invalid UTF-8, into a repository whose path has
// spaces and non-ASCII letters.
func TestOddPaths(t *testing.T) {
	c := newCLI(t)
	c.repo = filepath.Join(t.TempDir(), "my backups ü", "repo")
	c.vars["SEEDSHIP_REPO"] = c.repo
	c.initRepo()
	src := filepath.Join(t.TempDir(), "we\nird\t\xff\xfe dir")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	treetest.Build(t, src, treetest.Options{Seed: 6, Small: 2, Special: true})
	writeFile(t, filepath.Join(src, "-starts-with-dash"), []byte("dash"))
	writeFile(t, filepath.Join(src, "\x01\x7f ctrl"), []byte("ctrl"))
	want := treetest.Scan(t, src)
	c.ok("backup", src)
	second := c.backupJSON(src)
	if second.Summary.FilesUnmodified == 0 || second.Summary.DataAdded != 0 {
		t.Errorf("second backup of the odd path found no parent: %+v", second.Summary)
	}
	snaps := c.snapshots()
	if len(snaps) != 2 || len(snaps[0].Paths) != 1 {
		t.Fatalf("snapshots --json = %+v", snaps)
	}
	if snaps[0].Paths[0] != src {
		t.Errorf("snapshots --json path = %q, want %q (bytes lost)", snaps[0].Paths[0], src)
	}
	text := c.ok("snapshots")
	if n := strings.Count(text.stdout, "\n"); n != 4 {
		t.Errorf("snapshots prints %d lines for 2 snapshots, want 4 (header, 2 rows, count): a raw newline in a path breaks the table:\n%s", n, text.stdout)
	}
	ls := c.ok("ls", "latest")
	for _, l := range strings.Split(strings.TrimSuffix(ls.stdout, "\n"), "\n") {
		if !strings.HasPrefix(l, "/") && !strings.HasPrefix(l, `"/`) {
			t.Errorf("ls prints a line that is not a path: %q", l)
		}
	}
	target := filepath.Join(t.TempDir(), "tar\nget \xff")
	c.ok("restore", "latest", "--target", target)
	treetest.Equal(t, want, treetest.Scan(t, restoredRoot(target, src)))
	d := c.ok("dump", "latest", filepath.Join(src, treetest.OddName))
	if d.stdout != "a name no terminal likes\n" {
		t.Errorf("dump of the odd name = %q", d.stdout)
	}
	c.ok("check", "--read-data")
}
