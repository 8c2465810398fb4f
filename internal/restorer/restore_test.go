package restorer

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
	"golang.org/x/sys/unix"
)

func restoreTo(t *testing.T, repo Repository, snap *snapshot.Snapshot, o Options) (string, Result, error) {
	t.Helper()
	r, err := New(repo, o)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	res, err := r.Restore(context.Background(), snap, target)
	return target, res, err
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRestoreContent(t *testing.T) { forEachRepo(t, testRestoreContent) }

func testRestoreContent(t *testing.T, f testRepo) {
	big := randBytes(1, 5<<20+123)
	shared := randBytes(2, 100<<10)
	twice := append(append([]byte{}, shared...), shared...)
	files := map[string][]byte{
		"big":          big,
		"d/shared":     shared,
		"d/twice":      twice,
		"d/e/empty":    nil,
		"d/e/small":    []byte("hello\n"),
		"d/e/big-copy": big,
	}
	snap := f.snapshot(
		f.file("big", big, 1<<20),
		f.dir("d",
			f.file("shared", shared, 64<<10),
			f.file("twice", twice, 64<<10),
			f.dir("e", f.file("empty", nil, 1), f.file("small", []byte("hello\n"), 4), f.file("big-copy", big, 1<<20)),
		),
	)
	var last Progress
	target, res, err := restoreTo(t, f, snap, Options{Workers: 3, Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range files {
		if got := mustRead(t, filepath.Join(target, rel)); !bytes.Equal(got, want) {
			t.Errorf("%s: got %d bytes, want %d (equal prefix: %v)", rel, len(got), len(want), bytes.HasPrefix(want, got))
		}
	}
	if res.Files != 6 || res.Dirs != 2 {
		t.Errorf("Result = %+v, want 6 files, 2 dirs", res)
	}
	if last.FilesDone != 6 || last.BytesDone != last.BytesTotal || last.FilesTotal != 6 {
		t.Errorf("last progress = %+v", last)
	}
	dataPacks := map[string]bool{}
	f.Index().Each(func(e index.Entry) bool {
		dataPacks[packName(e.Pack)] = dataPacks[packName(e.Pack)] || e.Type == pack.DataBlob
		return true
	})
	gets, numData := f.packGets(), 0
	for name, isData := range dataPacks {
		if !isData {
			continue
		}
		numData++
		if n := gets[name]; n != 1 {
			t.Errorf("data pack %s read %d times, want once", name, n)
		}
	}
	if int(res.Packs) != numData {
		t.Errorf("Result.Packs = %d, want %d", res.Packs, numData)
	}
}

func testRestoreMetadata(t *testing.T, f testRepo) {
	file := f.file("file", []byte("data"), 4)
	file.Mode = 0o640 | fs.ModeSetgid
	file.UID, file.GID = 1234, 5678
	file.Xattrs = []snapshot.Xattr{{Name: "user.seedship", Value: []byte("v1")}}
	ro := f.file("readonly", []byte("ro"), 4)
	ro.Mode = 0o400
	link := &snapshot.Node{Name: "link", Type: snapshot.TypeSymlink, LinkTarget: "../nowhere", Mode: fs.ModeSymlink | 0o777,
		ModTime: testTime.Add(2 * time.Hour), UID: 1234, GID: 5678}
	fifo := &snapshot.Node{Name: "fifo", Type: snapshot.TypeFIFO, Mode: fs.ModeNamedPipe | 0o620, ModTime: testTime}
	sock := &snapshot.Node{Name: "sock", Type: snapshot.TypeSocket, Mode: fs.ModeSocket | 0o755, ModTime: testTime}
	sub := f.dir("sub", file, ro, link, fifo, sock)
	sub.Mode = fs.ModeDir | 0o750
	sub.ModTime = testTime.Add(-48 * time.Hour)
	snap := f.snapshot(sub)

	target, res, err := restoreTo(t, f, snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Warnings == 0 {
		t.Errorf("no warning for the socket")
	}
	checkStat(t, filepath.Join(target, "sub"), fs.ModeDir|0o750, sub.ModTime)
	checkStat(t, filepath.Join(target, "sub/file"), 0o640|fs.ModeSetgid, testTime)
	checkStat(t, filepath.Join(target, "sub/readonly"), 0o400, testTime)
	checkStat(t, filepath.Join(target, "sub/fifo"), fs.ModeNamedPipe|0o620, testTime)
	checkStat(t, filepath.Join(target, "sub/link"), fs.ModeSymlink|0o777, link.ModTime)
	if got, err := os.Readlink(filepath.Join(target, "sub/link")); err != nil || got != "../nowhere" {
		t.Errorf("Readlink = %q, %v", got, err)
	}
	if _, err := os.Lstat(filepath.Join(target, "sub/sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket restored: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(target, "sub/file"), &st); err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(int64(st.Atim.Sec), st.Atim.Nsec); !want.Equal(testTime.Add(time.Hour)) {
		t.Errorf("atime = %v, want %v", want, testTime.Add(time.Hour))
	}
	if os.Geteuid() == 0 && (st.Uid != 1234 || st.Gid != 5678) {
		t.Errorf("owner = %d:%d, want 1234:5678", st.Uid, st.Gid)
	}
	checkXattr(t, filepath.Join(target, "sub/file"), "user.seedship", "v1")
}

func checkStat(t *testing.T, path string, mode fs.FileMode, mtime time.Time) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != mode {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("%s: mtime %v, want %v", path, fi.ModTime(), mtime)
	}
}

func checkXattr(t *testing.T, path, name, want string) {
	t.Helper()
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(path, name, buf)
	if errors.Is(err, syscall.ENOTSUP) {
		t.Logf("xattrs not supported here: %v", err)
		return
	}
	if err != nil || string(buf[:n]) != want {
		t.Errorf("xattr %s = %q, %v, want %q", name, buf[:max(n, 0)], err, want)
	}
}

func TestRestoreHardLinks(t *testing.T) { forEachRepo(t, testRestoreHardLinks) }

func testRestoreHardLinks(t *testing.T, f testRepo) {
	data := randBytes(3, 300<<10)
	a := f.file("a", data, 64<<10)
	b := f.file("b", data, 64<<10)
	c := f.file("c", []byte("other"), 64)
	for _, n := range []*snapshot.Node{a, b} {
		n.Links, n.Inode, n.DeviceID = 2, 77, 9
	}
	c.Links, c.Inode, c.DeviceID = 2, 77, 10 // other device: not a link
	snap := f.snapshot(a, f.dir("d", b), c)
	target, res, err := restoreTo(t, f, snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := os.Stat(filepath.Join(target, "a"))
	fb, _ := os.Stat(filepath.Join(target, "d/b"))
	fc, _ := os.Stat(filepath.Join(target, "c"))
	if !os.SameFile(fa, fb) || os.SameFile(fa, fc) {
		t.Errorf("a and d/b must be one inode, c another")
	}
	if !bytes.Equal(mustRead(t, filepath.Join(target, "d/b")), data) {
		t.Errorf("d/b content differs")
	}
	if res.HardLinks != 1 {
		t.Errorf("HardLinks = %d, want 1", res.HardLinks)
	}
}

func TestRestoreSparse(t *testing.T) { forEachRepo(t, testRestoreSparse) }

func testRestoreSparse(t *testing.T, f testRepo) {
	const size, chunk = 64 << 20, 4 << 20
	data := make([]byte, size)
	copy(data, randBytes(4, 1<<20))
	copy(data[size-(1<<20)-100:], randBytes(5, 1<<20))
	n := f.file("sparse", data, chunk)
	n.Sparse = true
	target, _, err := restoreTo(t, f, f.snapshot(n), Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(target, "sparse")
	if !bytes.Equal(mustRead(t, path), data) {
		t.Fatal("sparse file content differs")
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if used := st.Blocks * 512; used > 4<<20 {
		t.Errorf("sparse file uses %d bytes on disk, want about 2 MiB", used)
	}
}

func TestRestoreMaliciousNames(t *testing.T) {
	for _, name := range []string{"..", ".", "", "../escape", "a/b", "nul\x00"} {
		f := newFakeRepo(t)
		evil := f.file(name, []byte("owned"), 8)
		snap := f.snapshot(f.dir("d", evil))
		target, _, err := restoreTo(t, f, snap, Options{})
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("name %q: err = %v, want ErrInvalidName", name, err)
		}
		parent := filepath.Dir(target)
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Errorf("name %q: %d entries beside the target, want none", name, len(entries)-1)
		}
		if _, err := os.Stat(filepath.Join(target, "escape")); err == nil {
			t.Errorf("name %q: file written at target/escape", name)
		}
	}
}

func TestRestoreDuplicateNames(t *testing.T) {
	f := newFakeRepo(t)
	id := f.addTree([]*snapshot.Node{
		{Name: "x", Type: snapshot.TypeSymlink, LinkTarget: "/"},
		f.dir("x", f.file("f", []byte("z"), 1)),
	})
	f.trees[id].Nodes[0], f.trees[id].Nodes[1] = f.trees[id].Nodes[1], f.trees[id].Nodes[0]
	_, _, err := restoreTo(t, f, &snapshot.Snapshot{Tree: id}, Options{})
	if !errors.Is(err, ErrInvalidName) {
		t.Errorf("err = %v, want ErrInvalidName", err)
	}
}

func TestRestoreExistingTarget(t *testing.T) {
	f := newFakeRepo(t)
	snap := f.snapshot(f.file("file", []byte("new"), 8), f.dir("dir", f.file("g", []byte("g"), 8)))
	r, err := New(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(outside, filepath.Join(target, "file")); err != nil { // an old regular file
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(target, "dir"), 0o755); err != nil { // reused
		t.Fatal(err)
	}
	if _, err := r.Restore(context.Background(), snap, target); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, filepath.Join(target, "file"))); got != "new" {
		t.Errorf("file = %q, want new", got)
	}
	if got := string(mustRead(t, outside)); got != "keep" {
		t.Errorf("hard-linked file outside the target changed to %q", got)
	}

	target2 := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(target2, "file")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Restore(context.Background(), snap, target2); !errors.Is(err, ErrExists) {
		t.Errorf("restore over a symlink: err = %v, want ErrExists", err)
	}
	if got := string(mustRead(t, outside)); got != "keep" {
		t.Errorf("symlink target outside changed to %q", got)
	}
}

func TestRestoreVerify(t *testing.T) { forEachRepo(t, testRestoreVerify) }

func testRestoreVerify(t *testing.T, f testRepo) {
	snap := f.snapshot(f.file("good", randBytes(6, 1<<20), 256<<10), f.file("bad", randBytes(7, 1<<20), 256<<10))
	r, err := New(f, Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	r.afterContent = func() { corrupt(t, filepath.Join(target, "bad"), 700<<10) }
	res, err := r.Restore(context.Background(), snap, target)
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("err = %v, want ErrVerify", err)
	}
	if len(res.Mismatches) != 1 || res.Verified != 1 {
		t.Errorf("Mismatches = %q, Verified = %d; want bad only", res.Mismatches, res.Verified)
	}

	r.afterContent = nil
	if _, err := r.Restore(context.Background(), snap, target); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(context.Background(), snap, target); err != nil {
		t.Errorf("Verify after a clean restore: %v", err)
	}
	corrupt(t, filepath.Join(target, "good"), 5)
	res, err = r.Verify(context.Background(), snap, target)
	if !errors.Is(err, ErrVerify) || len(res.Mismatches) != 1 {
		t.Errorf("Verify of a corrupted file: %v, %q", err, res.Mismatches)
	}
}

// corrupt flips one bit of the file at off, keeping its mtime.
func corrupt(t *testing.T, path string, off int64) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b := make([]byte, 1)
	if _, err := fh.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if _, err := fh.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreMissingAndCorruptBlobs(t *testing.T) {
	f := newFakeRepo(t)
	snap := f.snapshot(f.file("f", randBytes(8, 1000), 100))
	for name, obj := range f.st.objs {
		obj[len(obj)-1] ^= 1 // last blob no longer matches its ID
		f.st.objs[name] = obj
	}
	if _, _, err := restoreTo(t, f, snap, Options{}); !errors.Is(err, errFakeAuth) {
		t.Errorf("corrupt blob: err = %v, want the decode error", err)
	}
	g := newFakeRepo(t)
	n := g.file("f", []byte("x"), 1)
	n.Content = append(n.Content, g.key.BlobID([]byte("never stored")))
	if _, _, err := restoreTo(t, g, g.snapshot(n), Options{}); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("missing blob: err = %v, want ErrBlobNotFound", err)
	}
}
