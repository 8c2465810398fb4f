package pruner

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

// plan is what a prune will do.
type plan struct {
	keep     []index.PackEntry // packs that stay as they are
	repack   []packUse         // packs whose used blobs are copied
	remove   []oid.ID          // packs to delete once the new index exists
	oldIndex []oid.ID          // index files the new index supersedes
	added    []index.PackEntry // packs written by repacking
	noop     bool              // nothing to delete, repack or clean up
}

// packUse is how much of one pack the snapshots need.
type packUse struct {
	entry       index.PackEntry
	used        []pack.Blob // the blobs this pack keeps for the snapshots
	usedBytes   int64
	unusedBytes int64
}

// plan assigns every used blob to exactly one present pack, classifies the
// packs and chooses which partly used ones to repack.
func (p *pruner) plan() (*plan, error) {
	uses := p.claim()
	for k, claimed := range p.used {
		if !claimed {
			return nil, fmt.Errorf("%w: %s blob %s is only in packs missing from the store", ErrIncomplete, k.t, k.id.Short())
		}
	}
	pl := &plan{oldIndex: p.indexIDs}
	var partial []packUse
	var used, unused int64
	for _, u := range uses {
		used += u.usedBytes
		switch {
		case u.usedBytes == 0:
			pl.remove = append(pl.remove, u.entry.ID)
			p.stats.PacksRemoved++
			continue
		case u.unusedBytes == 0:
			pl.keep = append(pl.keep, u.entry)
			continue
		}
		unused += u.unusedBytes
		partial = append(partial, u)
	}
	p.choose(pl, partial, used, unused)
	p.addUnreferenced(pl)
	p.tally(pl, uses)
	pl.noop = len(pl.repack) == 0 && len(pl.remove) == 0 && p.stats.PacksMissing == 0 && !p.superseded
	return pl, nil
}

// claim walks the present packs, fullest first, and lets each claim the
// used blobs no earlier pack claimed. Filling the fullest packs first makes
// the copies in packs left by an interrupted repack the ones that stay.
func (p *pruner) claim() []packUse {
	var uses []packUse
	for _, id := range sortedIDs(p.packs) {
		if _, ok := p.stored[id]; !ok {
			p.stats.PacksMissing++
			continue
		}
		uses = append(uses, packUse{entry: p.packs[id]})
	}
	share := make(map[oid.ID]float64, len(uses))
	for _, u := range uses {
		var total, used int64
		for _, b := range u.entry.Blobs {
			total += int64(b.Length)
			if _, ok := p.used[blobKey{b.Type, b.ID}]; ok {
				used += int64(b.Length)
			}
		}
		share[u.entry.ID] = float64(used) / float64(max(total, 1))
	}
	slices.SortStableFunc(uses, func(a, b packUse) int { return cmp.Compare(share[b.entry.ID], share[a.entry.ID]) })
	for i := range uses {
		p.claimPack(&uses[i])
	}
	return uses
}

func (p *pruner) claimPack(u *packUse) {
	for _, b := range u.entry.Blobs {
		k := blobKey{b.Type, b.ID}
		if claimed, ok := p.used[k]; ok && !claimed {
			p.used[k] = true
			u.used = append(u.used, b)
			u.usedBytes += int64(b.Length)
		} else {
			u.unusedBytes += int64(b.Length)
		}
	}
}

// choose repacks the partly used packs with the largest unused share until
// the unused bytes left are within MaxUnusedPercent of all bytes; the other
// partly used packs are kept.
func (p *pruner) choose(pl *plan, partial []packUse, used, unused int64) {
	limit := maxUnused(p.o.MaxUnusedPercent, used)
	slices.SortStableFunc(partial, func(a, b packUse) int {
		return cmp.Compare(unusedShare(b), unusedShare(a))
	})
	for _, u := range partial {
		if unused <= limit {
			pl.keep = append(pl.keep, u.entry)
			continue
		}
		pl.repack = append(pl.repack, u)
		pl.remove = append(pl.remove, u.entry.ID)
		unused -= u.unusedBytes
	}
}

// maxUnused returns how many unused bytes may stay alongside used bytes so
// that they are at most pct percent of the total.
func maxUnused(pct float64, used int64) int64 {
	switch {
	case pct >= 100:
		return 1 << 62
	case pct <= 0:
		return 0
	}
	return int64(pct / (100 - pct) * float64(used))
}

func unusedShare(u packUse) float64 {
	return float64(u.unusedBytes) / float64(max(u.usedBytes+u.unusedBytes, 1))
}

// addUnreferenced schedules the packs no index lists for deletion.
func (p *pruner) addUnreferenced(pl *plan) {
	for _, id := range sortedIDs(p.stored) {
		if _, ok := p.packs[id]; !ok {
			pl.remove = append(pl.remove, id)
			p.stats.PacksUnreferenced++
		}
	}
}

// tally fills the statistics of the plan.
func (p *pruner) tally(pl *plan, uses []packUse) {
	p.stats.UsedBlobs = len(p.used)
	for _, u := range uses {
		p.stats.UsedBytes += u.usedBytes
		p.stats.UnusedBytes += u.unusedBytes
	}
	p.stats.PacksKept = len(pl.keep)
	p.stats.PacksRepacked = len(pl.repack)
	for _, u := range pl.repack {
		p.stats.BlobsRepacked += len(u.used)
		p.stats.BytesRepacked += u.usedBytes
	}
	for _, id := range pl.remove {
		p.stats.BytesFreed += p.stored[id]
	}
	p.stats.BytesFreed -= p.stats.BytesRepacked // estimate until the new packs exist
}

func sortedIDs[V any](m map[oid.ID]V) []oid.ID {
	ids := make([]oid.ID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)
	return ids
}
