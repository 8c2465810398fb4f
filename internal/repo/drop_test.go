package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/store/mem"
)

// appendOnly is a store that refuses every Delete, as a machine's vault
// does, and counts the attempts.
type appendOnly struct {
	store.Store
	deletes atomic.Int64
}

func (a *appendOnly) Delete(ctx context.Context, name string) error {
	a.deletes.Add(1)
	return fmt.Errorf("delete %s: %w", name, store.ErrPermission)
}

// group is the blobs of one flush: one index file and the packs it lists.
type group struct {
	file  oid.ID
	packs []oid.ID          // sorted
	blobs map[oid.ID][]byte // data blob ID -> plaintext
}

// buildGroups makes a repository with n index files, each listing two or
// three small packs of random blobs.
func buildGroups(t *testing.T, n int) (*mem.Store, []group) {
	t.Helper()
	ctx := context.Background()
	st := mem.New()
	o := testOptions()
	o.PackSize = 8 << 10
	r, err := Init(ctx, st, testPassword, o)
	if err != nil {
		t.Fatal(err)
	}
	groups := make([]group, n)
	for g := range groups {
		before := r.IndexFiles()
		groups[g].blobs = map[oid.ID][]byte{}
		for i := range 7 {
			b := randBytes(uint64(100*g+i), 3<<10)
			id, _, err := r.SaveBlob(ctx, pack.DataBlob, b)
			if err != nil {
				t.Fatal(err)
			}
			groups[g].blobs[id] = b
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		added := slices.DeleteFunc(r.IndexFiles(), func(id oid.ID) bool { return slices.Contains(before, id) })
		if len(added) != 1 {
			t.Fatalf("group %d wrote %d index files, want 1", g, len(added))
		}
		f, err := r.LoadIndexFile(ctx, added[0])
		if err != nil {
			t.Fatal(err)
		}
		groups[g].file = added[0]
		for _, pe := range f.Packs {
			groups[g].packs = append(groups[g].packs, pe.ID)
		}
		slices.SortFunc(groups[g].packs, compareIDs)
	}
	return st, groups
}

func openLoaded(t *testing.T, st store.Store) *Repository {
	t.Helper()
	ctx := context.Background()
	o := testOptions()
	o.PackSize = 8 << 10
	r, err := Open(ctx, st, testPassword, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// packOf returns the pack the index gives for a data blob.
func packOf(r *Repository, id oid.ID) (oid.ID, bool) {
	e, ok := r.Index().Lookup(pack.DataBlob, id)
	return e.Pack, ok
}

func sortedIDs(ids ...oid.ID) []oid.ID {
	return slices.SortedFunc(slices.Values(ids), compareIDs)
}

func TestLoadIndexSkipsSuperseded(t *testing.T) {
	ctx := context.Background()
	st, groups := buildGroups(t, 2)
	a, b := groups[0], groups[1]
	r := openLoaded(t, st)
	fa, err := r.LoadIndexFile(ctx, a.file)
	if err != nil {
		t.Fatal(err)
	}
	dropped := fa.Packs[0].ID
	ghost := oid.Hash([]byte("an index file deleted long ago"))
	c, err := r.SaveIndexFile(ctx, &index.File{Supersedes: []oid.ID{a.file, ghost}, Packs: fa.Packs[1:]})
	if err != nil {
		t.Fatal(err)
	}

	r = openLoaded(t, st)
	if got, want := sortedIDs(r.IndexFiles()...), sortedIDs(b.file, c); !slices.Equal(got, want) {
		t.Errorf("IndexFiles() = %v, want %v (a superseded)", got, want)
	}
	for id, data := range a.blobs {
		got, err := r.LoadBlob(ctx, pack.DataBlob, id, nil)
		inDropped := slices.ContainsFunc(fa.Packs[0].Blobs, func(bl pack.Blob) bool { return bl.ID == id })
		switch {
		case inDropped && !errors.Is(err, ErrBlobNotFound):
			t.Errorf("blob %s of the pack only the superseded file lists: LoadBlob = %v, want ErrBlobNotFound", id.Short(), err)
		case !inDropped && (err != nil || !bytes.Equal(got, data)):
			t.Errorf("blob %s: LoadBlob = %v", id.Short(), err)
		}
	}
	if r.Index().HasPack(dropped) {
		t.Errorf("pack %s, listed only by a superseded file, is indexed", dropped.Short())
	}

	// A chain: d supersedes c, which supersedes a. Only b and d are read.
	fc, err := r.LoadIndexFile(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.SaveIndexFile(ctx, &index.File{Supersedes: []oid.ID{c}, Packs: fc.Packs})
	if err != nil {
		t.Fatal(err)
	}
	r = openLoaded(t, st)
	if got, want := sortedIDs(r.IndexFiles()...), sortedIDs(b.file, d); !slices.Equal(got, want) {
		t.Errorf("IndexFiles() with a chain = %v, want %v", got, want)
	}
	if r.Index().HasPack(dropped) || !r.Index().HasPack(fa.Packs[1].ID) {
		t.Error("the chain's packs are not the newest file's")
	}
}

// newIndexFiles returns the index files in st that are not in before.
func newIndexFiles(t *testing.T, r *Repository, before []oid.ID) []oid.ID {
	t.Helper()
	ids, err := r.List(context.Background(), KindIndex)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(ids, func(id oid.ID) bool { return slices.Contains(before, id) })
}

// TestMissingAndDropPacks loses one pack and truncates another, finds both
// with MissingPacks and drops them over an append-only store.
func TestMissingAndDropPacks(t *testing.T) {
	ctx := context.Background()
	st, groups := buildGroups(t, 3)
	lost, truncated := groups[0].packs[0], groups[1].packs[1]
	if err := st.Delete(ctx, PackName(lost)); err != nil {
		t.Fatal(err)
	}
	b, err := store.ReadAll(ctx, st, PackName(truncated))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, PackName(truncated)); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, PackName(truncated), bytes.NewReader(b[:len(b)/2]), int64(len(b)/2)); err != nil {
		t.Fatal(err)
	}
	ao := &appendOnly{Store: st}
	r := openLoaded(t, ao)
	missing, err := r.MissingPacks(ctx)
	if want := sortedIDs(lost, truncated); err != nil || !slices.Equal(missing, want) {
		t.Fatalf("MissingPacks = %v, %v; want %v", missing, err, want)
	}
	inLost := map[oid.ID]bool{}
	for _, g := range groups {
		for id := range g.blobs {
			if p, _ := packOf(r, id); p == lost || p == truncated {
				inLost[id] = true
			}
		}
	}
	if len(inLost) == 0 {
		t.Fatal("the lost packs hold no blobs")
	}
	before, _ := r.List(ctx, KindIndex)
	if err := r.DropPacks(ctx, missing); err != nil {
		t.Fatalf("DropPacks: %v", err)
	}
	if n := ao.deletes.Load(); n != 0 {
		t.Errorf("DropPacks tried %d deletes", n)
	}
	if got, err := r.MissingPacks(ctx); err != nil || len(got) != 0 {
		t.Errorf("MissingPacks after DropPacks = %v, %v; want none", got, err)
	}
	added := newIndexFiles(t, r, before)
	if len(added) != 1 {
		t.Fatalf("DropPacks wrote %d index files, want 1", len(added))
	}
	f, err := r.LoadIndexFile(ctx, added[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := sortedIDs(groups[0].file, groups[1].file); !slices.Equal(f.Supersedes, want) {
		t.Errorf("new index file supersedes %v, want %v", f.Supersedes, want)
	}
	if got, want := len(f.Packs), len(groups[0].packs)+len(groups[1].packs)-2; got != want {
		t.Errorf("new index file lists %d packs, want %d", got, want)
	}
	wantFiles := sortedIDs(groups[2].file, added[0])
	if got := sortedIDs(r.IndexFiles()...); !slices.Equal(got, wantFiles) {
		t.Errorf("IndexFiles() = %v, want %v", got, wantFiles)
	}
	checkDropped(t, r, groups, lost, truncated)

	// Reopened, the repository sees the same; dropping again changes nothing.
	r = openLoaded(t, ao)
	checkDropped(t, r, groups, lost, truncated)
	if got := sortedIDs(r.IndexFiles()...); !slices.Equal(got, wantFiles) {
		t.Errorf("IndexFiles() after reopening = %v, want %v", got, wantFiles)
	}
	before, _ = r.List(ctx, KindIndex)
	if err := r.DropPacks(ctx, missing); err != nil {
		t.Fatalf("second DropPacks: %v", err)
	}
	if added := newIndexFiles(t, r, before); len(added) != 0 {
		t.Errorf("second DropPacks wrote index files %v", added)
	}

	// The next backup stores the lost chunks again.
	stored := 0
	for _, g := range groups[:2] {
		for id, data := range g.blobs {
			if _, added, err := r.SaveBlob(ctx, pack.DataBlob, data); err != nil {
				t.Fatal(err)
			} else if added {
				stored++
				if !inLost[id] {
					t.Errorf("blob %s was stored again, although its pack is not lost", id.Short())
				}
			}
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if stored != len(inLost) {
		t.Errorf("%d blobs stored again, want the %d of the lost packs", stored, len(inLost))
	}
	checkAllBlobs(t, openLoaded(t, st), groups)
}

// checkDropped checks that the blobs of the dropped packs are unknown and
// that every other blob loads.
func checkDropped(t *testing.T, r *Repository, groups []group, dropped ...oid.ID) {
	t.Helper()
	ctx := context.Background()
	for _, p := range dropped {
		if r.Index().HasPack(p) {
			t.Errorf("dropped pack %s is indexed", p.Short())
		}
	}
	for _, g := range groups {
		for id, data := range g.blobs {
			got, err := r.LoadBlob(ctx, pack.DataBlob, id, nil)
			if errors.Is(err, ErrBlobNotFound) {
				continue // in a dropped pack
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("blob %s: LoadBlob = %v", id.Short(), err)
			}
		}
	}
}

func checkAllBlobs(t *testing.T, r *Repository, groups []group) {
	t.Helper()
	for _, g := range groups {
		for id, data := range g.blobs {
			got, err := r.LoadBlob(context.Background(), pack.DataBlob, id, nil)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("blob %s: LoadBlob = %v", id.Short(), err)
			}
		}
	}
}

// TestDropPacksEmptiesAFile drops every pack of one index file: the new
// file lists no pack and only supersedes it.
func TestDropPacksEmptiesAFile(t *testing.T) {
	ctx := context.Background()
	st, groups := buildGroups(t, 2)
	r := openLoaded(t, &appendOnly{Store: st})
	before, _ := r.List(ctx, KindIndex)
	if err := r.DropPacks(ctx, groups[1].packs); err != nil {
		t.Fatal(err)
	}
	added := newIndexFiles(t, r, before)
	if len(added) != 1 {
		t.Fatalf("DropPacks wrote %d index files, want 1", len(added))
	}
	f, err := r.LoadIndexFile(ctx, added[0])
	if err != nil || len(f.Packs) != 0 || !slices.Equal(f.Supersedes, []oid.ID{groups[1].file}) {
		t.Fatalf("new index file = %+v, %v; want no packs, superseding %s", f, err, groups[1].file.Short())
	}
	r = openLoaded(t, st)
	for _, p := range groups[1].packs {
		if r.Index().HasPack(p) {
			t.Errorf("dropped pack %s is indexed", p.Short())
		}
	}
	if got, want := len(r.Index().Packs()), len(groups[0].packs); got != want {
		t.Errorf("%d packs indexed, want %d", got, want)
	}
}

// A DropPacks whose index write fails (before or after the store acted)
// leaves a repository that still works and a second call completes.
func TestDropPacksAfterFailedWrite(t *testing.T) {
	for _, effect := range []faulty.Effect{faulty.Fail, faulty.AckLost} {
		ctx := context.Background()
		st, groups := buildGroups(t, 2)
		lost := groups[0].packs[:1]
		fs := faulty.New(st, faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Prefix: "index/", Nth: 1, Effect: effect}))
		r := openLoaded(t, fs)
		if err := r.DropPacks(ctx, lost); err == nil {
			t.Fatalf("effect %d: DropPacks succeeded although its index write failed", effect)
		}
		if fs.Injected(faulty.OpPut) != 1 {
			t.Fatalf("effect %d: the fault did not fire", effect)
		}
		checkDropped(t, openLoaded(t, st), groups) // every blob still loads or is cleanly unknown
		r = openLoaded(t, st)
		if err := r.DropPacks(ctx, lost); err != nil {
			t.Fatalf("effect %d: second DropPacks: %v", effect, err)
		}
		r = openLoaded(t, st)
		if r.Index().HasPack(lost[0]) {
			t.Errorf("effect %d: dropped pack still indexed", effect)
		}
		if got, want := len(r.Index().Packs()), len(groups[0].packs)+len(groups[1].packs)-1; got != want {
			t.Errorf("effect %d: %d packs indexed, want %d", effect, got, want)
		}
	}
}
