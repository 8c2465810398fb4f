package index

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

// buildLarge indexes packs×perPack random blobs, generating them on the fly
// so that only the index stays allocated, and returns the index and the
// last pack's blobs.
func buildLarge(packs, perPack int) (*Index, []pack.Blob) {
	r := rand.New(rand.NewPCG(9, 10))
	x := New()
	blobs := make([]pack.Blob, perPack)
	for range packs {
		var off uint32
		for i := range blobs {
			blobs[i] = pack.Blob{Type: pack.DataBlob, ID: randomID(r), Offset: off, Length: 600 << 10, RawLength: 1 << 20, Compressed: true}
			off += blobs[i].Length
		}
		x.AddPack(randomID(r), blobs)
	}
	x.Finalize()
	return x, blobs
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMemoryPerEntry checks the design limit of under 40 bytes of heap per
// indexed blob, for 1,000,000 blobs in 50,000 packs.
func TestMemoryPerEntry(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("builds a 1,000,000-entry index: slow with -short or -race")
	}
	const packs, perPack = 50_000, 20
	before := heapAlloc()
	x, last := buildLarge(packs, perPack)
	after := heapAlloc()
	perEntry := float64(after-before) / float64(x.Len())
	t.Logf("%d entries in %d packs: %.2f bytes/entry (heap %d -> %d)", x.Len(), packs, perEntry, before, after)
	if perEntry >= 40 {
		t.Errorf("index uses %.2f bytes/entry, want < 40", perEntry)
	}
	if !x.Has(last[0].Type, last[0].ID) || x.Len() != packs*perPack {
		t.Errorf("index lost entries: Len() = %d", x.Len())
	}
	runtime.KeepAlive(x)
}

func BenchmarkLookup(b *testing.B) {
	x, _ := buildLarge(50_000, 20)
	r := rand.New(rand.NewPCG(9, 10)) // replays buildLarge: 20 blob IDs, then the pack ID
	hits := make([]oid.ID, 4096)
	for i := range hits {
		for j := range 21 {
			if id := randomID(r); j == 0 {
				hits[i] = id
			}
		}
	}
	misses := make([]oid.ID, len(hits))
	r = rand.New(rand.NewPCG(11, 12))
	for i := range misses {
		misses[i] = randomID(r)
	}
	for _, tc := range []struct {
		name string
		ids  []oid.ID
		want bool
	}{{"hit", hits, true}, {"miss", misses, false}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, ok := x.Lookup(pack.DataBlob, tc.ids[i%len(tc.ids)]); ok != tc.want {
					b.Fatalf("Lookup = %v, want %v", ok, tc.want)
				}
			}
		})
	}
}
