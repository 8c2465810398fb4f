package index

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

func TestSuperseded(t *testing.T) {
	h := func(s string) oid.ID { return oid.Hash([]byte(s)) }
	a, b, c, d, gone := h("a"), h("b"), h("c"), h("d"), h("gone")
	ids := []oid.ID{a, b, c, d}
	files := []*File{
		{},                              // a: superseded by b and c; b comes first
		{Supersedes: []oid.ID{a, gone}}, // b: superseded by c; gone is not present
		{Supersedes: []oid.ID{b, a}},    // c: the newest
		nil,                             // d: unreadable, supersedes nothing
	}
	got := Superseded(ids, files)
	want := map[oid.ID]oid.ID{a: b, b: c}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Superseded differs (-want +got):\n%s", diff)
	}
	if got := Superseded(nil, nil); len(got) != 0 {
		t.Errorf("Superseded(nil, nil) = %v, want empty", got)
	}
	self := []*File{{Supersedes: []oid.ID{a}}}
	if got := Superseded([]oid.ID{a}, self); len(got) != 0 {
		t.Errorf("a file that names itself supersedes it: %v", got)
	}
}

func TestSplit(t *testing.T) {
	pe := func(n int) PackEntry { return PackEntry{Blobs: make([]pack.Blob, n)} }
	for _, c := range []struct {
		name  string
		packs []PackEntry
		max   int
		want  []int // packs per file
	}{
		{"fits", []PackEntry{pe(3), pe(3)}, 6, []int{2}},
		{"spills", []PackEntry{pe(3), pe(3), pe(5), pe(2)}, 6, []int{2, 1, 1}},
		{"oversized pack alone", []PackEntry{pe(1), pe(9), pe(1)}, 6, []int{1, 1, 1}},
		{"empty", nil, 6, []int{0}},
	} {
		var got []int
		for _, f := range Split(c.packs, c.max) {
			got = append(got, len(f.Packs))
		}
		if !cmp.Equal(got, c.want) {
			t.Errorf("%s: packs per file = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPackSizeAndReset(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := New()
	sized, unsized := randomID(r), randomID(r)
	blobs := randomPack(r, 3)
	x.AddPackEntry(PackEntry{ID: sized, Size: 12345, Blobs: blobs})
	x.AddPack(unsized, randomPack(r, 2))
	x.AddPackEntry(PackEntry{ID: sized, Size: 1}) // already indexed: ignored
	for round := range 2 {
		if size, ok := x.PackSize(sized); !ok || size != 12345 {
			t.Errorf("round %d: PackSize(sized) = %d, %v; want 12345, true", round, size, ok)
		}
		if _, ok := x.PackSize(unsized); ok {
			t.Errorf("round %d: PackSize of a pack added without size reports one", round)
		}
		if _, ok := x.PackSize(randomID(r)); ok {
			t.Errorf("round %d: PackSize of an unknown pack reports one", round)
		}
		x.Finalize() // the second round reads merged packs
	}
	x.Reset()
	if x.Len() != 0 || len(x.Packs()) != 0 || x.HasPack(sized) || x.Has(blobs[0].Type, blobs[0].ID) {
		t.Fatalf("after Reset: Len %d, packs %v", x.Len(), x.Packs())
	}
	x.AddPackEntry(PackEntry{ID: sized, Size: 99, Blobs: blobs})
	mustLookup(t, x, Entry{Pack: sized, Blob: blobs[1]})
	if size, ok := x.PackSize(sized); !ok || size != 99 {
		t.Errorf("after Reset and re-add: PackSize = %d, %v; want 99, true", size, ok)
	}
}
