// Command bench measures seedship against tar|zstd and cp -r on a
// deterministic mixed dataset of about 2 GiB. Run it from the repository
// root:
//
//	go run ./bench -dir /var/tmp/seedship-bench
//
// It prints a markdown table for docs/benchmarks.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// outDir is where restore and its cp -r baseline write.
var outDir string

func defaultOutDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return ""
}

type result struct {
	name    string
	elapsed time.Duration
	rssKiB  int64
	out     string
}

func main() {
	dir := flag.String("dir", "", "work folder (default: a new temporary folder)")
	scale := flag.Float64("scale", 1.0, "dataset size relative to the 2 GiB set")
	keep := flag.Bool("keep", false, "keep the work folder")
	flag.StringVar(&outDir, "out", defaultOutDir(), "folder that restore and cp -r write into (default /dev/shm: this VM's disk writeback varies tenfold between runs)")
	flag.Parse()
	if err := benchmark(*dir, *scale, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func benchmark(dir string, scale float64, keep bool) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "seedship-bench-")
		if err != nil {
			return err
		}
		dir = d
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	bin := filepath.Join(dir, "seedship")
	if _, err := run("build", "go", "build", "-o", bin, "./cmd/seedship"); err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	ds := dataset{dir: data, seed: 42, scale: scale}
	// A dataset changed by an earlier run ("1% change") is generated anew.
	if _, err := os.Stat(filepath.Join(dir, "data-changed")); err == nil {
		os.Remove(filepath.Join(data, ".complete"))
		os.Remove(filepath.Join(dir, "data-changed"))
	}
	if _, err := os.Stat(filepath.Join(data, ".complete")); err != nil {
		os.RemoveAll(data)
		fmt.Fprintln(os.Stderr, "generating the dataset in", data)
		if err := ds.generate(); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(data, ".complete"), nil, 0o644); err != nil {
			return err
		}
	}
	total, files, err := du(data)
	if err != nil {
		return err
	}
	// Warm the page cache so every contender reads from memory.
	if _, err := run("warm", "sh", "-c", "tar -cf - -C "+data+" . > /dev/null"); err != nil {
		return err
	}
	return measure(bin, dir, data, ds, total, files)
}

func measure(bin, dir, data string, ds dataset, total, files int64) error {
	repoDir := filepath.Join(dir, "repo")
	out := dir
	if outDir != "" {
		o, err := os.MkdirTemp(outDir, "seedship-bench-out-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(o)
		out = o
	}
	os.RemoveAll(repoDir)
	os.RemoveAll(filepath.Join(out, "restore"))
	os.RemoveAll(filepath.Join(out, "cp"))
	os.Setenv("SEEDSHIP_PASSWORD", "benchmark-password")
	sh := func(name, cmd string) (result, error) { return run(name, "sh", "-c", cmd) }

	tarZstd, err := sh("tar|zstd", "tar -cf - -C "+data+" . | zstd -1 -T0 -q > /dev/null")
	if err != nil {
		return err
	}
	cp, err := sh("cp -r", "cp -r "+data+" "+filepath.Join(out, "cp"))
	if err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(out, "cp"))
	if _, err := run("init", bin, "init", "--repo", repoDir); err != nil {
		return err
	}
	backup, err := run("backup", bin, "backup", "--repo", repoDir, "--quiet", data)
	if err != nil {
		return err
	}
	noChange, err := run("backup (no change)", bin, "backup", "--repo", repoDir, "--quiet", data)
	if err != nil {
		return err
	}
	repoSize, _, err := du(repoDir)
	if err != nil {
		return err
	}
	floor, err := sh("floor", "tar -cf - -C "+data+" --exclude ./dup --exclude ./edited . | zstd -1 -T0 -q | wc -c")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(data), "data-changed"), nil, 0o644); err != nil {
		return err
	}
	changed, err := ds.change(0.01, 1)
	if err != nil {
		return err
	}
	sizeBefore := repoSize
	oneP, err := run("backup (1% changed)", bin, "backup", "--repo", repoDir, "--quiet", data)
	if err != nil {
		return err
	}
	sizeAfter, _, err := du(repoDir)
	if err != nil {
		return err
	}
	restore, err := run("restore", bin, "restore", "--repo", repoDir, "latest", "--target", filepath.Join(out, "restore"))
	if err != nil {
		return err
	}
	if _, err := run("compare", "diff", "-r", "-q", data, filepath.Join(out, "restore", data)); err != nil {
		return fmt.Errorf("restored data differs from the source: %w", err)
	}
	floorBytes, _ := strconv.ParseInt(strings.TrimSpace(floor.out), 10, 64)
	report(total, files, changed, repoSize, floorBytes, sizeAfter-sizeBefore, tarZstd, cp, backup, noChange, oneP, restore)
	return nil
}

func report(total, files, changed, repoSize, floor, added int64, tarZstd, cp, backup, noChange, oneP, restore result) {
	mbs := func(r result) float64 { return float64(total) / mib / r.elapsed.Seconds() }
	fmt.Printf("dataset: %.0f MiB in %d files; 1%% change: %.1f MiB\n\n", float64(total)/mib, files, float64(changed)/mib)
	fmt.Println("| measurement | seedship | baseline | ratio | target |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	fmt.Printf("| initial backup throughput | %.0f MiB/s | %.0f MiB/s (tar \\| zstd -1 -T0) | %.2f× | ≥ 0.8× |\n", mbs(backup), mbs(tarZstd), mbs(backup)/mbs(tarZstd))
	fmt.Printf("| no-change re-backup | %.2f s | | | < 0.5 s |\n", noChange.elapsed.Seconds())
	fmt.Printf("| backup after 1%% change | %.2f s, %.1f MiB added to the repository | | | |\n", oneP.elapsed.Seconds(), float64(added)/mib)
	fmt.Printf("| restore throughput | %.0f MiB/s | %.0f MiB/s (cp -r) | %.2f× | ≥ 0.9× |\n", mbs(restore), mbs(cp), mbs(restore)/mbs(cp))
	fmt.Printf("| repository size | %.1f%% of the data | %.1f%% (dedup + zstd -1 floor: the data without its copies, as one zstd stream) | | ≤ floor + 1.5 points |\n",
		100*float64(repoSize)/float64(total), 100*float64(floor)/float64(total))
	fmt.Printf("| peak RSS, backup | %.0f MiB | | | < 128 MiB |\n", float64(backup.rssKiB)/1024)
	fmt.Printf("| peak RSS, restore | %.0f MiB | | | < 128 MiB |\n", float64(restore.rssKiB)/1024)
}

// run executes a command, timing it and reading its peak RSS.
func run(name string, argv ...string) (result, error) {
	syscall.Sync() // start every step with no dirty pages of the one before
	cmd := exec.Command(argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	r := result{name: name, elapsed: time.Since(start), out: out.String()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKiB = ru.Maxrss
	}
	if err != nil {
		return r, fmt.Errorf("%s: %v\n%s", name, err, out.String())
	}
	fmt.Fprintf(os.Stderr, "%-22s %8.2f s  %6d MiB RSS\n", name, r.elapsed.Seconds(), r.rssKiB/1024)
	return r, nil
}

// du returns the apparent size and count of the regular files under dir.
func du(dir string) (int64, int64, error) {
	var size, n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			size += fi.Size()
			n++
		}
		return nil
	})
	return size, n, err
}
