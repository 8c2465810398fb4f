package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seedship/seedship/internal/treetest"
)

// TestBackupRestoreRoundTrip backs up a tree holding every kind of node and
// restores it bit-exact: content, modes, owners, nanosecond mtimes, symlinks,
// hard links, an empty directory, a name with a newline and invalid UTF-8, a
// sparse file that stays sparse, user xattrs and a FIFO (recorded, never
// opened: the backup does not hang on it).
func TestBackupRestoreRoundTrip(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	treetest.Build(t, src, treetest.Options{Seed: 1, Small: 4, Big: 1 << 20, Special: true})
	want := treetest.Scan(t, src)

	b := c.ok("backup", src)
	for _, s := range []string{"files:", "snapshot ", "saved"} {
		if !strings.Contains(b.stdout, s) {
			t.Errorf("backup output lacks %q:\n%s", s, b)
		}
	}
	if b.stderr != "" {
		t.Errorf("backup wrote to stderr:\n%s", b)
	}

	target := t.TempDir()
	r := c.ok("restore", "latest", "--target", target)
	if !strings.Contains(r.stdout, "restored snapshot") {
		t.Errorf("restore output lacks a summary:\n%s", r)
	}
	treetest.Equal(t, want, treetest.Scan(t, restoredRoot(target, src)))
	srcBlocks := allocated(t, filepath.Join(src, treetest.SparseName))
	if got := allocated(t, filepath.Join(restoredRoot(target, src), treetest.SparseName)); got > 2*srcBlocks+(64<<10) {
		t.Errorf("restored sparse file allocates %d bytes, the original %d", got, srcBlocks)
	}

	t.Run("verify", func(t *testing.T) {
		c := c.on(t)
		r := c.ok("restore", "latest", "--verify", "--target", t.TempDir())
		if !strings.Contains(r.stdout, "0 mismatched") {
			t.Errorf("restore --verify output lacks \"0 mismatched\":\n%s", r)
		}
	})
	t.Run("ls", func(t *testing.T) { testLs(t, c.on(t), src) })
	t.Run("dump", func(t *testing.T) {
		c := c.on(t)
		for _, rel := range []string{"README.txt", "data/big.bin", treetest.SparseName, treetest.OddName, "empty.txt"} {
			d := c.ok("dump", "latest", filepath.Join(src, rel))
			content, err := os.ReadFile(filepath.Join(src, rel))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal([]byte(d.stdout), content) {
				t.Errorf("dump %q: %d bytes differ from the %d of the file", rel, len(d.stdout), len(content))
			}
		}
	})
	t.Run("check", func(t *testing.T) {
		c := c.on(t)
		for _, args := range [][]string{{"check"}, {"check", "--read-data"}, {"check", "--read-data-subset", "50%"}} {
			r := c.ok(args...)
			if !strings.Contains(r.stdout, "no errors were found") {
				t.Errorf("%s output lacks \"no errors were found\":\n%s", strings.Join(args, " "), r)
			}
		}
	})
}

// allocated returns the bytes allocated to a file (st_blocks * 512).
func allocated(t *testing.T, p string) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func testLs(t *testing.T, c *cli, src string) {
	r := c.ok("ls", "latest")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	got := map[string]bool{}
	for _, l := range lines {
		got[l] = true
	}
	for _, rel := range []string{"README.txt", "data/hard-b", "empty-dir", "fifo", "link-to-readme"} {
		if p := filepath.Join(src, rel); !got[p] {
			t.Errorf("ls latest lacks %q", p)
		}
	}
	// The name with a newline must stay on one line, quoted.
	odd := filepath.Join(src, treetest.OddName)
	if got[odd] {
		t.Errorf("ls prints the name with a newline unquoted")
	}
	if q := quotePath(odd); !got[q] {
		t.Errorf("ls lacks the quoted odd name %s:\n%s", q, r.stdout)
	}
	long := c.ok("ls", "latest", src, "--long")
	if !strings.Contains(long.stdout, "link-to-readme -> README.txt") {
		t.Errorf("ls --long lacks the symlink target:\n%s", long.stdout)
	}
	if !strings.Contains(long.stdout, "-rw-r-----") {
		t.Errorf("ls --long lacks the mode of mode0640.txt:\n%s", long.stdout)
	}
}

// TestBackupJSON checks that "backup --json" prints line-delimited JSON
// ending with one summary object, and that "snapshots --json" parses and
// agrees with it.
func TestBackupJSON(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	src := t.TempDir()
	treetest.Build(t, src, treetest.Options{Seed: 2, Small: 5})
	sum := c.backupJSON("--tag", "nightly", src)
	if sum.Summary.FilesNew == 0 || sum.Summary.DataAdded == 0 || sum.Errors != 0 {
		t.Errorf("first backup summary = %+v, want new files and data", sum)
	}
	snaps := c.snapshots()
	if len(snaps) != 1 {
		t.Fatalf("snapshots --json lists %d snapshots, want 1", len(snaps))
	}
	s := snaps[0]
	if s.ID != sum.SnapshotID || !strings.HasPrefix(s.ID, s.ShortID) {
		t.Errorf("snapshots --json id %q / short %q, backup said %q", s.ID, s.ShortID, sum.SnapshotID)
	}
	if len(s.Paths) != 1 || s.Paths[0] != src || len(s.Tags) != 1 || s.Tags[0] != "nightly" || s.Parent != "" {
		t.Errorf("snapshots --json = %+v, want paths [%s], tags [nightly], no parent", s, src)
	}
	if s.Summary == nil || s.Summary.FilesNew != sum.Summary.FilesNew {
		t.Errorf("snapshots --json summary = %+v, want files_new %d", s.Summary, sum.Summary.FilesNew)
	}
	text := c.ok("snapshots")
	if !strings.Contains(text.stdout, s.ShortID) || !strings.Contains(text.stdout, "1 snapshot(s)") {
		t.Errorf("snapshots output lacks the snapshot:\n%s", text)
	}
}

// TestIncrementalBackup checks that a second backup of the same paths finds
// its parent by itself and reads no unchanged file, and that a changed
// file is read again.
func TestIncrementalBackup(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	src := t.TempDir()
	treetest.Build(t, src, treetest.Options{Seed: 3, Small: 6, Big: 300 << 10, Special: true})
	first := c.backupJSON(src)
	files := first.Summary.FilesNew

	second := c.backupJSON(src)
	s := second.Summary
	if s.FilesUnmodified != files || s.FilesNew != 0 || s.FilesChanged != 0 || s.DataAdded != 0 || s.DataBlobs != 0 {
		t.Errorf("unchanged second backup: summary %+v, want all %d files unmodified and no data added", s, files)
	}
	snaps := c.snapshots()
	if len(snaps) != 2 || snaps[1].Parent != first.SnapshotID {
		t.Fatalf("second snapshot's parent = %q, want the first %q", snaps[len(snaps)-1].Parent, first.SnapshotID)
	}

	treetest.Touch(t, src, "README.txt", []byte("changed content\n"))
	third := c.backupJSON(src)
	if t3 := third.Summary; t3.FilesChanged != 1 || t3.FilesUnmodified != files-1 || t3.DataBlobs != 1 {
		t.Errorf("backup after changing one file: summary %+v, want 1 changed, %d unmodified, 1 blob", t3, files-1)
	}
	force := c.backupJSON("--force", src)
	if f := force.Summary; f.FilesUnmodified != 0 || f.DataAdded != 0 {
		t.Errorf("backup --force: summary %+v, want every file read and nothing added", f)
	}
	want := treetest.Scan(t, src)
	target := t.TempDir()
	c.ok("restore", "latest", "--target", target)
	treetest.Equal(t, want, treetest.Scan(t, restoredRoot(target, src)))
}

// TestRelativePaths backs up "." and then the same directory by its
// absolute path: both name the same snapshot path, so the second backup
// finds the first as its parent.
func TestRelativePaths(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	src := t.TempDir()
	treetest.Build(t, src, treetest.Options{Seed: 7, Small: 3})
	t.Chdir(src)
	first := c.backupJSON(".")
	second := c.backupJSON(src + "/")
	if second.Summary.FilesUnmodified != first.Summary.FilesNew || second.Summary.DataAdded != 0 {
		t.Errorf("backup of %s/ after backup of \".\" there: %+v, want every file unmodified", src, second.Summary)
	}
	if snaps := c.snapshots(); snaps[1].Parent != first.SnapshotID || snaps[0].Paths[0] != src {
		t.Errorf("snapshots = %+v, want paths [%s] and the first as parent of the second", snaps, src)
	}
}

// TestStdinBackup backs up standard input under a file name and dumps it.
func TestStdinBackup(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	var in bytes.Buffer
	for i := range 50000 {
		in.WriteString("INSERT INTO t VALUES (")
		in.WriteString(strings.Repeat("x", i%17))
		in.WriteString(");\n")
	}
	data := bytes.Clone(in.Bytes())
	r := c.runStdin(&in, "backup", "--stdin", "--stdin-filename", "db.sql")
	if r.code != exitOK {
		t.Fatalf("backup --stdin:\n%s", r)
	}
	snaps := c.snapshots()
	if len(snaps) != 1 || len(snaps[0].Paths) != 1 || snaps[0].Paths[0] != "/db.sql" {
		t.Fatalf("stdin snapshot paths = %+v, want [/db.sql]", snaps)
	}
	d := c.ok("dump", "latest", "/db.sql")
	if d.stdout != string(data) {
		t.Errorf("dump latest /db.sql: %d bytes, want the %d bytes of the input", len(d.stdout), len(data))
	}
	r = c.runStdin(strings.NewReader("nested\n"), "backup", "--stdin", "--stdin-filename", "dumps/2026/db.sql")
	if r.code != exitOK {
		t.Fatalf("backup --stdin with a nested name:\n%s", r)
	}
	if d := c.ok("dump", "latest", "/dumps/2026/db.sql"); d.stdout != "nested\n" {
		t.Errorf("dump of the nested stdin file = %q, want %q", d.stdout, "nested\n")
	}
	c.fail(exitFailure, []string{"--stdin"}, "backup", "--stdin", "/etc")
	c.fail(exitFailure, []string{"stdin file name", "a/../b"}, "backup", "--stdin", "--stdin-filename", "a/../b")
}

// TestExcludes checks --exclude, --exclude-file and --exclude-if-present.
func TestExcludes(t *testing.T) {
	c := newCLI(t)
	c.initRepo()
	src := t.TempDir()
	for _, rel := range []string{"keep.txt", "drop.tmp", "sub/keep.txt", "sub/drop.tmp", "cache/x.bin",
		"logs/a.log", "marked/.nobackup", "marked/secret.txt", "deep/er/marked/.nobackup", "deep/er/keep.txt"} {
		writeFile(t, filepath.Join(src, rel), []byte(rel))
	}
	exFile := filepath.Join(t.TempDir(), "excludes")
	writeFile(t, exFile, []byte("# comment line\n\n*.log\n  cache/  \n"))
	c.ok("backup", "--exclude", "*.tmp", "--exclude-file", exFile, "--exclude-if-present", ".nobackup", src)
	ls := c.ok("ls", "latest", src)
	got := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(ls.stdout), "\n") {
		rel, _ := filepath.Rel(src, l)
		got[rel] = true
	}
	for _, rel := range []string{"keep.txt", "sub/keep.txt", "deep/er/keep.txt", "logs"} {
		if !got[rel] {
			t.Errorf("%s is missing from the snapshot", rel)
		}
	}
	for _, rel := range []string{"drop.tmp", "sub/drop.tmp", "cache", "cache/x.bin", "logs/a.log", "marked", "marked/secret.txt", "deep/er/marked"} {
		if got[rel] {
			t.Errorf("%s is in the snapshot, but excluded", rel)
		}
	}
	c.fail(exitFailure, []string{"exclude"}, "backup", "--exclude", "[", src)
	c.fail(exitFailure, []string{"exclude file", "no-such-file"}, "backup", "--exclude-file", filepath.Join(src, "no-such-file"), src)
}
