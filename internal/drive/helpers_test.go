package drive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

const testJob = "seed-test"

// makeStaging writes a staging repository with content-addressed files:
// config, a key, snapshots, index files and packs with sizes drawn from
// sizes (seeded), plus a seed record and a store temporary file that must
// not be copied. It returns the files that must reach the drives.
func makeStaging(t testing.TB, seed uint64, packs int, sizes func(*rand.Rand) int) (string, map[string]string) {
	t.Helper()
	dir := tempDir(t)
	rng := rand.New(rand.NewPCG(seed, seed+1))
	want := map[string]string{}
	put := func(rel string, data []byte) {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	addressed := func(top string, n int) {
		data := random(n)
		sum := sha256.Sum256(data)
		name := hex.EncodeToString(sum[:])
		rel := top + "/" + name
		if top == "data" {
			rel = "data/" + name[:2] + "/" + name
		}
		put(rel, data)
		want[rel] = name
	}
	config := random(200)
	put("config", config)
	want["config"] = hexSum(config)
	addressed("keys", 300)
	addressed("snapshots", 400)
	addressed("snapshots", 0)
	addressed("index", 5000)
	for range packs {
		addressed("data", sizes(rng))
	}
	put(SeedRecordName, []byte(`{"job":"seed-test"}`))
	put("data/.tmp-123", []byte("half a pack"))
	return dir, want
}

// tempDir is t.TempDir, on /dev/shm when there is one: these tests make
// thousands of files and directories, and nothing in them needs a disk
// (the benchmarks and the loop-device test use real filesystems).
func tempDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "seedship-drive-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func uniform(lo, hi int) func(*rand.Rand) int {
	return func(r *rand.Rand) int { return lo + r.IntN(hi-lo+1) }
}

// drives makes n empty drive directories.
func drives(t testing.TB, n int) []string {
	t.Helper()
	base := tempDir(t)
	var out []string
	for i := 1; i <= n; i++ {
		d := filepath.Join(base, fmt.Sprintf("drive%d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func testOptions(staging string, ds []string, capacity int64) Options {
	var mu sync.Mutex
	n := 0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return time.Date(2025, 3, 1, 12, 0, n, 0, time.UTC)
	}
	return Options{Staging: staging, Job: testJob, JobKey: testKey, Drives: ds, Capacity: capacity,
		Now: clock, Rand: rand.NewChaCha8([32]byte{1})}
}

// copies counts completed copies per file over several runs.
type copies struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *copies) hook(h *hooks) *hooks {
	if h == nil {
		h = &hooks{}
	}
	if c.n == nil {
		c.n = map[string]int{}
	}
	h.copied = func(p string) { c.mu.Lock(); c.n[p]++; c.mu.Unlock() }
	return h
}

func (c *copies) checkOnce(t *testing.T) {
	t.Helper()
	for p, n := range c.n {
		if n > 1 {
			t.Errorf("%s copied %d times", p, n)
		}
	}
}

// checkDrives checks a finished preparation: every drive verifies (MAC,
// manifest hash, every file's hash), every staging file is on exactly one
// drive, nothing else is on the drives, and each drive respects capacity.
func checkDrives(t *testing.T, res *Result, want map[string]string, capacity int64) {
	t.Helper()
	seen := map[string]int{}
	for i, d := range res.Drives {
		if d.Seq != i+1 {
			t.Errorf("drive %d has seq %d", i+1, d.Seq)
		}
		m, raw, err := ReadManifest(d.Path, testKey)
		if err != nil {
			t.Fatalf("drive %d: %v", d.Seq, err)
		}
		mac, _ := os.ReadFile(filepath.Join(d.Path, MACName))
		if err := VerifyMAC(raw, mac, testKey); err != nil {
			t.Errorf("drive %d: %v", d.Seq, err)
		}
		if ManifestHash(raw) != d.ManifestHash || m.DriveID != d.ID || m.Seq != d.Seq || m.Job != testJob {
			t.Errorf("drive %d: manifest %s/%s seq %d does not match result %+v", d.Seq, ManifestHash(raw), m.DriveID, m.Seq, d)
		}
		if _, _, err := verifyDrive(context.Background(), d.Path, testKey, make([]byte, 64<<10), nil, func(*os.File) {}); err != nil {
			t.Errorf("drive %d: %v", d.Seq, err)
		}
		var used int64
		listed := map[string]bool{}
		for _, f := range m.Files {
			seen[f.Path]++
			listed[f.Path] = true
			used += f.Size
			if w, ok := want[f.Path]; !ok || w != f.SHA256 {
				t.Errorf("drive %d lists %s with %s, want %q", d.Seq, f.Path, f.SHA256, w)
			}
		}
		if used != d.Bytes || len(m.Files) != d.Files {
			t.Errorf("drive %d: result says %d bytes %d files, manifest %d bytes %d files", d.Seq, d.Bytes, d.Files, used, len(m.Files))
		}
		if capacity > 0 && used > capacity {
			t.Errorf("drive %d holds %d bytes, capacity %d", d.Seq, used, capacity)
		}
		checkNoStrays(t, d.Path, listed)
	}
	for p := range want {
		if seen[p] != 1 {
			t.Errorf("%s is on %d drives, want 1", p, seen[p])
		}
	}
}

// checkNoStrays fails on files on a drive that its manifest does not list.
func checkNoStrays(t *testing.T, root string, listed map[string]bool) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !listed[rel] && rel != ManifestName && rel != MACName && rel != MarkerName {
			t.Errorf("stray file %s on drive %s", rel, root)
		}
		return nil
	})
}

// errCrash is the injected "kill".
var errCrash = errors.New("injected crash")

// crashAt returns hooks failing the nth operation (1-based), counting all
// operations in *count. Fsync is off and the copy buffer small (see
// hooks.noSync and hooks.bufSize).
func crashAt(n int, count *int, crashed *string) *hooks {
	return &hooks{noSync: true, bufSize: 16 << 10, op: func(op, name string) error {
		*count++
		if *count == n {
			*crashed = op
			return fmt.Errorf("%s %s: %w", op, name, errCrash)
		}
		return nil
	}}
}

func listDrive(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			out = append(out, fmt.Sprintf("%s %d %s", strings.TrimPrefix(p, root), fi.Size(), fi.ModTime()))
		}
		return err
	})
	slices.Sort(out)
	return out
}
