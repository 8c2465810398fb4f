package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/seedship/seedship/internal/treetest"
)

// The frozen repository under testdata/frozen-v1 was written once by
// "go test ./cmd/seedship -run TestFrozenRepository -update-frozen" and is
// never regenerated: every later seedship must open, list, restore and
// check it, so that repositories written today stay readable forever.
var updateFrozen = flag.Bool("update-frozen", false, "regenerate testdata/frozen-v1 (never needed unless the format version changes)")

const (
	frozenDir      = "../../testdata/frozen-v1"
	frozenPassword = "seedship frozen repository v1"
	frozenMaxBytes = 1 << 20
)

// frozenSnapshot is what expected.json says about one snapshot.
type frozenSnapshot struct {
	ID   string `json:"id"`
	Path string `json:"path"` // the backed-up directory
	// Files maps paths relative to Path to what a restore must reproduce.
	// A path that is not valid UTF-8 is written Go-quoted (see frozenKey).
	Files map[string]treetest.Entry `json:"files"`
}

// frozenKey returns p as a JSON object key without losing bytes: as it is
// when it is valid UTF-8, else strconv.Quote'd (no real name starts with
// a double quote).
func frozenKey(p string) string {
	if utf8.ValidString(p) {
		return p
	}
	return strconv.Quote(p)
}

// TestFrozenRepository opens a copy of the frozen repository, lists its
// two snapshots, restores both bit-exact (content SHA-256, modes, mtimes,
// symlinks, hard links, the sparse file, xattrs) and checks it with
// --read-data.
func TestFrozenRepository(t *testing.T) {
	if *updateFrozen {
		generateFrozen(t)
	}
	b, err := os.ReadFile(filepath.Join(frozenDir, "expected.json"))
	if err != nil {
		t.Fatalf("%v (generate it once with -update-frozen)", err)
	}
	var want []frozenSnapshot
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if size := treeBytes(t, frozenDir); size > frozenMaxBytes {
		t.Errorf("testdata/frozen-v1 holds %d bytes, want at most %d", size, frozenMaxBytes)
	}
	c := newCLI(t).with("SEEDSHIP_PASSWORD", frozenPassword, "SEEDSHIP_INSECURE_TEST_KDF", "")
	copyTree(t, filepath.Join(frozenDir, "repo"), c.repo)

	snaps := c.snapshots()
	if len(snaps) != len(want) {
		t.Fatalf("snapshots lists %d snapshots, want %d", len(snaps), len(want))
	}
	for i, w := range want {
		if snaps[i].ID != w.ID || !slices.Equal(snaps[i].Paths, []string{w.Path}) {
			t.Errorf("snapshot %d = %s %q, want %s %q", i, snaps[i].ID, snaps[i].Paths, w.ID, w.Path)
		}
		target := t.TempDir()
		c.ok("restore", w.ID, "--target", target)
		wantFiles := unquoteManifest(t, w.Files)
		adjustForHost(t, target, wantFiles)
		treetest.Equal(t, wantFiles, treetest.Scan(t, restoredRoot(target, w.Path)))
	}
	d := c.ok("dump", want[0].ID, want[0].Path+"/README.txt")
	if sum := sha256.Sum256([]byte(d.stdout)); hex.EncodeToString(sum[:]) != want[0].Files["README.txt"].SHA256 {
		t.Errorf("dump of README.txt from the first snapshot differs")
	}
	if r := c.ok("check", "--read-data"); !strings.Contains(r.stdout, "no errors were found") {
		t.Errorf("check --read-data:\n%s", r)
	}
}

// adjustForHost drops from want what this host cannot restore: user xattrs
// on a file system without them, owners when not root.
func adjustForHost(t *testing.T, target string, want treetest.Manifest) {
	probe := filepath.Join(target, ".xattr-probe")
	writeFile(t, probe, nil)
	xattrs := !errors.Is(unix.Lsetxattr(probe, "user.probe", []byte("x"), 0), unix.ENOTSUP)
	if err := os.Remove(probe); err != nil {
		t.Fatal(err)
	}
	if !xattrs {
		t.Logf("%s has no user xattrs: not comparing them", target)
	}
	for p, e := range want {
		if !xattrs {
			e.Xattrs = nil
		}
		if os.Getuid() != 0 {
			e.UID, e.GID = uint32(os.Getuid()), uint32(os.Getgid())
		}
		want[p] = e
	}
}

func unquoteManifest(t *testing.T, files map[string]treetest.Entry) treetest.Manifest {
	t.Helper()
	m := treetest.Manifest{}
	for p, e := range files {
		if strings.HasPrefix(p, `"`) {
			var err error
			if p, err = strconv.Unquote(p); err != nil {
				t.Fatalf("expected.json: path %s: %v", p, err)
			}
		}
		m[p] = e
	}
	return m
}

// generateFrozen writes testdata/frozen-v1: a repository with two snapshots
// of a generated tree, and expected.json describing them.
func generateFrozen(t *testing.T) {
	if err := os.RemoveAll(frozenDir); err != nil {
		t.Fatal(err)
	}
	// The key file uses the cheap test KDF (still argon2id, its parameters
	// stored in the key file): the default one would cost seconds per run.
	c := newCLI(t).with("SEEDSHIP_PASSWORD", frozenPassword)
	c.repo = filepath.Join(frozenDir, "repo")
	c.vars["SEEDSHIP_REPO"] = c.repo
	c.initRepo()
	src := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	treetest.Build(t, src, treetest.Options{Seed: 2026, Small: 2, SmallMax: 8 << 10, Big: 300 << 10, Special: true})
	var out []frozenSnapshot
	snap := func() {
		sum := c.backupJSON(src)
		files := map[string]treetest.Entry{}
		for p, e := range treetest.Scan(t, src) {
			files[frozenKey(p)] = e
		}
		out = append(out, frozenSnapshot{ID: sum.SnapshotID, Path: src, Files: files})
	}
	snap()
	treetest.Touch(t, src, "README.txt", []byte("the second snapshot changed this file\n"))
	writeFile(t, filepath.Join(src, "data/new.txt"), []byte("added before the second snapshot\n"))
	if err := os.Remove(filepath.Join(src, "data/small-00.bin")); err != nil {
		t.Fatal(err)
	}
	snap()
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(frozenDir, "expected.json"), append(b, '\n'))
	removeEmptyDirs(t, c.repo) // git keeps no empty directories
	t.Logf("wrote %s: %d bytes", frozenDir, treeBytes(t, frozenDir))
}

func treeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// copyTree copies the regular files below src to dst, which must not exist.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func removeEmptyDirs(t *testing.T, root string) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(dirs) - 1; i > 0; i-- {
		if ents, err := os.ReadDir(dirs[i]); err == nil && len(ents) == 0 {
			if err := os.Remove(dirs[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
}
