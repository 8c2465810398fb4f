package pruner

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/store"
)

// repack copies the used blobs of the packs to repack into new packs,
// flushes them (the repository writes an index file for them, as a backup
// does) and records the new packs and index files in the plan.
func (p *pruner) repack(ctx context.Context, pl *plan) error {
	if len(pl.repack) == 0 {
		return nil
	}
	err := p.parallel(ctx, "repack", len(pl.repack), func(i int) error {
		return p.repackPack(ctx, pl.repack[i])
	})
	if err != nil {
		return err
	}
	if err := p.r.Flush(ctx); err != nil {
		return err
	}
	return p.collectNewIndex(ctx, pl)
}

// repackPack copies one pack's used blobs, still sealed, after checking
// that each one authenticates: a damaged blob is never copied into a new
// pack while its original gets deleted.
func (p *pruner) repackPack(ctx context.Context, u packUse) error {
	var buf, scratch []byte
	for _, b := range u.used {
		e := index.Entry{Pack: u.entry.ID, Blob: b}
		stored, err := p.r.ReadStored(ctx, e, buf)
		if err != nil {
			return err
		}
		buf = stored
		if scratch, err = p.r.Key().Open(scratch[:0], stored, b.ID[:]); err != nil {
			return fmt.Errorf("%w: %s blob %s in pack %s: %w", ErrDamaged, b.Type, b.ID.Short(), u.entry.ID.Short(), err)
		}
		if err := p.r.SaveStoredBlob(ctx, e, stored); err != nil {
			return err
		}
	}
	return nil
}

// collectNewIndex finds the index files written since the prune started
// (by Flush) and adds their packs to the new index and the files to those
// it supersedes.
func (p *pruner) collectNewIndex(ctx context.Context, pl *plan) error {
	ids, err := p.r.List(ctx, "index")
	if err != nil {
		return err
	}
	slices.SortFunc(ids, compareIDs)
	for _, id := range ids {
		if _, found := slices.BinarySearchFunc(p.indexIDs, id, compareIDs); found {
			continue
		}
		f, err := p.r.LoadIndexFile(ctx, id)
		if err != nil {
			return err
		}
		pl.added = append(pl.added, f.Packs...)
		pl.oldIndex = append(pl.oldIndex, id)
	}
	for _, pe := range pl.added {
		p.stats.BytesFreed -= pe.Size
	}
	p.stats.BytesFreed += p.stats.BytesRepacked // drop the estimate
	return nil
}

// writeIndex writes index files listing every pack that stays; the last
// one supersedes all the old index files, and is written only after all the
// others. Packs listed there are taken off the deletion list, whatever
// their history.
func (p *pruner) writeIndex(ctx context.Context, pl *plan) error {
	packs := dedupePacks(slices.Concat(pl.keep, pl.added))
	files := index.Split(packs, index.MaxFileBlobs)
	files[len(files)-1].Supersedes = slices.SortedFunc(slices.Values(pl.oldIndex), compareIDs)
	for _, f := range files {
		id, err := p.r.SaveIndexFile(ctx, f)
		if err != nil {
			return err
		}
		p.stats.NewIndexFiles = append(p.stats.NewIndexFiles, id)
	}
	listed := make(map[oid.ID]bool, len(packs))
	for _, pe := range packs {
		listed[pe.ID] = true
	}
	pl.remove = slices.DeleteFunc(pl.remove, func(id oid.ID) bool { return listed[id] })
	pl.oldIndex = slices.DeleteFunc(pl.oldIndex, func(id oid.ID) bool { return slices.Contains(p.stats.NewIndexFiles, id) })
	return nil
}

func dedupePacks(packs []index.PackEntry) []index.PackEntry {
	seen := make(map[oid.ID]bool, len(packs))
	return slices.DeleteFunc(packs, func(pe index.PackEntry) bool {
		dup := seen[pe.ID]
		seen[pe.ID] = true
		return dup
	})
}

// deleteAll deletes the named objects concurrently; an object that is
// already gone is fine. It returns only after every delete has finished
// (or, on an error, after the ones started have).
func (p *pruner) deleteAll(ctx context.Context, phase string, names []string) error {
	return p.parallel(ctx, phase, len(names), func(i int) error {
		err := p.r.Store().Delete(ctx, names[i])
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete %s: %w", names[i], err)
		}
		return nil
	})
}
