package index

import (
	"bytes"
	"slices"
)

// merge sorts the pending records into a new, exactly sized slab and fanout
// table, and the pending packs into the sorted pack list. Callers hold the
// write lock.
func (x *Index) merge() {
	if len(x.pend) > 0 {
		x.mergeRecords()
	}
	if len(x.packPend) > 0 {
		x.mergePacks()
	}
}

func (x *Index) mergeRecords() {
	p := x.pend
	slices.SortStableFunc(p, comparePending)
	out := make([]rec, len(x.main)+len(p))
	fan := make([]uint32, fanoutSize+1)
	i, j, k := 0, 0, 0
	for b := range fanoutSize {
		fan[b] = uint32(k)
		mainEnd := 0
		if x.fan != nil {
			mainEnd = int(x.fan[b+1])
		}
		for i < mainEnd || (j < len(p) && int(p[j].bucket) == b) {
			// Ties take the slab record first: it was added earlier.
			if i < mainEnd && (j == len(p) || int(p[j].bucket) != b ||
				compareKey(&x.main[i], p[j].r[recKey:recPack], p[j].r.typ()) <= 0) {
				out[k] = x.main[i]
				i++
			} else {
				out[k] = p[j].r
				j++
			}
			k++
		}
	}
	fan[fanoutSize] = uint32(k)
	x.main, x.fan = out, fan
	x.pend, x.pendFirst = nil, nil
}

func (x *Index) mergePacks() {
	sorted := make([]uint32, len(x.packs))
	copy(sorted, x.packSorted)
	for no := len(x.packSorted); no < len(x.packs); no++ {
		sorted[no] = uint32(no)
	}
	slices.SortFunc(sorted, func(a, b uint32) int {
		return bytes.Compare(x.packs[a][:], x.packs[b][:])
	})
	x.packSorted, x.packPend = sorted, nil
	if cap(x.packs)-len(x.packs) > len(x.packs)/16 {
		x.packs = slices.Clone(x.packs)
		x.packSizes = slices.Clone(x.packSizes)
	}
}
