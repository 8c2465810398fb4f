package drive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// crashStaging is small but exercises everything: several drives, files
// written in several buffers (crashBuf: a crash between them leaves a
// partial file with data), new directories, metadata files.
func crashStaging(t testing.TB, seed uint64) (string, map[string]string) {
	return makeStaging(t, seed, 4, uniform(4<<10, 20<<10))
}

const crashCapacity = 80 << 10

// TestPrepCrashEverywhere kills a preparation at every single operation
// (each write, fsync, rename, mkdir, remove and journal append, on files,
// manifests, MACs and markers), then runs it again to completion and checks
// that every drive verifies, every file is on exactly one drive, nothing
// else is left on the drives and no file was copied twice.
func TestPrepCrashEverywhere(t *testing.T) {
	total := 0
	{
		staging, want := crashStaging(t, 20)
		o := testOptions(staging, drives(t, 6), crashCapacity)
		var none string
		o.hooks = crashAt(-1, &total, &none)
		res, err := Prep(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		checkDrives(t, res, want, crashCapacity)
		if len(res.Drives) < 2 {
			t.Fatalf("only %d drive: the test needs several", len(res.Drives))
		}
		t.Logf("%d drives, %d files", len(res.Drives), res.Files)
	}
	stride := 1
	if testing.Short() {
		stride = 7
	}
	ops := map[string]int{}
	for n := 1; n <= total; n += stride {
		staging, want := crashStaging(t, 20)
		ds := drives(t, 6)
		var cp copies
		count, op := 0, ""
		o := testOptions(staging, ds, crashCapacity)
		o.hooks = cp.hook(crashAt(n, &count, &op))
		_, err := Prep(context.Background(), o)
		if !errors.Is(err, errCrash) {
			t.Fatalf("crash at op %d: err = %v", n, err)
		}
		ops[op]++
		o.hooks = cp.hook(crashAt(-1, &count, &op))
		res, err := Prep(context.Background(), o)
		if err != nil {
			t.Fatalf("resume after crash at op %d (%v): %v", n, errors.Unwrap(err), err)
		}
		if !res.Resumed && !res.AlreadyDone && n > 4 {
			t.Errorf("crash at op %d: result not marked resumed", n)
		}
		checkDrives(t, res, want, crashCapacity)
		cp.checkOnce(t)
		if t.Failed() {
			t.Fatalf("after crash at op %d: %v", n, err)
		}
	}
	t.Logf("%d crash points: %v", total, ops)
	for _, op := range []string{opWrite, opSync, opRename, opSyncDir, opMkdir, opRemove, opJournalWrite, opJournalSync} {
		if ops[op] == 0 && !testing.Short() {
			t.Errorf("no crash injected at %s", op)
		}
	}
}

// TestPrepRepeatedCrashes crashes the resumed runs too, at random points.
func TestPrepRepeatedCrashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for seq := range 6 {
		staging, want := crashStaging(t, 30+uint64(seq))
		ds := drives(t, 8)
		var cp copies
		runs := 0
		for ; ; runs++ {
			if runs > 60 {
				t.Fatal("no progress after 60 runs")
			}
			count, op := 0, ""
			o := testOptions(staging, ds, crashCapacity)
			o.hooks = cp.hook(crashAt(1+rng.IntN(40), &count, &op))
			res, err := Prep(context.Background(), o)
			if errors.Is(err, errCrash) {
				continue
			}
			if err != nil {
				t.Fatalf("sequence %d run %d: %v", seq, runs, err)
			}
			checkDrives(t, res, want, crashCapacity)
			break
		}
		cp.checkOnce(t)
	}
}

// TestPrepCancel stops a preparation by cancelling its context after the
// nth copied file, and mid-file, then resumes it.
func TestPrepCancel(t *testing.T) {
	for n := 1; n <= 9; n += 2 { // 9 files in crashStaging
		for _, midFile := range []bool{false, true} {
			t.Run(fmt.Sprintf("file%d/mid%v", n, midFile), func(t *testing.T) {
				staging, want := crashStaging(t, 40)
				ds := drives(t, 8)
				var cp copies
				ctx, cancel := context.WithCancel(context.Background())
				o := testOptions(staging, ds, crashCapacity)
				o.hooks = cp.hook(&hooks{noSync: true, bufSize: 16 << 10})
				copied, writes := 0, 0
				o.Progress = func(e Event) {
					if e.Kind == FileCopied {
						if copied++; copied == n && !midFile {
							cancel()
						}
					}
				}
				o.hooks.op = func(op, name string) error {
					if op == opWrite && midFile && copied >= n {
						if writes++; writes == 2 {
							cancel()
						}
					}
					return nil
				}
				_, err := Prep(ctx, o)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
				o.Progress, o.hooks.op = nil, nil
				res, err := Prep(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				checkDrives(t, res, want, crashCapacity)
				cp.checkOnce(t)
			})
		}
	}
}

// TestPrepNoSpace simulates drives that fill up before the estimate says:
// ENOSPC in the middle of a file, and ENOSPC while writing the manifest
// (the drive's last file then moves to the next drive).
func TestPrepNoSpace(t *testing.T) {
	staging, want := makeStaging(t, 50, 40, uniform(10<<10, 100<<10))
	ds := drives(t, 20)
	o := testOptions(staging, ds, 0)
	onDrive, manifestFailed, drops := 0, false, 0
	o.Progress = func(e Event) {
		switch e.Kind {
		case DriveStarted, DriveResumed:
			onDrive, manifestFailed = 0, false
		case FileCopied:
			onDrive++
		}
	}
	o.hooks = &hooks{
		noSync: true,
		statfs: func(string) (int64, int64, error) { return 1 << 40, 4096, nil },
		op: func(op, name string) error {
			switch {
			case op == opWrite && name == ManifestName && !manifestFailed && onDrive >= 3:
				manifestFailed = true
				return &fs.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
			case op == opWrite && onDrive >= 9 && name != ManifestName && name != MACName && name != MarkerName:
				return &fs.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
			case op == opRemove && strings.Contains(name, "/data/"):
				drops++
			}
			return nil
		},
	}
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkDrives(t, res, want, 0)
	if len(res.Drives) < 4 || drops == 0 {
		t.Errorf("%d drives, %d files dropped: the full-drive paths were not exercised", len(res.Drives), drops)
	}
	for _, d := range res.Drives {
		if d.Files > 8 {
			t.Errorf("drive %d holds %d files, more than fit", d.Seq, d.Files)
		}
	}
}

// TestPrepUnfinishedDrive covers the drive an interrupted run was filling:
// found at a new path, missing, or replaced.
func TestPrepUnfinishedDrive(t *testing.T) {
	interrupted := func(t *testing.T) (string, map[string]string, []string) {
		staging, want := makeStaging(t, 60, 50, uniform(20<<10, 100<<10))
		ds := drives(t, 10)
		ctx, cancel := context.WithCancel(context.Background())
		o := testOptions(staging, ds, 1<<20)
		o.Progress = func(e Event) {
			if e.Kind == FileCopied && e.Seq == 2 && e.DriveFiles == 3 {
				cancel()
			}
		}
		if _, err := Prep(ctx, o); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		moved := filepath.Join(tempDir(t), "remounted")
		if err := os.Rename(ds[1], moved); err != nil {
			t.Fatal(err)
		}
		return staging, want, append([]string{moved}, ds...)
	}
	t.Run("missing", func(t *testing.T) {
		staging, _, ds := interrupted(t)
		_, err := Prep(context.Background(), testOptions(staging, ds[1:], 1<<20))
		if !errors.Is(err, ErrDriveMissing) || !strings.Contains(err.Error(), "drive 2") {
			t.Errorf("err = %v, want ErrDriveMissing for drive 2", err)
		}
	})
	t.Run("remounted", func(t *testing.T) {
		staging, want, ds := interrupted(t)
		o := testOptions(staging, ds[1:], 1<<20)
		var asked []int
		o.NextDrive = func(ctx context.Context, seq int) (string, error) {
			asked = append(asked, seq)
			if seq == 2 {
				return ds[0], nil // "insert drive 2"
			}
			return ds[seq+1], nil
		}
		o.Drives = []string{ds[1]}
		res, err := Prep(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Drives) < 3 || res.Drives[1].Path != ds[0] || asked[0] != 2 || asked[1] != 3 {
			t.Fatalf("drives %+v, asked for %v; want drive 2 at %s", res.Drives, asked, ds[0])
		}
		checkDrives(t, res, want, 1<<20)
	})
	t.Run("replaced", func(t *testing.T) {
		staging, want, ds := interrupted(t)
		o := testOptions(staging, ds[1:], 1<<20)
		o.ReplaceUnfinished = true
		o.Drives = []string{ds[1], ds[3]}
		o.NextDrive = func(ctx context.Context, seq int) (string, error) {
			if seq == 3 {
				return ds[0], nil // the given-up drive turns up again: reused
			}
			return ds[seq+1], nil
		}
		res, err := Prep(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		checkDrives(t, res, want, 1<<20)
		if res.Drives[1].Path != ds[3] || res.Drives[2].Path != ds[0] {
			t.Errorf("drives %+v", res.Drives)
		}
	})
}
