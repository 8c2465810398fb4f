package archiver

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/chunker"
	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store/mem"
)

var _ Repo = (*repo.Repository)(nil)

// TestRealRepository backs up into a repository over an in-memory store,
// reopens it, checks every file's content and then makes an incremental
// backup that adds no data.
func TestRealRepository(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string][]byte{
		"small": []byte("small file"), "empty": nil, "odd\xff\nname": []byte("odd"),
		"sub/big": randBytes(5, 2*chunker.MaxSize+777), "sub/dup": randBytes(5, 2*chunker.MaxSize+777),
	}
	writeFiles(t, dir, files)
	st := mem.New()
	pw := []byte("secret")
	opts := repo.Options{KDF: crypto.TestKDF(), PackSize: 1 << 20}
	r, err := repo.Init(ctx, st, pw, opts)
	if err != nil {
		t.Fatal(err)
	}
	s1, res := backup(t, newArchiver(t, r, Options{Workers: 2}), dir)
	if res.Summary.FilesNew != 5 || len(res.Errors) != 0 {
		t.Fatalf("first backup: %+v, errors %v", res.Summary, res.Errors)
	}
	if res.Summary.DataAdded >= res.Summary.BytesProcessed {
		t.Errorf("duplicate file not deduplicated: added %d of %d bytes", res.Summary.DataAdded, res.Summary.BytesProcessed)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := r.SaveSnapshot(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}

	r2, err := repo.Open(ctx, st, pw, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	loaded, err := r2.LoadSnapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		n := lookup(t, r2, loaded.Tree, dir+"/"+name)
		if got := loadContent(t, r2, n); !bytes.Equal(got, want) {
			t.Errorf("%q: restored %d bytes, want %d", name, len(got), len(want))
		}
	}

	s2, res := backup(t, newArchiver(t, r2, Options{Parent: loaded}), dir)
	if res.Summary.FilesUnmodified != 5 || res.Summary.DataBlobs != 0 || *s2.Parent != id {
		t.Errorf("incremental backup: %+v, parent %v", res.Summary, s2.Parent)
	}
	if s2.Time.Before(s1.Time) || time.Since(s2.Time) > time.Hour {
		t.Errorf("snapshot time %v", s2.Time)
	}
}

func loadContent(t *testing.T, r *repo.Repository, n *snapshot.Node) []byte {
	t.Helper()
	var out []byte
	for _, id := range n.Content {
		b, err := r.LoadBlob(context.Background(), pack.DataBlob, id, nil)
		if err != nil {
			t.Fatalf("%q: %v", n.Name, err)
		}
		out = append(out, b...)
	}
	return out
}
