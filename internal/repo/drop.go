package repo

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/store"
)

// MissingPacks returns the packs that the in-memory index lists but that
// data/ lacks, or holds with a size other than the index file's, sorted by
// ID. It lists data/ once and reads nothing else. Such packs will never be
// readable: DropPacks stops listing them, and the next backup stores their
// chunks again.
func (r *Repository) MissingPacks(ctx context.Context) ([]oid.ID, error) {
	stored := make(map[oid.ID]int64)
	err := r.st.List(ctx, "data/", func(fi store.Info) error {
		if id, err := PackIDFromName(fi.Name); err == nil {
			stored[id] = fi.Size
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	var missing []oid.ID
	for _, id := range r.idx.Packs() {
		size, ok := stored[id]
		want, known := r.idx.PackSize(id)
		if !ok || known && size != want {
			missing = append(missing, id)
		}
	}
	slices.SortFunc(missing, compareIDs)
	return missing, nil
}

// DropPacks stops listing the lost packs. Every index file (of those that
// no other supersedes) that lists one of them is replaced: its other packs
// are written to new index files, split as prune splits them, and the last
// file written supersedes the replaced ones. Nothing is deleted, so it works
// on an append-only store; the replaced files stay as superseded garbage
// that readers skip and prune deletes. Then the in-memory index is rebuilt
// from the index files, so the lost packs' blobs are no longer known and a
// backup stores them again (the archiver re-reads a file whose chunks are
// not all indexed).
//
// Packs uploaded but not yet listed by an index file are written to one
// first. Dropping packs that no live file lists writes nothing, so DropPacks
// is idempotent. Locking: the caller holds the repository lock (a shared
// lock suffices, as nothing is deleted; it keeps prune away) and must not
// save blobs or flush through this Repository while DropPacks runs, since it
// rebuilds the in-memory index a backup dedups against.
func (r *Repository) DropPacks(ctx context.Context, lost []oid.ID) error {
	if err := r.writeIndex(ctx); err != nil {
		return err
	}
	ids, files, err := r.loadLiveIndex(ctx)
	if err != nil {
		return err
	}
	drop := make(map[oid.ID]bool, len(lost))
	for _, id := range lost {
		drop[id] = true
	}
	p := partitionIndex(ids, files, drop)
	if len(p.old) > 0 {
		newIDs, newFiles, err := r.writeSuperseding(ctx, p.keep, p.old)
		if err != nil {
			return fmt.Errorf("drop %d lost packs: %w", len(lost), err)
		}
		p.ids, p.files = append(p.ids, newIDs...), append(p.files, newFiles...)
	}
	r.reloadIndex(p.ids, p.files)
	return nil
}

// dropPlan is what DropPacks does with the index files.
type dropPlan struct {
	ids   []oid.ID      // index files that stay as they are
	files []*index.File // their contents
	old   []oid.ID      // index files that list a lost pack, to supersede
	keep  []index.PackEntry
}

// partitionIndex sorts the index files into those that stay and those that
// list a lost pack, whose other packs (each once) go to new files.
func partitionIndex(ids []oid.ID, files []*index.File, drop map[oid.ID]bool) dropPlan {
	var p dropPlan
	kept := make(map[oid.ID]bool)
	for i, f := range files {
		if !slices.ContainsFunc(f.Packs, func(pe index.PackEntry) bool { return drop[pe.ID] }) {
			p.ids, p.files = append(p.ids, ids[i]), append(p.files, f)
			continue
		}
		p.old = append(p.old, ids[i])
		for _, pe := range f.Packs {
			if !drop[pe.ID] && !kept[pe.ID] {
				kept[pe.ID] = true
				p.keep = append(p.keep, pe)
			}
		}
	}
	return p
}

// writeSuperseding writes packs as index files of at most
// index.MaxFileBlobs blobs; the last one, written after all the others,
// supersedes old. It returns the files written.
func (r *Repository) writeSuperseding(ctx context.Context, packs []index.PackEntry, old []oid.ID) ([]oid.ID, []*index.File, error) {
	files := index.Split(packs, index.MaxFileBlobs)
	files[len(files)-1].Supersedes = slices.SortedFunc(slices.Values(old), compareIDs)
	ids := make([]oid.ID, 0, len(files))
	for _, f := range files {
		id, err := r.SaveIndexFile(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
	}
	return ids, files, nil
}

// reloadIndex empties the in-memory index and fills it from files, named
// by ids. The Index keeps its identity, so callers holding it see the new
// content.
func (r *Repository) reloadIndex(ids []oid.ID, files []*index.File) {
	r.idx.Reset()
	for _, f := range files {
		for _, pe := range f.Packs {
			r.idx.AddPackEntry(pe)
		}
	}
	r.idx.Finalize()
	r.idxMu.Lock()
	r.idxIDs = slices.Clone(ids)
	r.idxMu.Unlock()
}

func compareIDs(a, b oid.ID) int { return bytes.Compare(a[:], b[:]) }
