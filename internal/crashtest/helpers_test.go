package crashtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seedship/seedship/internal/archiver"
	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/restorer"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/treetest"
)

const password = "crashtest"

// packSize is small so that the source makes many packs, and more than
// the 32 packs after which a backup writes an intermediate index file.
const packSize = 1 << 10

func options() repo.Options {
	return repo.Options{KDF: crypto.TestKDF(), PackSize: packSize, Host: "crashhost"}
}

// source is a directory to back up and its manifest.
type source struct {
	dir  string
	want treetest.Manifest
}

func newSource(t *testing.T, o treetest.Options) *source {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	treetest.Build(t, dir, o)
	return &source{dir: dir, want: treetest.Scan(t, dir)}
}

// newRepo initialises a repository in a new memory store.
func newRepo(t *testing.T) *mem.Store {
	t.Helper()
	st := mem.New()
	if _, err := repo.Init(context.Background(), st, []byte(password), options()); err != nil {
		t.Fatal(err)
	}
	return st
}

// backup does what "seedship backup" does, through the packages: open,
// load the index, take a shared lock, index packs left by an interrupted
// backup, find the parent, archive, flush, save the snapshot. One reader
// and one saver make the sequence of Puts the same in every run.
func backup(ctx context.Context, st store.Store, src string) (*snapshot.Snapshot, error) {
	r, err := repo.Open(ctx, st, []byte(password), options())
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		return nil, fmt.Errorf("load index: %w", err)
	}
	l, err := r.Lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer l.Unlock(ctx)
	if _, err := r.RecoverPacks(ctx); err != nil {
		return nil, fmt.Errorf("recover packs: %w", err)
	}
	parent, err := findParent(ctx, r, src)
	if err != nil {
		return nil, err
	}
	a, err := archiver.New(r, archiver.Options{Host: "crashhost", Parent: parent, Workers: 1, Readers: 1})
	if err != nil {
		return nil, err
	}
	snap, res, err := a.Snapshot(ctx, []string{src})
	if err != nil {
		return nil, err
	}
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("unreadable files: %v", res.Errors)
	}
	if err := r.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	if _, err := r.SaveSnapshot(ctx, snap); err != nil {
		return nil, err
	}
	return snap, nil
}

func findParent(ctx context.Context, r *repo.Repository, src string) (*snapshot.Snapshot, error) {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if slices.Equal(snaps[i].Paths, []string{src}) {
			return snaps[i], nil
		}
	}
	return nil, nil
}

// open opens the repository in st and loads its index.
func open(t *testing.T, st store.Store) *repo.Repository {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, st, []byte(password), options())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatalf("load index: %v", err)
	}
	return r
}

// mustCheck runs a full check that reads all data and fails the test on
// any error. It returns the report.
func mustCheck(t *testing.T, st store.Store) *checker.Report {
	t.Helper()
	rep, err := checker.Check(context.Background(), open(t, st), checker.Options{ReadData: true})
	if rep != nil {
		for _, p := range rep.Errors {
			t.Errorf("check: %v", p)
		}
	}
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return rep
}

// mustRestore restores the latest snapshot of src and compares it with
// the source, bit for bit and with metadata.
func mustRestore(t *testing.T, st store.Store, src *source) {
	t.Helper()
	ctx := context.Background()
	r := open(t, st)
	snap, err := r.FindSnapshot(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := restorer.New(r, restorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	if _, err := rs.Restore(ctx, snap, target); err != nil {
		t.Fatalf("restore: %v", err)
	}
	treetest.Equal(t, src.want, treetest.Scan(t, filepath.Join(target, src.dir)))
}

// packBlobs reads the header of every pack in the store and returns, for
// each blob, the packs that hold it.
func packBlobs(t *testing.T, st store.Store) map[oid.ID][]oid.ID {
	t.Helper()
	ctx := context.Background()
	r := open(t, st)
	out := map[oid.ID][]oid.ID{}
	err := st.List(ctx, "data/", func(fi store.Info) error {
		id, err := repo.PackIDFromName(fi.Name)
		if err != nil {
			return err
		}
		blobs, err := pack.ReadHeader(ctx, st, fi.Name, fi.Size, r.Key())
		if err != nil {
			return err
		}
		for _, b := range blobs {
			out[b.ID] = append(out[b.ID], id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// names lists the objects under prefix.
func names(t *testing.T, st store.Store, prefix string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := st.List(context.Background(), prefix, func(fi store.Info) error {
		out[fi.Name] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recorder is a store that remembers the names of the objects put.
type recorder struct {
	store.Store
	mu   sync.Mutex
	puts []string
}

func (r *recorder) Put(ctx context.Context, name string, rd io.Reader, size int64) error {
	r.mu.Lock()
	r.puts = append(r.puts, name)
	r.mu.Unlock()
	return r.Store.Put(ctx, name, rd, size)
}

// putsUnder returns the recorded names that start with prefix.
func (r *recorder) putsUnder(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.puts {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
