package archiver

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
)

// nullRepo hashes and forgets: it measures the archiver alone.
type nullRepo struct{}

func (nullRepo) SaveBlob(ctx context.Context, t pack.BlobType, plain []byte) (oid.ID, bool, error) {
	return oid.Hash(plain), true, nil
}

func (nullRepo) HasBlob(t pack.BlobType, id oid.ID) bool { return true }

func (nullRepo) SaveTree(ctx context.Context, t *snapshot.Tree) (oid.ID, error) {
	b, err := snapshot.EncodeTree(t)
	return oid.Hash(b), err
}

func (nullRepo) LoadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error) {
	return nil, errors.New("null repository holds no trees")
}

func (nullRepo) ChunkerSeed() uint64 { return 1 }

// BenchmarkSnapshot backs up 2000 small files and 4 larger ones (28 MiB).
func BenchmarkSnapshot(b *testing.B) {
	dir := b.TempDir()
	files := map[string][]byte{}
	for i := range 2000 {
		files[filepath.Join(fmt.Sprint(i%20), fmt.Sprint(i))] = randBytes(uint64(i), 1000+i)
	}
	for i := range 4 {
		files[fmt.Sprint("big", i)] = randBytes(uint64(1e6+i), 6<<20)
	}
	writeFiles(b, dir, files)
	a, err := New(nullRepo{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(28 << 20)
	for b.Loop() {
		if _, _, err := a.Snapshot(context.Background(), []string{dir}); err != nil {
			b.Fatal(err)
		}
	}
}
