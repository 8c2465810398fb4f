package archiver

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/seedship/seedship/internal/chunker"
	"github.com/seedship/seedship/internal/snapshot"
)

func TestTreeStructure(t *testing.T) {
	dir := t.TempDir()
	big := randBytes(1, 3*chunker.MaxSize/2+12345)
	writeFiles(t, dir, map[string][]byte{
		"a.txt": []byte("hello"), "empty": nil, "sub/big.bin": big, "sub/deeper/c": []byte("c"), "emptydir/": nil,
	})
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	repo := newFakeRepo()
	s, res := backup(t, newArchiver(t, repo, Options{Workers: 3}), dir)

	if want := []string{dir}; !slices.Equal(s.Paths, want) {
		t.Errorf("Paths = %q, want %q", s.Paths, want)
	}
	// The root tree leads to dir through its parents.
	first := strings.Split(strings.TrimPrefix(dir, "/"), "/")[0]
	if got := names(t, repo, s.Tree, "/"+first); len(got) != 1 {
		t.Errorf("/%s has entries %q, want only the way to %s", first, got, dir)
	}
	if got, want := names(t, repo, s.Tree, dir), []string{"a.txt", "empty", "emptydir", "link", "sub"}; !slices.Equal(got, want) {
		t.Errorf("entries of %s = %q, want %q", dir, got, want)
	}
	if got := repo.content(t, lookup(t, repo, s.Tree, dir+"/a.txt")); string(got) != "hello" {
		t.Errorf("a.txt content = %q", got)
	}
	n := lookup(t, repo, s.Tree, dir+"/sub/big.bin")
	if got := repo.content(t, n); !bytes.Equal(got, big) || n.Size != uint64(len(big)) || len(n.Content) < 2 {
		t.Errorf("big.bin: %d bytes in %d chunks, size %d; want %d bytes", len(got), len(n.Content), n.Size, len(big))
	}
	if n := lookup(t, repo, s.Tree, dir+"/link"); n.Type != snapshot.TypeSymlink || n.LinkTarget != "a.txt" {
		t.Errorf("link = %+v", n)
	}
	if n := lookup(t, repo, s.Tree, dir+"/empty"); n.Type != snapshot.TypeFile || n.Size != 0 || len(n.Content) != 0 {
		t.Errorf("empty = %+v", n)
	}
	sum := res.Summary
	if sum.FilesNew != 4 || sum.FilesProcessed != 4 || sum.Others != 1 || len(res.Errors) != 0 {
		t.Errorf("summary = %+v, errors %v", sum, res.Errors)
	}
	if sum.BytesProcessed != uint64(len(big)+6) {
		t.Errorf("BytesProcessed = %d, want %d", sum.BytesProcessed, len(big)+6)
	}
	if s.Summary == nil || *s.Summary != sum {
		t.Errorf("snapshot summary %+v differs from result %+v", s.Summary, sum)
	}
}

func TestMetadata(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	writeFiles(t, dir, map[string][]byte{"f": []byte("x")})
	if err := unix.Chmod(p, 0o4751); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	repo := newFakeRepo()
	s, _ := backup(t, newArchiver(t, repo, Options{}), dir)
	n := lookup(t, repo, s.Tree, p)
	if n.Mode != 0o751|os.ModeSetuid || n.UID != st.Uid || n.Inode != st.Ino || n.DeviceID != st.Dev || n.Links != 1 {
		t.Errorf("node = %+v, stat = %+v", n, st)
	}
	if !n.ModTime.Equal(timespec(st.Mtim)) || !n.ChangeTime.Equal(timespec(st.Ctim)) || !n.AccessTime.Equal(timespec(st.Atim)) {
		t.Errorf("times = %v %v %v, stat %v %v %v", n.ModTime, n.ChangeTime, n.AccessTime, st.Mtim, st.Ctim, st.Atim)
	}
	if os.Getuid() == 0 && n.User != "root" {
		t.Errorf("User = %q, want root", n.User)
	}
}

func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range 40 {
		files[filepath.Join("d"+string(rune('a'+i%5)), "f"+string(rune('a'+i)))] = randBytes(uint64(i), 1000*i)
	}
	files["big"] = randBytes(99, 2*chunker.MaxSize)
	writeFiles(t, dir, files)
	if err := os.Symlink("big", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	repo := newFakeRepo()
	s1, _ := backup(t, newArchiver(t, repo, Options{Workers: 1, Readers: 1}), dir)
	s2, _ := backup(t, newArchiver(t, repo, Options{Workers: 4, Readers: 3}), dir)
	// Compare the backed-up directory: the root tree also holds the
	// metadata of /tmp, which other processes change.
	if t1, t2 := lookup(t, repo, s1.Tree, dir).Subtree, lookup(t, repo, s2.Tree, dir).Subtree; *t1 != *t2 {
		t.Errorf("two backups of the same files: trees %s and %s", t1.Short(), t2.Short())
	}
}

func TestOddNames(t *testing.T) {
	dir := t.TempDir()
	odd := []string{"new\nline", "bad\xff\xfeutf8", strings.Repeat("L", 255), " lead space", "-dash", "tab\there", "ü"}
	files := map[string][]byte{}
	for i, name := range odd {
		files[name] = []byte{byte(i)}
	}
	files["sub\xff/inner\n"] = []byte("inner")
	writeFiles(t, dir, files)
	if err := os.Symlink("target\xff\n", filepath.Join(dir, "link\xfe")); err != nil {
		t.Fatal(err)
	}
	repo := newFakeRepo()
	s, res := backup(t, newArchiver(t, repo, Options{}), dir)
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	for i, name := range odd {
		n := lookup(t, repo, s.Tree, dir+"/"+name)
		if n == nil || n.Name != name || !bytes.Equal(repo.content(t, n), []byte{byte(i)}) {
			t.Errorf("node %q = %+v", name, n)
		}
	}
	if n := lookup(t, repo, s.Tree, dir+"/sub\xff/inner\n"); n == nil || string(repo.content(t, n)) != "inner" {
		t.Errorf("nested odd name: %+v", n)
	}
	if n := lookup(t, repo, s.Tree, dir+"/link\xfe"); n == nil || n.LinkTarget != "target\xff\n" {
		t.Errorf("odd symlink: %+v", n)
	}
}

func TestHardLinks(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a": []byte("shared"), "sub/": nil})
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub", "b")); err != nil {
		t.Fatal(err)
	}
	repo := newFakeRepo()
	s, _ := backup(t, newArchiver(t, repo, Options{}), dir)
	a, b := lookup(t, repo, s.Tree, dir+"/a"), lookup(t, repo, s.Tree, dir+"/sub/b")
	if a.Links != 2 || b.Links != 2 || a.Inode != b.Inode || a.DeviceID != b.DeviceID {
		t.Errorf("hard links not identifiable: a = %+v, b = %+v", a, b)
	}
	if !slices.Equal(a.Content, b.Content) {
		t.Errorf("hard links have different content")
	}
}

func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	haveDev := unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) == nil
	opens := &countingOpen{}
	repo := newFakeRepo()
	a := newArchiver(t, repo, Options{})
	a.open = opens.open
	s, res := backup(t, a, dir) // would block forever if the FIFO were opened
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if n := lookup(t, repo, s.Tree, dir+"/fifo"); n == nil || n.Type != snapshot.TypeFIFO || n.Mode != os.ModeNamedPipe|0o600 {
		t.Errorf("fifo = %+v", n)
	}
	if n := lookup(t, repo, s.Tree, dir+"/sock"); n == nil || n.Type != snapshot.TypeSocket {
		t.Errorf("socket = %+v", n)
	}
	if haveDev {
		if n := lookup(t, repo, s.Tree, dir+"/null"); n == nil || n.Type != snapshot.TypeCharDev || n.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("char device = %+v", n)
		}
	}
	if opens.count() != 0 {
		t.Errorf("special files opened: %v", opens.files)
	}
}

func TestXattrs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	writeFiles(t, dir, map[string][]byte{"f": nil})
	err := unix.Lsetxattr(p, "user.seedship", []byte("v\x00\xff"), 0)
	if xattrUnsupported(err) {
		t.Skipf("no user xattrs on %s: %v", dir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(p, "user.a", nil, 0); err != nil {
		t.Fatal(err)
	}
	repo := newFakeRepo()
	s, _ := backup(t, newArchiver(t, repo, Options{}), dir)
	got := lookup(t, repo, s.Tree, p).Xattrs
	want := []snapshot.Xattr{{Name: "user.a"}, {Name: "user.seedship", Value: []byte("v\x00\xff")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("xattrs (-want +got):\n%s", diff)
	}
}

func TestSparse(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("end"), 9<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	repo := newFakeRepo()
	s, _ := backup(t, newArchiver(t, repo, Options{}), dir)
	n := lookup(t, repo, s.Tree, p)
	if !n.Sparse || n.Size != 9<<20+3 {
		t.Errorf("sparse file node: Sparse %v, Size %d", n.Sparse, n.Size)
	}
	want := append(make([]byte, 9<<20), "end"...)
	if !bytes.Equal(repo.content(t, n), want) {
		t.Errorf("sparse file content differs")
	}
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a/x": []byte("x"), "a/b/y": []byte("y"), "c/z": []byte("z"), "d/w": nil})
	t.Chdir(dir)
	repo := newFakeRepo()
	s, _ := backup(t, newArchiver(t, repo, Options{}), "c", dir+"/a/b", dir+"/a", "./c/../c")
	if want := []string{dir + "/a", dir + "/c"}; !slices.Equal(s.Paths, want) {
		t.Errorf("Paths = %q, want %q", s.Paths, want)
	}
	if got := names(t, repo, s.Tree, dir); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("entries of %s = %q, want a and c only", dir, got)
	}
	if n := lookup(t, repo, s.Tree, dir+"/a/b/y"); n == nil {
		t.Errorf("a/b/y missing")
	}
}

func TestMissingPaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a": []byte("x")})
	a := newArchiver(t, newFakeRepo(), Options{})
	_, res, err := a.Snapshot(context.Background(), []string{dir + "/a", dir + "/missing"})
	if err != nil || len(res.Errors) != 1 || res.Errors[0].Path != dir+"/missing" {
		t.Errorf("one missing path: err %v, errors %v", err, res.Errors)
	}
	_, _, err = a.Snapshot(context.Background(), []string{dir + "/missing"})
	if !errors.Is(err, ErrNoPaths) {
		t.Errorf("only missing paths: err = %v, want ErrNoPaths", err)
	}
}

func TestBackupRoot(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc")
	}
	if got := buildVirtual([]string{"/"}); !got.target || len(got.children) != 0 {
		t.Errorf("buildVirtual(/) = %+v", got)
	}
	got, err := CleanPaths([]string{"/usr", "/", "/etc"})
	if err != nil || !slices.Equal(got, []string{"/"}) {
		t.Errorf("CleanPaths = %q, %v; want [/]", got, err)
	}
}

func TestSnapshotReader(t *testing.T) {
	repo := newFakeRepo()
	data := randBytes(7, chunker.MaxSize+100)
	s, res, err := newArchiver(t, repo, Options{}).SnapshotReader(context.Background(), "db/dump.sql", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Paths, []string{"/db/dump.sql"}) || res.Summary.FilesNew != 1 {
		t.Errorf("Paths = %q, summary %+v", s.Paths, res.Summary)
	}
	n := lookup(t, repo, s.Tree, "/db/dump.sql")
	if n == nil || n.Size != uint64(len(data)) || !bytes.Equal(repo.content(t, n), data) {
		t.Errorf("stdin node = %+v", n)
	}
	for _, bad := range []string{"", "/", "a/../b", "x\x00"} {
		if _, _, err := newArchiver(t, repo, Options{}).SnapshotReader(context.Background(), bad, nil); err == nil {
			t.Errorf("SnapshotReader(%q) succeeded", bad)
		}
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("pipe broke")
	}
	r.n--
	return copy(p, "abc"), nil
}

func TestSnapshotReaderError(t *testing.T) {
	_, _, err := newArchiver(t, newFakeRepo(), Options{}).SnapshotReader(context.Background(), "x", &failingReader{n: 3})
	if err == nil || !strings.Contains(err.Error(), "pipe broke") {
		t.Errorf("SnapshotReader with a failing reader: err = %v", err)
	}
}
