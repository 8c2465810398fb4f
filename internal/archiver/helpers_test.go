package archiver

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
)

// fakeRepo is an in-memory Repo; IDs are plain SHA-256.
type fakeRepo struct {
	mu        sync.Mutex
	data      map[oid.ID][]byte
	trees     map[oid.ID][]byte
	dataSaves int   // SaveBlob calls
	treeSaves int   // SaveTree calls
	failSave  error // returned by SaveBlob when set
	inFlight  int
	maxFlight int
}

var _ Repo = (*fakeRepo)(nil)

func newFakeRepo() *fakeRepo {
	return &fakeRepo{data: map[oid.ID][]byte{}, trees: map[oid.ID][]byte{}}
}

func (f *fakeRepo) SaveBlob(ctx context.Context, t pack.BlobType, plain []byte) (oid.ID, bool, error) {
	f.mu.Lock()
	f.dataSaves++
	f.inFlight++
	f.maxFlight = max(f.maxFlight, f.inFlight)
	fail := f.failSave
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	if fail != nil {
		return oid.ID{}, false, fail
	}
	id := oid.Hash(plain)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.data[id]; ok {
		return id, false, nil
	}
	f.data[id] = bytes.Clone(plain)
	return id, true, nil
}

func (f *fakeRepo) HasBlob(t pack.BlobType, id oid.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.data[id]
	return ok
}

func (f *fakeRepo) SaveTree(ctx context.Context, t *snapshot.Tree) (oid.ID, error) {
	b, err := snapshot.EncodeTree(t)
	if err != nil {
		return oid.ID{}, err
	}
	id := oid.Hash(b)
	f.mu.Lock()
	f.trees[id] = b
	f.treeSaves++
	f.mu.Unlock()
	return id, nil
}

func (f *fakeRepo) LoadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error) {
	f.mu.Lock()
	b, ok := f.trees[id]
	f.mu.Unlock()
	if !ok {
		return nil, errors.New("tree not found")
	}
	return snapshot.DecodeTree(b)
}

func (f *fakeRepo) ChunkerSeed() uint64 { return 42 }

func (f *fakeRepo) saves() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dataSaves
}

// loader is what tests need to read a snapshot back.
type loader interface {
	LoadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error)
}

// lookup returns the node at the absolute path p in the tree root.
func lookup(t *testing.T, repo loader, root oid.ID, p string) *snapshot.Node {
	t.Helper()
	id := root
	var n *snapshot.Node
	for _, name := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if n != nil {
			if n.Subtree == nil {
				t.Fatalf("lookup %q: %q is not a directory", p, n.Name)
			}
			id = *n.Subtree
		}
		tr, err := repo.LoadTree(context.Background(), id)
		if err != nil {
			t.Fatalf("lookup %q: %v", p, err)
		}
		if n = tr.Find(name); n == nil {
			return nil
		}
	}
	return n
}

// names lists the entries of the directory at p.
func names(t *testing.T, repo loader, root oid.ID, p string) []string {
	t.Helper()
	n := lookup(t, repo, root, p)
	if n == nil || n.Subtree == nil {
		t.Fatalf("names %q: not a directory in the snapshot", p)
	}
	tr, err := repo.LoadTree(context.Background(), *n.Subtree)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range tr.Nodes {
		out = append(out, c.Name)
	}
	return out
}

func (f *fakeRepo) content(t *testing.T, n *snapshot.Node) []byte {
	t.Helper()
	var out []byte
	for _, id := range n.Content {
		f.mu.Lock()
		b, ok := f.data[id]
		f.mu.Unlock()
		if !ok {
			t.Fatalf("blob %s of %q missing", id.Short(), n.Name)
		}
		out = append(out, b...)
	}
	return out
}

func randBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// writeFiles creates files under dir: name -> content; names ending in "/"
// are directories.
func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newArchiver(t *testing.T, repo Repo, o Options) *Archiver {
	t.Helper()
	a, err := New(repo, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func backup(t *testing.T, a *Archiver, paths ...string) (*snapshot.Snapshot, Result) {
	t.Helper()
	s, res, err := a.Snapshot(context.Background(), paths)
	if err != nil {
		t.Fatalf("Snapshot(%q): %v", paths, err)
	}
	return s, res
}

// countingOpen wraps the real open and counts regular-file opens by path.
type countingOpen struct {
	mu    sync.Mutex
	files map[string]int
}

func (c *countingOpen) open(path string, dir bool) (*os.File, error) {
	if !dir {
		c.mu.Lock()
		if c.files == nil {
			c.files = map[string]int{}
		}
		c.files[path]++
		c.mu.Unlock()
	}
	return openNoatime(path, dir)
}

func (c *countingOpen) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.files {
		n += v
	}
	return n
}
