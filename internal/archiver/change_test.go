package archiver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seedship/seedship/internal/chunker"
	"github.com/seedship/seedship/internal/snapshot"
)

func TestChangeDetection(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a": []byte("a"), "sub/b": randBytes(2, 300<<10), "sub/c": []byte("c"), "e/": nil})
	repo := newFakeRepo()
	s1, _ := backup(t, newArchiver(t, repo, Options{}), dir)
	s1.ID = [32]byte{1}

	opens := &countingOpen{}
	a := newArchiver(t, repo, Options{Parent: s1})
	a.open = opens.open
	before := repo.saves()
	treesBefore := repo.treeSaves
	s2, res := backup(t, a, dir)
	// "sub" and "e" hold the same nodes as before: their trees are reused,
	// not encoded and saved again (their parents may differ in atime).
	if n := repo.treeSaves - treesBefore; n >= treesBefore {
		t.Errorf("unchanged backup saved %d trees, the first saved %d: unchanged trees are not reused", n, treesBefore)
	}
	if n := opens.count(); n != 0 {
		t.Errorf("unchanged backup opened %d files: %v", n, opens.files)
	}
	if n := repo.saves() - before; n != 0 {
		t.Errorf("unchanged backup called SaveBlob %d times", n)
	}
	t1, t2 := lookup(t, repo, s1.Tree, dir).Subtree, lookup(t, repo, s2.Tree, dir).Subtree
	if *t1 != *t2 || s2.Parent == nil || *s2.Parent != s1.ID {
		t.Errorf("second snapshot: tree %s (first %s), parent %v", t2.Short(), t1.Short(), s2.Parent)
	}
	if sum := res.Summary; sum.FilesUnmodified != 3 || sum.FilesNew+sum.FilesChanged != 0 || sum.DirsNew != 0 {
		t.Errorf("summary = %+v", sum)
	}

	// Change one file (same size, new mtime) and add one.
	p := filepath.Join(dir, "sub", "c")
	if err := os.WriteFile(p, []byte("C"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{"e/new": []byte("new")})
	s2.ID = [32]byte{2}
	opens = &countingOpen{}
	a = newArchiver(t, repo, Options{Parent: s2})
	a.open = opens.open
	s3, res := backup(t, a, dir)
	if opens.count() != 2 || opens.files[p] != 1 || opens.files[dir+"/e/new"] != 1 {
		t.Errorf("opened %v, want only %s and e/new", opens.files, p)
	}
	if n := lookup(t, repo, s3.Tree, p); string(repo.content(t, n)) != "C" {
		t.Errorf("changed file content = %q", repo.content(t, n))
	}
	if sum := res.Summary; sum.FilesUnmodified != 2 || sum.FilesChanged != 1 || sum.FilesNew != 1 || sum.DirsChanged == 0 {
		t.Errorf("summary = %+v", sum)
	}
}

func TestChangeDetectionInode(t *testing.T) {
	prev := &snapshot.Node{Type: snapshot.TypeFile, Size: 1, Inode: 5, DeviceID: 1}
	cur := *prev
	if unchanged(prev, &cur) {
		t.Errorf("a file with size 1 and no parent content counts as unchanged")
	}
	base := snapshot.Node{Type: snapshot.TypeFile, Size: 1, Inode: 5, DeviceID: 1, ModTime: time.Unix(1, 0), ChangeTime: time.Unix(2, 0)}
	base.Content = append(base.Content, [32]byte{9})
	for name, mut := range map[string]func(*snapshot.Node){
		"size": func(n *snapshot.Node) { n.Size = 2 }, "inode": func(n *snapshot.Node) { n.Inode = 6 },
		"device": func(n *snapshot.Node) { n.DeviceID = 2 }, "mtime": func(n *snapshot.Node) { n.ModTime = time.Unix(3, 0) },
		"ctime": func(n *snapshot.Node) { n.ChangeTime = time.Unix(3, 0) }, "type": func(n *snapshot.Node) { n.Type = snapshot.TypeSymlink },
	} {
		cur := base
		mut(&cur)
		if unchanged(&base, &cur) {
			t.Errorf("change of %s not detected", name)
		}
	}
	cur = base
	cur.ModTime = cur.ModTime.UTC()
	if !unchanged(&base, &cur) {
		t.Errorf("identical node counts as changed")
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ok": []byte("ok"), "denied": []byte("x"), "gone": []byte("y"), "locked/inner": []byte("z"), "broken": []byte("b")})
	repo := newFakeRepo()
	a := newArchiver(t, repo, Options{})
	a.open = func(path string, isDir bool) (*os.File, error) {
		switch filepath.Base(path) {
		case "denied", "locked":
			return nil, &os.PathError{Op: "open", Path: path, Err: unix.EACCES}
		case "gone": // removed between listing and reading
			os.Remove(path)
		case "broken": // reading fails with EIO
			return os.Open("/proc/self/mem")
		}
		return openNoatime(path, isDir)
	}
	s, res := backup(t, a, dir)
	var got []string
	for _, e := range res.Errors {
		got = append(got, filepath.Base(e.Path)+":"+e.Op)
		if !errors.Is(e, unix.EACCES) && !errors.Is(e, unix.ENOENT) && !errors.Is(e, unix.EIO) {
			t.Errorf("error %v is not EACCES, ENOENT or EIO", e)
		}
	}
	if want := "broken:read denied:open gone:open locked:open"; strings.Join(got, " ") != want {
		t.Errorf("errors = %q, want %q", got, want)
	}
	if got := names(t, repo, s.Tree, dir); strings.Join(got, " ") != "locked ok" {
		t.Errorf("entries = %q, want the unreadable dir (empty) and ok", got)
	}
	if res.Summary.Errors != 4 || res.Summary.FilesNew != 1 {
		t.Errorf("summary = %+v", res.Summary)
	}
}

func TestRepoFailure(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range 50 {
		files[filepath.Join("d", string(rune('a'+i%26))+string(rune('a'+i/26)))] = randBytes(uint64(i), 5000)
	}
	writeFiles(t, dir, files)
	repo := newFakeRepo()
	repo.failSave = errors.New("disk full")
	_, _, err := newArchiver(t, repo, Options{Workers: 2}).Snapshot(context.Background(), []string{dir})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Snapshot with failing repo: err = %v", err)
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a": []byte("a"), "b/c": []byte("c")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := newArchiver(t, newFakeRepo(), Options{}).Snapshot(ctx, []string{dir})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Snapshot: err = %v", err)
	}
}

func TestBoundedConcurrency(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range 30 {
		files[string(rune('a'+i%26))+string(rune('a'+i/26))] = randBytes(uint64(i), 300<<10)
	}
	writeFiles(t, dir, files)
	repo := newFakeRepo()
	backup(t, newArchiver(t, repo, Options{Workers: 3, Readers: 2}), dir)
	if repo.maxFlight > 3 {
		t.Errorf("%d concurrent SaveBlob calls, want at most Workers = 3", repo.maxFlight)
	}
}

func TestBufPoolBound(t *testing.T) {
	p := newBufPool(2)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	a, _ := p.get(ctx)
	b, _ := p.get(ctx)
	if cap(a) < chunker.AvgSize || cap(b) < chunker.AvgSize || cap(a) > chunker.MaxSize {
		t.Errorf("buffer capacities %d, %d; want between %d and %d", cap(a), cap(b), chunker.AvgSize, chunker.MaxSize)
	}
	if _, err := p.get(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third get from a pool of 2: err = %v, want to block until the deadline", err)
	}
	p.put(a)
	if c, err := p.get(context.Background()); err != nil || &c[:1][0] != &a[:1][0] {
		t.Errorf("get after put: err %v, buffer reused %v", err, err == nil && &c[:1][0] == &a[:1][0])
	}
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a": []byte("aaa"), "b/c": []byte("cc"), "b/d": nil})
	var mu sync.Mutex
	var reports []Progress
	a := newArchiver(t, newFakeRepo(), Options{ProgressInterval: time.Millisecond, Progress: func(p Progress) {
		mu.Lock()
		reports = append(reports, p)
		mu.Unlock()
	}})
	backup(t, a, dir)
	mu.Lock()
	defer mu.Unlock()
	last := reports[len(reports)-1]
	if !last.Done || last.FilesDone != 3 || last.BytesDone != 5 || last.FilesTotal != 3 || last.BytesTotal != 5 || !last.ScanDone {
		t.Errorf("last report = %+v", last)
	}
	for _, p := range reports[:len(reports)-1] {
		if p.Done {
			t.Errorf("report before the last has Done set: %+v", p)
		}
	}
}

func TestRateMeter(t *testing.T) {
	var m rateMeter
	if got := m.update(time.Second, 100); got != 100 {
		t.Errorf("first rate = %v, want 100", got)
	}
	if got := m.update(2*time.Second, 100); got != 70 {
		t.Errorf("second rate = %v, want 70", got)
	}
}

// TestChangeDetectionManyDirs exercises the parent tree prefetch window
// with directories added and removed between backups.
func TestChangeDetectionManyDirs(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range 12 {
		files[string(rune('a'+2*i))+"/f"] = []byte{byte(i)}
	}
	writeFiles(t, dir, files)
	repo := newFakeRepo()
	s1, _ := backup(t, newArchiver(t, repo, Options{}), dir)
	writeFiles(t, dir, map[string][]byte{"b/new": []byte("b"), "f/new": []byte("f"), "z/new": []byte("z")})
	if err := os.RemoveAll(filepath.Join(dir, "e")); err != nil {
		t.Fatal(err)
	}
	opens := &countingOpen{}
	a := newArchiver(t, repo, Options{Parent: s1})
	a.open = opens.open
	_, res := backup(t, a, dir)
	if sum := res.Summary; sum.FilesUnmodified != 11 || sum.FilesNew != 3 || opens.count() != 3 {
		t.Errorf("summary = %+v, opened %v", sum, opens.files)
	}
}

// An unchanged file whose chunks the repository no longer indexes is read
// again; the other unchanged files are not.
func TestUnchangedFileWithUnindexedChunkIsReread(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a": []byte("a"), "b": randBytes(3, 100<<10), "c": []byte("c")})
	repo := newFakeRepo()
	s1, _ := backup(t, newArchiver(t, repo, Options{}), dir)
	s1.ID = [32]byte{1}
	b := lookup(t, repo, s1.Tree, dir+"/b")
	repo.mu.Lock()
	delete(repo.data, b.Content[0]) // its pack was lost and dropped
	repo.mu.Unlock()

	opens := &countingOpen{}
	a := newArchiver(t, repo, Options{Parent: s1})
	a.open = opens.open
	s2, res := backup(t, a, dir)
	if opens.count() != 1 || opens.files[dir+"/b"] != 1 {
		t.Errorf("opened %v, want only b", opens.files)
	}
	if sum := res.Summary; res.FilesReread != 1 || sum.FilesUnmodified != 3 || sum.FilesChanged != 0 || sum.DataBlobs != 1 {
		t.Errorf("FilesReread %d, summary %+v; want 1 file reread, 3 unmodified, 1 blob stored", res.FilesReread, sum)
	}
	if got := lookup(t, repo, s2.Tree, dir+"/b"); !slices.Equal(got.Content, b.Content) {
		t.Errorf("reread content %v, want %v", got.Content, b.Content)
	}
}
