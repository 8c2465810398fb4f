package restorer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/seedship/seedship/internal/snapshot"
	"golang.org/x/sys/unix"
)

func TestRestoreDevices(t *testing.T) { forEachRepo(t, testRestoreDevices) }

func testRestoreDevices(t *testing.T, f testRepo) {
	null := &snapshot.Node{Name: "null", Type: snapshot.TypeCharDev, Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666,
		Rdev: unix.Mkdev(1, 3), ModTime: testTime}
	loop := &snapshot.Node{Name: "loop", Type: snapshot.TypeDev, Mode: fs.ModeDevice | 0o660,
		Rdev: unix.Mkdev(7, 0), ModTime: testTime}
	target, res, err := restoreTo(t, f, f.snapshot(null, loop), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Special+res.Warnings != 2 {
		t.Errorf("Result = %+v: want each device created or warned about", res)
	}
	for _, n := range []*snapshot.Node{null, loop} {
		path := filepath.Join(target, n.Name)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); errors.Is(err, unix.ENOENT) {
			t.Logf("%s not created (no CAP_MKNOD?)", n.Name)
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		checkStat(t, path, n.Mode, testTime)
		if st.Rdev != n.Rdev {
			t.Errorf("%s: rdev %#x, want %#x", n.Name, st.Rdev, n.Rdev)
		}
	}
}

func TestRestoreReadOnlyDirs(t *testing.T) { forEachRepo(t, testRestoreReadOnlyDirs) }

func testRestoreReadOnlyDirs(t *testing.T, f testRepo) {
	inner := f.dir("inner", f.file("f", []byte("data"), 2))
	inner.Mode = fs.ModeDir | 0o500
	outer := f.dir("outer", inner)
	outer.Mode = fs.ModeDir | 0o555
	target, _, err := restoreTo(t, f, f.snapshot(outer), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkStat(t, filepath.Join(target, "outer"), fs.ModeDir|0o555, outer.ModTime)
	checkStat(t, filepath.Join(target, "outer/inner"), fs.ModeDir|0o500, inner.ModTime)
	if got := string(mustRead(t, filepath.Join(target, "outer/inner/f"))); got != "data" {
		t.Errorf("content %q", got)
	}
	// Let t.TempDir remove it.
	os.Chmod(filepath.Join(target, "outer"), 0o755)
	os.Chmod(filepath.Join(target, "outer/inner"), 0o755)
}

func TestRestoreOwnerNames(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	f := newFakeRepo(t)
	byName := f.file("byname", []byte("x"), 1)
	byName.UID, byName.GID, byName.User, byName.Group = 4242, 4343, "root", "root"
	unknown := f.file("unknown", []byte("y"), 1)
	unknown.UID, unknown.GID, unknown.User, unknown.Group = 4242, 4343, "no-such-user-xyz", "no-such-group-xyz"
	snap := f.snapshot(byName, unknown)
	for _, tt := range []struct {
		mapNames bool
		want     map[string][2]uint32 // uid, gid
	}{
		{false, map[string][2]uint32{"byname": {4242, 4343}, "unknown": {4242, 4343}}},
		{true, map[string][2]uint32{"byname": {0, 0}, "unknown": {4242, 4343}}},
	} {
		target, _, err := restoreTo(t, f, snap, Options{MapOwnerNames: tt.mapNames})
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range tt.want {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(target, name), &st); err != nil {
				t.Fatal(err)
			}
			if got := [2]uint32{st.Uid, st.Gid}; got != want {
				t.Errorf("MapOwnerNames=%v: %s owned by %v, want %v", tt.mapNames, name, got, want)
			}
		}
	}
}

func TestRestoreHardLinkFirstExcluded(t *testing.T) {
	f := newFakeRepo(t)
	a := f.file("a", []byte("shared"), 3)
	b := f.file("b", []byte("shared"), 3)
	c := f.file("c", []byte("shared"), 3)
	for _, n := range []*snapshot.Node{a, b, c} {
		n.Links, n.Inode, n.DeviceID = 3, 5, 1
	}
	target, res, err := restoreTo(t, f, f.snapshot(a, b, c), Options{Exclude: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	fb, err1 := os.Stat(filepath.Join(target, "b"))
	fc, err2 := os.Stat(filepath.Join(target, "c"))
	if err1 != nil || err2 != nil || !os.SameFile(fb, fc) || res.HardLinks != 1 {
		t.Errorf("b and c must be one inode: %v %v, %+v", err1, err2, res)
	}
	if got := string(mustRead(t, filepath.Join(target, "c"))); got != "shared" {
		t.Errorf("c = %q", got)
	}
}

func TestRestoreSparseOption(t *testing.T) {
	f := newFakeRepo(t)
	data := make([]byte, 8<<20)
	copy(data[3<<20:], "middle")
	target, _, err := restoreTo(t, f, f.snapshot(f.file("zeros", data, 1<<20)), Options{Sparse: true, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(target, "zeros"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 8<<20 || st.Blocks*512 > 64<<10 {
		t.Errorf("size %d, %d bytes allocated; want 8 MiB in at most 64 KiB", st.Size, st.Blocks*512)
	}
}

func TestRestoreCanceled(t *testing.T) {
	f := newFakeRepo(t)
	snap := f.snapshot(f.file("f", randBytes(11, 1<<20), 1<<16))
	r, err := New(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Restore(ctx, snap, t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// FuzzValidName checks that every accepted name stays a direct child of
// the directory it is joined to.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "..", ".", "a/b", "..a", "a\x00", " ", "/", "...", "a\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if validName(name) != nil {
			return
		}
		const dir = "/target/d"
		if p := filepath.Join(dir, name); filepath.Dir(p) != dir || filepath.Base(p) != name {
			t.Fatalf("name %q accepted but joins to %q", name, p)
		}
	})
}
