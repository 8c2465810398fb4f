package archiver

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
)

// appendOnly refuses every Delete, as a machine's vault does.
type appendOnly struct {
	store.Store
	deletes atomic.Int64
}

func (a *appendOnly) Delete(ctx context.Context, name string) error {
	a.deletes.Add(1)
	return fmt.Errorf("delete %s: %w", name, store.ErrPermission)
}

func openRepo(t *testing.T, st store.Store) *repo.Repository {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, st, []byte("secret"), repairRepoOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func repairRepoOptions() repo.Options {
	return repo.Options{KDF: crypto.TestKDF(), PackSize: 256 << 10}
}

// saveBackup backs up dir into r with parent, flushes and saves the
// snapshot.
func saveBackup(t *testing.T, r *repo.Repository, a *Archiver, dir string) (*snapshot.Snapshot, Result) {
	t.Helper()
	s, res := backup(t, a, dir)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SaveSnapshot(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s, res
}

// TestRepairLostPack loses a data pack of a repository on an append-only
// store, drops it, and checks that the next backup re-reads exactly the
// unchanged files whose chunks were in it, after which the repository
// checks clean and both snapshots restore.
func TestRepairLostPack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string][]byte{"big": randBytes(100, 1500<<10)}
	for i := range 12 {
		files[fmt.Sprintf("d%d/f%02d", i%3, i)] = randBytes(uint64(i), 40<<10+i*13<<10)
	}
	writeFiles(t, dir, files)
	ms := mem.New()
	ao := &appendOnly{Store: ms}
	r, err := repo.Init(ctx, ao, []byte("secret"), repairRepoOptions())
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := saveBackup(t, r, newArchiver(t, r, Options{Workers: 2}), dir)

	r = openRepo(t, ao)
	lost, want := pickLostPack(t, r, s1, dir, files)
	if err := ms.Delete(ctx, repo.PackName(lost)); err != nil {
		t.Fatal(err)
	}
	missing, err := r.MissingPacks(ctx)
	if err != nil || !slices.Equal(missing, []oid.ID{lost}) {
		t.Fatalf("MissingPacks = %v, %v; want [%s]", missing, err, lost.Short())
	}
	if err := r.DropPacks(ctx, missing); err != nil {
		t.Fatalf("DropPacks: %v", err)
	}
	if missing, err := r.MissingPacks(ctx); err != nil || len(missing) != 0 {
		t.Fatalf("MissingPacks after DropPacks = %v, %v; want none", missing, err)
	}

	opens := &countingOpen{}
	a := newArchiver(t, r, Options{Parent: s1, Workers: 2})
	a.open = opens.open
	s2, res := saveBackup(t, r, a, dir)
	if got := slices.Sorted(maps.Keys(opens.files)); !slices.Equal(got, want) {
		t.Errorf("second backup opened %v, want the files with chunks in the lost pack: %v", got, want)
	}
	sum := res.Summary
	if res.FilesReread != uint64(len(want)) || sum.FilesUnmodified != uint64(len(files)) || sum.FilesChanged != 0 {
		t.Errorf("second backup: FilesReread %d (want %d), summary %+v", res.FilesReread, len(want), sum)
	}
	if n := ao.deletes.Load(); n != 0 {
		t.Errorf("%d deletes tried on the append-only store", n)
	}

	r = openRepo(t, ao)
	rep, err := checker.Check(ctx, r, checker.Options{ReadData: true})
	if err != nil {
		t.Fatalf("check after repair: %v: %v", err, rep.Errors)
	}
	for _, s := range []*snapshot.Snapshot{s1, s2} {
		for name, data := range files {
			n := lookup(t, r, s.Tree, dir+"/"+name)
			if got := loadContent(t, r, n); !bytes.Equal(got, data) {
				t.Errorf("snapshot %s: %s restores %d bytes, not the %d backed up", s.ID.Short(), name, len(got), len(data))
			}
		}
	}
}

// pickLostPack chooses the data pack holding the chunk of "d0/f00" and
// returns it with the sorted paths of the files that have a chunk in it.
func pickLostPack(t *testing.T, r *repo.Repository, s *snapshot.Snapshot, dir string, files map[string][]byte) (oid.ID, []string) {
	t.Helper()
	packOf := func(id oid.ID) oid.ID {
		e, ok := r.Index().Lookup(pack.DataBlob, id)
		if !ok {
			t.Fatalf("chunk %s not indexed", id.Short())
		}
		return e.Pack
	}
	lost := packOf(lookup(t, r, s.Tree, dir+"/d0/f00").Content[0])
	var want []string
	for name := range files {
		n := lookup(t, r, s.Tree, dir+"/"+name)
		if slices.ContainsFunc(n.Content, func(id oid.ID) bool { return packOf(id) == lost }) {
			want = append(want, dir+"/"+name)
		}
	}
	slices.Sort(want)
	if len(want) < 2 {
		t.Fatalf("the lost pack holds chunks of %v: want several files", want)
	}
	return lost, want
}
