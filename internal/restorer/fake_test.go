package restorer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
)

// memStore is a minimal in-memory store.Store that counts ranged reads.
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
	gets map[string]int
}

func newMemStore() *memStore {
	return &memStore{objs: map[string][]byte{}, gets: map[string]int{}}
}

func (m *memStore) Put(_ context.Context, name string, r io.Reader, _ int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[name]; ok {
		return store.ErrExists
	}
	m.objs[name] = b
	return nil
}

func (m *memStore) Get(_ context.Context, name string, off, n int64) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, store.ErrNotFound)
	}
	if n < 0 {
		n = int64(len(b)) - off
	}
	if off < 0 || off+n > int64(len(b)) {
		return nil, fmt.Errorf("%s: range %d+%d past end %d", name, off, n, len(b))
	}
	m.gets[name]++
	return io.NopCloser(bytes.NewReader(b[off : off+n])), nil
}

func (m *memStore) Stat(_ context.Context, name string) (store.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[name]
	if !ok {
		return store.Info{}, store.ErrNotFound
	}
	return store.Info{Name: name, Size: int64(len(b))}, nil
}

func (m *memStore) List(_ context.Context, prefix string, fn func(store.Info) error) error {
	m.mu.Lock()
	var infos []store.Info
	for k, v := range m.objs {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, store.Info{Name: k, Size: int64(len(v))})
		}
	}
	m.mu.Unlock()
	for _, i := range infos {
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, name)
	return nil
}

// fakeRepo stores blobs as magic||plaintext in packs of a memStore;
// DecodeBlob checks the plaintext against the blob ID like the AEAD does.
type fakeRepo struct {
	t     testing.TB
	st    *memStore
	idx   *index.Index
	key   *crypto.Key
	trees map[oid.ID]*snapshot.Tree
	pack  []byte
	blobs []pack.Blob
	seen  map[oid.ID]bool
	max   int // pack size
}

var errFakeAuth = errors.New("fake: blob does not match its ID")

const fakeMagic = "BLOB"

func newFakeRepo(t testing.TB) *fakeRepo {
	k, err := crypto.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeRepo{t: t, st: newMemStore(), idx: index.New(), key: k,
		trees: map[oid.ID]*snapshot.Tree{}, seen: map[oid.ID]bool{}, max: 3 << 20}
}

func (f *fakeRepo) LoadTree(_ context.Context, id oid.ID) (*snapshot.Tree, error) {
	t, ok := f.trees[id]
	if !ok {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), store.ErrNotFound)
	}
	return t, nil
}

func (f *fakeRepo) Index() *index.Index { return f.idx }
func (f *fakeRepo) Store() store.Store  { return f.st }
func (f *fakeRepo) Key() *crypto.Key    { return f.key }

func (f *fakeRepo) DecodeBlob(e index.Entry, stored, dst []byte) ([]byte, error) {
	if len(stored) != int(e.Length) || !bytes.HasPrefix(stored, []byte(fakeMagic)) {
		return nil, errFakeAuth
	}
	plain := stored[len(fakeMagic):]
	if f.key.BlobID(plain) != e.ID {
		return nil, errFakeAuth
	}
	return append(dst, plain...), nil
}

// addBlob stores p (once) and returns its ID.
func (f *fakeRepo) addBlob(p []byte) oid.ID {
	id := f.key.BlobID(p)
	if f.seen[id] {
		return id
	}
	f.seen[id] = true
	f.blobs = append(f.blobs, pack.Blob{Type: pack.DataBlob, ID: id, Offset: uint32(len(f.pack)),
		Length: uint32(len(fakeMagic) + len(p)), RawLength: uint32(len(p))})
	f.pack = append(append(f.pack, fakeMagic...), p...)
	if len(f.pack) >= f.max {
		f.flush()
	}
	return id
}

// flush writes the open pack.
func (f *fakeRepo) flush() {
	if len(f.blobs) == 0 {
		return
	}
	id := oid.Hash(f.pack)
	if err := f.st.Put(context.Background(), packName(id), bytes.NewReader(f.pack), int64(len(f.pack))); err != nil {
		f.t.Fatal(err)
	}
	f.idx.AddPack(id, f.blobs)
	f.pack, f.blobs = nil, nil
}

// addTree stores t, sorted by name, and returns its ID.
func (f *fakeRepo) addTree(nodes []*snapshot.Node) oid.ID {
	t := &snapshot.Tree{}
	for _, n := range nodes {
		t.Nodes = append(t.Nodes, *n)
	}
	sort.SliceStable(t.Nodes, func(i, j int) bool { return t.Nodes[i].Name < t.Nodes[j].Name })
	b, err := json.Marshal(t.Nodes)
	if err != nil {
		f.t.Fatal(err)
	}
	id := f.key.BlobID(b)
	f.trees[id] = t
	return id
}

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

// fileNode and dirNode are the nodes the builders make.
func fileNode(name string, size int) *snapshot.Node {
	return &snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: 0o644, Size: uint64(size),
		ModTime: testTime, AccessTime: testTime.Add(time.Hour)}
}

func dirNode(name string, subtree oid.ID) *snapshot.Node {
	return &snapshot.Node{Name: name, Type: snapshot.TypeDir, Mode: fs.ModeDir | 0o755,
		ModTime: testTime.Add(-time.Hour), Subtree: &subtree}
}

// file returns a file node with data cut into chunks of chunk bytes.
func (f *fakeRepo) file(name string, data []byte, chunk int) *snapshot.Node {
	n := fileNode(name, len(data))
	for len(data) > 0 {
		c := min(chunk, len(data))
		n.Content = append(n.Content, f.addBlob(data[:c]))
		data = data[c:]
	}
	return n
}

func (f *fakeRepo) dir(name string, children ...*snapshot.Node) *snapshot.Node {
	return dirNode(name, f.addTree(children))
}

func (f *fakeRepo) snapshot(children ...*snapshot.Node) *snapshot.Snapshot {
	f.flush()
	return &snapshot.Snapshot{Time: testTime, Tree: f.addTree(children)}
}

func (f *fakeRepo) packGets() map[string]int {
	f.st.mu.Lock()
	defer f.st.mu.Unlock()
	m := make(map[string]int, len(f.st.gets))
	for k, v := range f.st.gets {
		m[k] = v
	}
	return m
}

func randBytes(seed uint64, n int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}
