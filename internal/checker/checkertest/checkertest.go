// Package checkertest builds small repositories for the tests of check,
// prune and the other workflows, and verifies them: every invariant with
// checker.Check, and every file's content read back blob by blob.
package checkertest

import (
	"context"
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
)

// Password opens every repository the package creates.
const Password = "checkertest"

// ChunkSize is the fixed size files are cut into, so tests can reason about
// blobs; real backups use the content-defined chunker.
const ChunkSize = 1024

// PackSize is small so a few files make several packs.
const PackSize = 8 << 10

// Files maps slash-separated paths ("dir/name") to contents.
type Files map[string][]byte

// Init creates a repository in st with a test-cost KDF and small packs.
func Init(t testing.TB, st store.Store) *repo.Repository {
	t.Helper()
	r, err := repo.Init(context.Background(), st, []byte(Password), options())
	if err != nil {
		t.Fatalf("init repository: %v", err)
	}
	return r
}

// Open opens the repository in st and loads its index.
func Open(t testing.TB, st store.Store) *repo.Repository {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, st, []byte(Password), options())
	if err != nil {
		t.Fatalf("open repository: %v", err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatalf("load index: %v", err)
	}
	return r
}

func options() repo.Options {
	return repo.Options{KDF: crypto.TestKDF(), PackSize: PackSize, Host: "testhost"}
}

// RandomFiles returns n files with random, incompressible contents of up to
// maxSize bytes, some of them in a subdirectory, drawn from rng.
func RandomFiles(rng *rand.Rand, prefix string, n, maxSize int) Files {
	files := make(Files, n)
	for i := range n {
		name := prefix + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if i%3 == 2 {
			name = "sub/" + name
		}
		b := make([]byte, 1+rng.IntN(maxSize))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		files[name] = b
	}
	return files
}

// AddSnapshot stores files as a snapshot of host taken at when, flushes,
// and returns the snapshot.
func AddSnapshot(t testing.TB, r *repo.Repository, host string, when time.Time, files Files) *snapshot.Snapshot {
	t.Helper()
	ctx := context.Background()
	root, err := saveDir(ctx, r, files, "")
	if err != nil {
		t.Fatalf("save tree: %v", err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	s := &snapshot.Snapshot{Time: when, Hostname: host, Paths: []string{"/data"}, Tree: root}
	if _, err := r.SaveSnapshot(ctx, s); err != nil {
		t.Fatalf("save snapshot: %v", err)
	}
	return s
}

// saveDir saves the files under dir (relative, "" for the root) and returns
// the directory's tree ID.
func saveDir(ctx context.Context, r *repo.Repository, files Files, dir string) (oid.ID, error) {
	tree := &snapshot.Tree{}
	subdirs := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		content := files[name]
		rel, ok := strings.CutPrefix(name, dir)
		if !ok {
			continue
		}
		if first, _, nested := strings.Cut(rel, "/"); nested {
			subdirs[first] = true
			continue
		}
		n, err := saveFile(ctx, r, rel, content)
		if err != nil {
			return oid.ID{}, err
		}
		tree.Nodes = append(tree.Nodes, n)
	}
	for _, sub := range slices.Sorted(maps.Keys(subdirs)) {
		id, err := saveDir(ctx, r, files, dir+sub+"/")
		if err != nil {
			return oid.ID{}, err
		}
		tree.Nodes = append(tree.Nodes, snapshot.Node{Name: sub, Type: snapshot.TypeDir, Mode: 0o755, Subtree: &id})
	}
	tree.Sort()
	return r.SaveTree(ctx, tree)
}

func saveFile(ctx context.Context, r *repo.Repository, name string, content []byte) (snapshot.Node, error) {
	n := snapshot.Node{Name: name, Type: snapshot.TypeFile, Mode: 0o644, Size: uint64(len(content))}
	for c := range slices.Chunk(content, ChunkSize) {
		id, _, err := r.SaveBlob(ctx, pack.DataBlob, c)
		if err != nil {
			return n, err
		}
		n.Content = append(n.Content, id)
	}
	return n, nil
}

// Restore reads back every file of s through r's index.
func Restore(t testing.TB, r *repo.Repository, s *snapshot.Snapshot) Files {
	t.Helper()
	files := Files{}
	if err := restoreDir(context.Background(), r, s.Tree, "", files); err != nil {
		t.Fatalf("restore snapshot %s: %v", s.ID.Short(), err)
	}
	return files
}

func restoreDir(ctx context.Context, r *repo.Repository, id oid.ID, dir string, files Files) error {
	tree, err := r.LoadTree(ctx, id)
	if err != nil {
		return err
	}
	for _, n := range tree.Nodes {
		p := path.Join(dir, n.Name)
		if n.Subtree != nil {
			if err := restoreDir(ctx, r, *n.Subtree, p, files); err != nil {
				return err
			}
			continue
		}
		content := []byte{}
		for _, c := range n.Content {
			b, err := r.LoadBlob(ctx, pack.DataBlob, c, nil)
			if err != nil {
				return err
			}
			content = append(content, b...)
		}
		files[p] = content
	}
	return nil
}

// MustCheck runs a full check, reading all data, and fails the test on any
// error. It returns the report for assertions on warnings.
func MustCheck(t testing.TB, st store.Store) *checker.Report {
	t.Helper()
	r := Open(t, st)
	rep, err := checker.Check(context.Background(), r, checker.Options{ReadData: true})
	if err != nil {
		for _, p := range rep.Errors {
			t.Errorf("check: %v", p)
		}
		t.Fatalf("check: %v", err)
	}
	return rep
}

// Equal reports whether two file sets are equal, naming the first
// difference.
func Equal(got, want Files) (bool, string) {
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			return false, "missing " + name
		case string(g) != string(w):
			return false, "content of " + name + " differs"
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			return false, "extra " + name
		}
	}
	return true, ""
}
