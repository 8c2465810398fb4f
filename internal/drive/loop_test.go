//go:build linux

package drive

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// loopFS makes a size-byte ext4 filesystem on a loop device and mounts it;
// cleanup unmounts it and detaches the device.
func loopFS(t *testing.T, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("mkfs.ext4", "-q", "-F", "-m", "0", img)
	dev := run("losetup", "-f", "--show", img)
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	run("mount", dev, mnt)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

// TestLoopDevices fills two real 64 MiB ext4 filesystems: once trusting
// statfs (the estimate must keep clear of ENOSPC), once with statfs lying
// so that the copy runs into a real ENOSPC in the middle of a file.
func TestLoopDevices(t *testing.T) {
	// Runs wherever the machine allows it, as CI does (root, loop devices).
	if os.Geteuid() != 0 {
		t.Skip("needs root to make and mount loop-device filesystems")
	}
	for _, tool := range []string{"mkfs.ext4", "losetup", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	for _, lie := range []bool{false, true} {
		t.Run(map[bool]string{false: "statfs", true: "enospc"}[lie], func(t *testing.T) {
			staging, want := makeStaging(t, 70, 24, uniform(3<<20, 5<<20)) // ~96 MiB
			ds := []string{loopFS(t, 64<<20), loopFS(t, 64<<20)}
			o := testOptions(staging, ds, 0)
			var full []string
			o.hooks = &hooks{noSpace: func(p string) { full = append(full, p) }}
			if lie {
				o.hooks.statfs = func(string) (int64, int64, error) { return 1 << 40, 4096, nil }
			}
			res, err := Prep(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			checkDrives(t, res, want, 0)
			if len(res.Drives) != 2 {
				t.Errorf("%d drives, want 2", len(res.Drives))
			}
			if lie != (len(full) > 0) {
				t.Errorf("ENOSPC met on %v (lying statfs: %v)", full, lie)
			}
			t.Logf("drive 1: %d files, %.1f MiB; ENOSPC on %v", res.Drives[0].Files, float64(res.Drives[0].Bytes)/(1<<20), full)
		})
	}
}

// TestReadOnlyDrive: a drive mounted read-only is refused before anything
// is journaled, with a message that says what to do.
func TestReadOnlyDrive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make and mount loop-device filesystems")
	}
	mnt := loopFS(t, 16<<20)
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v\n%s", err, out)
	}
	staging, _ := makeStaging(t, 5, 2, uniform(1<<20, 2<<20))
	_, err := Prep(context.Background(), testOptions(staging, []string{mnt}, 0))
	if !errors.Is(err, ErrDrivePath) || !strings.Contains(err.Error(), "read-write") {
		t.Fatalf("Prep onto a read-only drive = %v, want ErrDrivePath saying to mount it read-write", err)
	}
	if b, _ := os.ReadFile(filepath.Join(staging, JournalName)); strings.Contains(string(b), `"start"`) {
		t.Errorf("the journal records a drive start for a refused drive:\n%s", b)
	}
}
