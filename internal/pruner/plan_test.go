package pruner

import (
	"testing"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
)

func TestMaxUnused(t *testing.T) {
	for _, c := range []struct {
		pct  float64
		used int64
		want int64
	}{
		{0, 1000, 0},
		{-1, 1000, 0},
		{5, 950, 50},   // 50 of 1000 is 5%
		{50, 100, 100}, // half and half
		{100, 10, 1 << 62},
	} {
		if got := maxUnused(c.pct, c.used); got != c.want {
			t.Errorf("maxUnused(%v, %d) = %d, want %d", c.pct, c.used, got, c.want)
		}
	}
}

func use(id byte, used, unused int64) packUse {
	return packUse{entry: index.PackEntry{ID: oid.ID{id}}, usedBytes: used, unusedBytes: unused}
}

func TestChooseRepacksMostWastefulFirst(t *testing.T) {
	partial := []packUse{use(1, 900, 100), use(2, 100, 900), use(3, 500, 500)}
	// used 1500 of 3000 bytes; at 20% at most 375 unused bytes may stay.
	p := &pruner{o: Options{MaxUnusedPercent: 20}, stats: &Stats{}}
	pl := &plan{}
	p.choose(pl, partial, 1500, 1500)
	var repacked, kept []byte
	for _, u := range pl.repack {
		repacked = append(repacked, u.entry.ID[0])
	}
	for _, pe := range pl.keep {
		kept = append(kept, pe.ID[0])
	}
	if string(repacked) != "\x02\x03" || string(kept) != "\x01" {
		t.Errorf("repacked %v, kept %v; want [2 3], [1]", repacked, kept)
	}
}
