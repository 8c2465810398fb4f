package restorer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/chunker"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store/local"
)

// TestPerfVsCp compares restore throughput with `cp -r` and reports peak
// RSS. It is slow and disk-heavy, so it runs only with SEEDSHIP_PERF=1
// (SEEDSHIP_PERF_MB sets the data size, default 512; SEEDSHIP_PERF_DIR
// the directory to work in).
func TestPerfVsCp(t *testing.T) {
	if os.Getenv("SEEDSHIP_PERF") == "" {
		t.Skip("set SEEDSHIP_PERF=1 to run")
	}
	mb := 512
	fmt.Sscan(os.Getenv("SEEDSHIP_PERF_MB"), &mb)
	dir := t.TempDir()
	if d := os.Getenv("SEEDSHIP_PERF_DIR"); d != "" { // e.g. /dev/shm to leave the disk out
		var err error
		if dir, err = os.MkdirTemp(d, "perf"); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	src := filepath.Join(dir, "src")
	makeDataset(t, src, int64(mb)<<20)
	st, err := local.Create(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	r := newRealRepo(t, st)
	snap := r.snapshot(backupDir(t, r, src).children...)

	var cpTime, rsTime time.Duration = 1 << 62, 1 << 62
	var out Result
	rounds := 3
	fmt.Sscan(os.Getenv("SEEDSHIP_PERF_ROUNDS"), &rounds)
	workers := 0
	fmt.Sscan(os.Getenv("SEEDSHIP_PERF_WORKERS"), &workers)
	for round := range rounds {
		syscall.Sync()
		start := time.Now()
		dst := filepath.Join(dir, fmt.Sprint("cp", round))
		if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, out)
		}
		cpTime = min(cpTime, time.Since(start))
		os.RemoveAll(dst)

		runtime.GC()
		debug.FreeOSMemory()
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM
		base := procStatus("VmRSS:")
		res, err := New(r, Options{Workers: workers, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: perfLogLevel()}))})
		if err != nil {
			t.Fatal(err)
		}
		syscall.Sync()
		start = time.Now()
		dst = filepath.Join(dir, fmt.Sprint("restore", round))
		if p := os.Getenv("SEEDSHIP_PERF_PROF"); p != "" && round == 1 {
			pf, _ := os.Create(p)
			pprof.StartCPUProfile(pf)
			defer pprof.StopCPUProfile()
		}
		if out, err = res.Restore(context.Background(), snap, dst); err != nil {
			t.Fatal(err)
		}
		pprof.StopCPUProfile()
		rsTime = min(rsTime, time.Since(start))
		t.Logf("round %d: %v, RSS before %s, peak %s", round, time.Since(start), base, procStatus("VmHWM:"))
		if round < rounds-1 {
			os.RemoveAll(dst)
		}
	}
	t.Logf("%d MiB, %d files: cp -r %v, restore %v (ratio %.2f), packs %d",
		mb, out.Files, cpTime, rsTime, cpTime.Seconds()/rsTime.Seconds(), out.Packs)
	compareTrees(t, src, filepath.Join(dir, fmt.Sprint("restore", rounds-1)))
}

func procStatus(field string) string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			return strings.TrimSpace(strings.TrimPrefix(l, field))
		}
	}
	return "?"
}

// makeDataset writes about size bytes: a few large random files, a
// compressible one and many small files in subdirectories.
func makeDataset(t testing.TB, dir string, size int64) {
	big := size / 8
	for i := range 4 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("big%d", i)), randBytes(uint64(i), int(big)))
	}
	var text bytes.Buffer
	for i := 0; int64(text.Len()) < big; i++ {
		fmt.Fprintf(&text, "line %d: the quick brown fox %x jumps over the lazy dog\n", i, i*7919)
	}
	writeFile(t, filepath.Join(dir, "text.log"), text.Bytes())
	small := randBytes(99, int(size*3/8))
	for i, off := 0, 0; off < len(small); i++ {
		n := min(len(small)-off, 1024+(i*7919)%(96<<10))
		writeFile(t, filepath.Join(dir, fmt.Sprintf("d%02d/s%05d", i%50, i)), small[off:off+n])
		off += n
	}
}

func writeFile(t testing.TB, path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// backupDir is a minimal archiver: it stores dir's files and directories
// with their modes and times.
type backedUp struct{ children []*snapshot.Node }

func backupDir(t testing.TB, r *realRepo, dir string) backedUp {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b backedUp
	ch := chunker.New(nil, r.ChunkerSeed())
	var buf []byte
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			n := dirNode(e.Name(), r.tree(backupDir(t, r, p).children))
			n.Mode, n.ModTime = fi.Mode(), fi.ModTime()
			b.children = append(b.children, n)
			continue
		}
		n := fileNode(e.Name(), int(fi.Size()))
		n.Mode, n.ModTime = fi.Mode(), fi.ModTime()
		n.AccessTime = n.ModTime
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		ch.Reset(f)
		for {
			buf, err = ch.Next(buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n.Content = append(n.Content, r.save(pack.DataBlob, buf))
		}
		f.Close()
		b.children = append(b.children, n)
	}
	return b
}

// compareTrees checks that every file below want exists below got with the
// same content, mode and mtime.
func compareTrees(t testing.TB, want, got string) {
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		if rel == "." {
			return nil
		}
		wi, _ := os.Lstat(p)
		gi, err := os.Lstat(filepath.Join(got, rel))
		if err != nil {
			return err
		}
		if wi.Mode() != gi.Mode() || !wi.ModTime().Equal(gi.ModTime()) {
			t.Errorf("%s: mode %v mtime %v, want %v %v", rel, gi.Mode(), gi.ModTime(), wi.Mode(), wi.ModTime())
		}
		if d.Type().IsRegular() {
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(filepath.Join(got, rel))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: content differs", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func perfLogLevel() slog.Level {
	if os.Getenv("SEEDSHIP_PERF_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
