package repo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/store"
)

// indexEvery is how many uploaded packs trigger an index file during a long
// backup, so an interrupted run loses little index work.
const indexEvery = 32

// addPack records an uploaded pack in the in-memory index and in the
// pending list of the next index file.
func (r *Repository) addPack(pe index.PackEntry) {
	r.idx.AddPackEntry(pe)
	r.idxMu.Lock()
	r.pending = append(r.pending, pe)
	r.idxMu.Unlock()
}

// writeIndex writes an index file for the pending packs.
func (r *Repository) writeIndex(ctx context.Context) error {
	r.idxMu.Lock()
	pending := r.pending
	r.pending = nil
	r.idxMu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	id, err := r.SaveIndexFile(ctx, &index.File{Packs: pending})
	if err != nil {
		r.idxMu.Lock()
		r.pending = append(pending, r.pending...)
		r.idxMu.Unlock()
		return err
	}
	r.idxMu.Lock()
	r.idxIDs = append(r.idxIDs, id)
	r.idxMu.Unlock()
	return nil
}

// maybeWriteIndex writes an index file once enough packs are pending.
func (r *Repository) maybeWriteIndex(ctx context.Context) error {
	r.idxMu.Lock()
	n := len(r.pending)
	r.idxMu.Unlock()
	if n < indexEvery {
		return nil
	}
	return r.writeIndex(ctx)
}

// SaveIndexFile seals and stores an index file, returning its ID.
func (r *Repository) SaveIndexFile(ctx context.Context, f *index.File) (oid.ID, error) {
	return r.SaveUnpacked(ctx, KindIndex, f.Encode())
}

// LoadIndexFile reads and decodes one index file.
func (r *Repository) LoadIndexFile(ctx context.Context, id oid.ID) (*index.File, error) {
	plain, err := r.LoadUnpacked(ctx, KindIndex, id)
	if err != nil {
		return nil, err
	}
	f, err := index.DecodeFile(plain)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", id.Short(), err)
	}
	return f, nil
}

// IndexFiles returns the IDs of the index files the in-memory index comes
// from: those LoadIndex loaded (not the superseded ones it skipped), those
// written since, and, after DropPacks, the files that replaced the ones it
// superseded instead of those.
func (r *Repository) IndexFiles() []oid.ID {
	r.idxMu.Lock()
	defer r.idxMu.Unlock()
	return append([]oid.ID(nil), r.idxIDs...)
}

// LoadIndex reads the index files into the in-memory index. It reads every
// file but skips the packs of a file that another present file supersedes
// (see index.Superseded): the superseding file is written only after the
// files holding what the superseded one listed, and a file that DropPacks
// superseded lists packs that are lost. Any file that cannot be read is an
// error.
func (r *Repository) LoadIndex(ctx context.Context) error {
	ids, files, err := r.loadLiveIndex(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		for _, pe := range f.Packs {
			r.idx.AddPackEntry(pe)
		}
	}
	r.idxMu.Lock()
	r.idxIDs = append(r.idxIDs, ids...)
	r.idxMu.Unlock()
	return nil
}

// loadLiveIndex reads every index file and returns those that no present
// file supersedes, sorted by ID.
func (r *Repository) loadLiveIndex(ctx context.Context) ([]oid.ID, []*index.File, error) {
	ids, err := r.List(ctx, KindIndex)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(ids, compareIDs)
	files := make([]*index.File, len(ids))
	err = parallel(ctx, len(ids), 4, func(i int) error {
		f, err := r.LoadIndexFile(ctx, ids[i])
		files[i] = f
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	superseded := index.Superseded(ids, files)
	var liveIDs []oid.ID
	var live []*index.File
	for i, id := range ids {
		if _, ok := superseded[id]; !ok {
			liveIDs = append(liveIDs, id)
			live = append(live, files[i])
		}
	}
	return liveIDs, live, nil
}

// RecoverPacks finds packs in the store that no index file lists — left by
// an interrupted backup — reads their headers and indexes them, so a re-run
// uploads nothing that is already stored. It returns how many it found.
// Call it with at least a shared lock, after LoadIndex.
func (r *Repository) RecoverPacks(ctx context.Context) (int, error) {
	known := make(map[oid.ID]bool)
	for _, id := range r.idx.Packs() {
		known[id] = true
	}
	var missing []store.Info
	err := r.st.List(ctx, "data/", func(fi store.Info) error {
		id, err := PackIDFromName(fi.Name)
		if err == nil && !known[id] {
			missing = append(missing, fi)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("list packs: %w", err)
	}
	found := 0
	for _, fi := range missing {
		id, _ := PackIDFromName(fi.Name)
		blobs, err := pack.ReadHeader(ctx, r.st, fi.Name, fi.Size, r.key)
		if err != nil {
			r.opts.Logger.Warn("ignoring unreadable unindexed pack", "pack", id.Short(), "err", err)
			continue
		}
		r.addPack(index.PackEntry{ID: id, Size: fi.Size, Blobs: blobs})
		found++
	}
	if found > 0 {
		return found, r.writeIndex(ctx)
	}
	return 0, nil
}

// PackIDFromName parses "data/xx/<hex>" into the pack ID.
func PackIDFromName(name string) (oid.ID, error) {
	rest, ok := strings.CutPrefix(name, "data/")
	if !ok || len(rest) != 3+2*oid.Size || rest[2] != '/' || rest[:2] != rest[3:5] {
		return oid.ID{}, fmt.Errorf("%q is not a pack name", name)
	}
	return oid.Parse(rest[3:])
}

// parallel runs fn(0..n-1) on up to workers goroutines and returns the
// first error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
