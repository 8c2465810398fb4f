package restorer

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
)

var _ Repository = (*repo.Repository)(nil)

// testRepo is a repository the tests build snapshots in.
type testRepo interface {
	Repository
	file(name string, data []byte, chunk int) *snapshot.Node
	dir(name string, children ...*snapshot.Node) *snapshot.Node
	snapshot(children ...*snapshot.Node) *snapshot.Snapshot
	packGets() map[string]int // ranged reads per pack file
}

// forEachRepo runs fn against the fake repository and a real one over
// store/mem.
func forEachRepo(t *testing.T, fn func(t *testing.T, f testRepo)) {
	t.Run("fake", func(t *testing.T) { fn(t, newFakeRepo(t)) })
	t.Run("real", func(t *testing.T) { fn(t, newRealRepo(t, mem.New())) })
}

// countingStore counts the ranged reads of pack files.
type countingStore struct {
	store.Store
	mu   sync.Mutex
	gets map[string]int
}

func (c *countingStore) Get(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	if strings.HasPrefix(name, "data/") {
		c.mu.Lock()
		c.gets[name]++
		c.mu.Unlock()
	}
	return c.Store.Get(ctx, name, off, n)
}

// realRepo is a repo.Repository with the snapshot builders of fakeRepo.
type realRepo struct {
	*repo.Repository
	t  testing.TB
	st *countingStore
}

func newRealRepo(t testing.TB, st store.Store) *realRepo {
	cs := &countingStore{Store: st, gets: map[string]int{}}
	r, err := repo.Init(context.Background(), cs, []byte("pw"), repo.Options{KDF: crypto.TestKDF(), PackSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return &realRepo{Repository: r, t: t, st: cs}
}

func (r *realRepo) packGets() map[string]int {
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	m := make(map[string]int, len(r.st.gets))
	for k, v := range r.st.gets {
		m[k] = v
	}
	return m
}

func (r *realRepo) save(t pack.BlobType, p []byte) oid.ID {
	id, _, err := r.SaveBlob(context.Background(), t, p)
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *realRepo) file(name string, data []byte, chunk int) *snapshot.Node {
	n := fileNode(name, len(data))
	for len(data) > 0 {
		c := min(chunk, len(data))
		n.Content = append(n.Content, r.save(pack.DataBlob, data[:c]))
		data = data[c:]
	}
	return n
}

func (r *realRepo) tree(children []*snapshot.Node) oid.ID {
	t := &snapshot.Tree{}
	for _, n := range children {
		t.Nodes = append(t.Nodes, *n)
	}
	t.Sort()
	id, err := r.SaveTree(context.Background(), t)
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *realRepo) dir(name string, children ...*snapshot.Node) *snapshot.Node {
	return dirNode(name, r.tree(children))
}

func (r *realRepo) snapshot(children ...*snapshot.Node) *snapshot.Snapshot {
	id := r.tree(children)
	if err := r.Flush(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	return &snapshot.Snapshot{Time: testTime, Tree: id}
}
