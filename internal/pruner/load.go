package pruner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
)

// blobKey identifies a blob: the same ID may exist as data and as tree.
type blobKey struct {
	t  pack.BlobType
	id oid.ID
}

// pruner holds the state of one Prune.
type pruner struct {
	r     Repository
	o     Options
	stats *Stats

	mu         sync.Mutex // serializes progress calls
	indexIDs   []oid.ID   // index files present at the start, sorted
	superseded bool       // some index file is superseded by another
	packs      map[oid.ID]index.PackEntry
	stored     map[oid.ID]int64 // packs in the store at the start, with sizes
	lookup     *index.Index
	used       map[blobKey]bool // blobs the snapshots need; true once a pack claims it
}

// load reads every index file and lists the packs in the store.
func (p *pruner) load(ctx context.Context) error {
	ids, err := p.r.List(ctx, "index")
	if err != nil {
		return err
	}
	slices.SortFunc(ids, compareIDs)
	p.indexIDs = ids
	files := make([]*index.File, len(ids))
	err = p.parallel(ctx, "index", len(ids), func(i int) error {
		f, err := p.r.LoadIndexFile(ctx, ids[i])
		files[i] = f
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	p.addFiles(ids, files)
	return p.listPacks(ctx)
}

// addFiles builds the pack table and the lookup index from the index files
// that no other present file supersedes, as every reader does: a superseded
// file may list packs that were dropped on purpose (lost, or repacked). The
// superseded files stay in p.indexIDs, so the new index supersedes them too.
func (p *pruner) addFiles(ids []oid.ID, files []*index.File) {
	p.packs = make(map[oid.ID]index.PackEntry)
	p.lookup = index.New()
	superseded := index.Superseded(ids, files)
	p.superseded = len(superseded) > 0
	for i, f := range files {
		if _, ok := superseded[ids[i]]; ok {
			continue
		}
		for _, pe := range f.Packs {
			if _, ok := p.packs[pe.ID]; ok {
				continue
			}
			pe.Blobs = slices.Clone(pe.Blobs)
			slices.SortFunc(pe.Blobs, func(a, b pack.Blob) int { return int(int64(a.Offset) - int64(b.Offset)) })
			p.packs[pe.ID] = pe
			p.lookup.AddPack(pe.ID, pe.Blobs)
		}
	}
	p.lookup.Finalize()
}

func (p *pruner) listPacks(ctx context.Context) error {
	p.stored = make(map[oid.ID]int64)
	err := p.r.Store().List(ctx, "data/", func(fi store.Info) error {
		if id, err := repo.PackIDFromName(fi.Name); err == nil {
			p.stored[id] = fi.Size
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list packs: %w", err)
	}
	return nil
}

// mark records every blob reachable from every snapshot in p.used.
func (p *pruner) mark(ctx context.Context) error {
	snaps, err := p.r.Snapshots(ctx)
	if err != nil {
		return err
	}
	p.stats.Snapshots = len(snaps)
	p.used = make(map[blobKey]bool)
	level := make([]oid.ID, 0, len(snaps))
	for _, s := range snaps {
		level = append(level, s.Tree)
	}
	for len(level) > 0 {
		level = p.unseenTrees(level)
		if level, err = p.markLevel(ctx, level); err != nil {
			return err
		}
	}
	return nil
}

// unseenTrees drops the trees already marked and marks the others.
func (p *pruner) unseenTrees(ids []oid.ID) []oid.ID {
	var out []oid.ID
	for _, id := range ids {
		k := blobKey{pack.TreeBlob, id}
		if _, ok := p.used[k]; !ok {
			p.used[k] = false
			out = append(out, id)
		}
	}
	return out
}

// markLevel loads the trees of one level concurrently, marks the chunks
// they refer to and returns their subtrees.
func (p *pruner) markLevel(ctx context.Context, level []oid.ID) ([]oid.ID, error) {
	subtrees := make([][]oid.ID, len(level))
	chunks := make([][]oid.ID, len(level))
	err := p.parallel(ctx, "trees", len(level), func(i int) error {
		t, err := p.loadTree(ctx, level[i])
		if err != nil {
			return err
		}
		for _, n := range t.Nodes {
			chunks[i] = append(chunks[i], n.Content...)
			if n.Subtree != nil {
				subtrees[i] = append(subtrees[i], *n.Subtree)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.stats.Trees += len(level)
	for i, ids := range chunks {
		for _, id := range ids {
			if !p.lookup.Has(pack.DataBlob, id) {
				return nil, fmt.Errorf("%w: tree %s refers to data blob %s, which no index lists", ErrIncomplete, level[i].Short(), id.Short())
			}
			p.used[blobKey{pack.DataBlob, id}] = false
		}
	}
	return slices.Concat(subtrees...), nil
}

// loadTree reads a tree through the pruner's own index.
func (p *pruner) loadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error) {
	e, ok := p.lookup.Lookup(pack.TreeBlob, id)
	if !ok {
		return nil, fmt.Errorf("%w: tree %s is not in the index", ErrIncomplete, id.Short())
	}
	stored, err := p.r.ReadStored(ctx, e, nil)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: tree %s: %w", ErrIncomplete, id.Short(), err)
	}
	if err != nil {
		return nil, fmt.Errorf("load tree %s: %w", id.Short(), err)
	}
	plain, err := p.r.DecodeBlob(e, stored, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: tree %s: %w", ErrDamaged, id.Short(), err)
	}
	t, err := snapshot.DecodeTree(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: tree %s: %w", ErrDamaged, id.Short(), err)
	}
	return t, nil
}

// parallel runs fn(0..n-1) on the configured workers, reporting progress
// for phase, and returns the first error, after which it starts no more.
func (p *pruner) parallel(ctx context.Context, phase string, n int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		next     = make(chan int)
		done     int
		firstErr error
	)
	for range min(p.o.Workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				err := fn(i)
				p.mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				done++
				p.progress(phase, done, n)
				p.mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// progress calls the progress callback; the caller holds p.mu.
func (p *pruner) progress(phase string, done, total int) {
	if p.o.Progress != nil {
		p.o.Progress(Progress{Phase: phase, Done: done, Total: total})
	}
}

func compareIDs(a, b oid.ID) int { return slices.Compare(a[:], b[:]) }
