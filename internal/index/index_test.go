package index

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

func randomID(r *rand.Rand) oid.ID {
	var id oid.ID
	for i := 0; i < oid.Size; i += 8 {
		binary.LittleEndian.PutUint64(id[i:], r.Uint64())
	}
	return id
}

// randomPack returns n blobs with cumulative offsets; lengths stay in the
// record's fast path.
func randomPack(r *rand.Rand, n int) []pack.Blob {
	blobs := make([]pack.Blob, n)
	var off uint32
	for i := range blobs {
		raw := r.Uint32N(4 << 20)
		blobs[i] = pack.Blob{
			Type: pack.BlobType(r.IntN(2)), ID: randomID(r), Offset: off,
			Length: raw/2 + pack.Overhead, RawLength: raw, Compressed: r.IntN(2) == 0,
		}
		off += blobs[i].Length
	}
	return blobs
}

func mustLookup(t *testing.T, x *Index, want Entry) {
	t.Helper()
	got, ok := x.Lookup(want.Type, want.ID)
	if !ok {
		t.Fatalf("Lookup(%s %s) not found", want.Type, want.ID.Short())
	}
	if got != want {
		t.Fatalf("Lookup(%s %s) differs (-want +got):\n%s", want.Type, want.ID.Short(), cmp.Diff(want, got))
	}
	if !x.Has(want.Type, want.ID) {
		t.Fatalf("Has(%s %s) = false", want.Type, want.ID.Short())
	}
}

func TestAddLookupBeforeAndAfterFinalize(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := New()
	var want []Entry
	for range 40 {
		p, blobs := randomID(r), randomPack(r, 25)
		x.AddPack(p, blobs)
		for _, b := range blobs {
			want = append(want, Entry{Pack: p, Blob: b})
		}
	}
	for round, finalize := range []bool{false, true} {
		if finalize {
			x.Finalize()
		}
		for _, e := range want {
			mustLookup(t, x, e)
		}
		if x.Len() != len(want) {
			t.Errorf("round %d: Len() = %d, want %d", round, x.Len(), len(want))
		}
	}
	missing := want[0].ID
	missing[PrefixLen-1] ^= 1
	if x.Has(want[0].Type, missing) {
		t.Errorf("Has(unknown ID) = true")
	}
	if x.Has(1-want[0].Type, want[0].ID) {
		t.Errorf("Has(other type) = true")
	}
}

func TestTypeIsPartOfKeyAndDuplicates(t *testing.T) {
	id := oid.Hash([]byte("x"))
	p1, p2, p3 := oid.Hash([]byte("p1")), oid.Hash([]byte("p2")), oid.Hash([]byte("p3"))
	data := pack.Blob{Type: pack.DataBlob, ID: id, Length: 100, RawLength: 72}
	tree := pack.Blob{Type: pack.TreeBlob, ID: id, Offset: 100, Length: 50, RawLength: 80, Compressed: true}
	x := New()
	x.AddPack(p1, []pack.Blob{data})
	x.Finalize()
	x.AddPack(p2, []pack.Blob{data, tree})
	x.AddPack(p2, []pack.Blob{data}) // already indexed: ignored
	x.AddPack(p3, []pack.Blob{tree})
	check := func() {
		t.Helper()
		mustLookup(t, x, Entry{Pack: p1, Blob: data})
		mustLookup(t, x, Entry{Pack: p2, Blob: tree})
		if x.Len() != 4 {
			t.Errorf("Len() = %d, want 4", x.Len())
		}
		want := []Entry{{Pack: p1, Blob: data}, {Pack: p2, Blob: data}}
		if diff := cmp.Diff(want, x.LookupAll(pack.DataBlob, id)); diff != "" {
			t.Errorf("LookupAll(data) differs (-want +got):\n%s", diff)
		}
		want = []Entry{{Pack: p2, Blob: tree}, {Pack: p3, Blob: tree}}
		if diff := cmp.Diff(want, x.LookupAll(pack.TreeBlob, id)); diff != "" {
			t.Errorf("LookupAll(tree) differs (-want +got):\n%s", diff)
		}
	}
	check()
	x.Finalize()
	check()
	if diff := cmp.Diff([]oid.ID{p1, p2, p3}, x.Packs()); diff != "" {
		t.Errorf("Packs() differs:\n%s", diff)
	}
	if !x.HasPack(p2) || x.HasPack(id) {
		t.Errorf("HasPack(p2) = %v, HasPack(unknown) = %v", x.HasPack(p2), x.HasPack(id))
	}
}

func TestLargeLengthsUseOverflow(t *testing.T) {
	p := oid.Hash([]byte("pack"))
	blobs := []pack.Blob{
		{Type: pack.TreeBlob, ID: oid.Hash([]byte("a")), Length: maxField - 1, RawLength: maxField - 1},
		{Type: pack.TreeBlob, ID: oid.Hash([]byte("b")), Offset: maxField - 1, Length: maxField, RawLength: 10, Compressed: true},
		{Type: pack.DataBlob, ID: oid.Hash([]byte("c")), Offset: 2*maxField - 1, Length: 100, RawLength: pack.MaxRawLength},
		{Type: pack.TreeBlob, ID: oid.Hash([]byte("d")), Offset: 2*maxField + 99, Length: pack.MaxRawLength + pack.Overhead, RawLength: pack.MaxRawLength},
		{Type: pack.DataBlob, ID: oid.Hash([]byte("e")), Offset: 1<<32 - 100, Length: 1<<32 - 1, RawLength: 1<<32 - 1},
	}
	x := New()
	x.AddPack(p, blobs)
	for pass := range 2 {
		for _, b := range blobs {
			mustLookup(t, x, Entry{Pack: p, Blob: b})
		}
		if pass == 0 {
			x.Finalize()
		}
	}
	if len(x.big) != 4 {
		t.Errorf("overflow map has %d entries, want 4", len(x.big))
	}
}

func TestEach(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := New()
	want := map[Entry]bool{}
	for i := range 20 {
		p := randomID(r)
		blobs := randomPack(r, 10)
		x.AddPack(p, blobs)
		for _, b := range blobs {
			clear(b.ID[PrefixLen:])
			want[Entry{Pack: p, Blob: b}] = true
		}
		if i == 10 {
			x.Finalize() // half merged, half pending
		}
	}
	got := map[Entry]bool{}
	x.Each(func(e Entry) bool { got[e] = true; return true })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Each differs (-want +got):\n%s", diff)
	}
	n := 0
	x.Each(func(Entry) bool { n++; return n < 5 })
	if n != 5 {
		t.Errorf("Each after fn returned false: %d calls, want 5", n)
	}
}

func TestSamePrefix(t *testing.T) {
	a := oid.Hash([]byte("a"))
	b := a
	b[PrefixLen] ^= 1
	c := a
	c[PrefixLen-1] ^= 1
	if !SamePrefix(a, b) || SamePrefix(a, c) {
		t.Errorf("SamePrefix(a, b) = %v, SamePrefix(a, c) = %v; want true, false", SamePrefix(a, b), SamePrefix(a, c))
	}
}

// TestModel adds enough blobs to trigger automatic merges, with duplicate
// packs and duplicate blobs, and compares every lookup with a map.
func TestModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := New()
	model := map[pkey]Entry{}
	var packs []oid.ID
	var all []pack.Blob
	for i := range 1800 {
		p := randomID(r)
		blobs := randomPack(r, 40)
		if i%7 == 0 && len(all) > 0 { // a blob already stored elsewhere
			old := all[r.IntN(len(all))]
			blobs[0].Type, blobs[0].ID = old.Type, old.ID
		}
		x.AddPack(p, blobs)
		packs = append(packs, p)
		for _, b := range blobs {
			if k := makePkey(b.Type, &b.ID); model[k] == (Entry{}) {
				model[k] = Entry{Pack: p, Blob: b}
			}
		}
		all = append(all, blobs...)
	}
	if x.main == nil {
		t.Fatal("no automatic merge happened")
	}
	for pass := range 2 {
		for _, e := range model {
			mustLookup(t, x, e)
		}
		if pass == 0 {
			x.Finalize() // merge into a non-empty slab
		}
	}
	if x.Len() != len(all) {
		t.Errorf("Len() = %d, want %d", x.Len(), len(all))
	}
	if diff := cmp.Diff(packs, x.Packs()); diff != "" {
		t.Errorf("Packs() differs")
	}
}

func TestConcurrentReadersAndWriter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := New()
	type added struct {
		p     oid.ID
		blobs []pack.Blob
	}
	var batches []added
	for range 200 {
		batches = append(batches, added{randomID(r), randomPack(r, 20)})
	}
	x.AddPack(batches[0].p, batches[0].blobs)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, b := range batches[1:] {
			x.AddPack(b.p, b.blobs)
			if i%50 == 0 {
				x.Finalize()
			}
		}
	})
	for range 3 {
		wg.Go(func() {
			for i := range 200 {
				for _, b := range batches[0].blobs {
					if e, ok := x.Lookup(b.Type, b.ID); !ok || e.Blob != b {
						t.Errorf("Lookup(%s) = %v, %v", b.ID.Short(), e, ok)
						return
					}
				}
				if i%20 == 0 {
					x.Each(func(Entry) bool { return true })
				}
				_ = x.Len()
			}
		})
	}
	wg.Wait()
}

func TestAddPackPanicsOnUnknownType(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AddPack did not panic")
		}
	}()
	New().AddPack(oid.ID{}, []pack.Blob{{Type: 2, Length: 28}})
}
