package restorer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
)

// fileJob is one regular file whose content is written by the workers.
type fileJob struct {
	rel     string
	size    int64
	sparse  bool
	extend  bool      // writes do not reach size by themselves: ftruncate
	content []oid.ID  // for verification
	meta    *nodeMeta // applied after the last write; nil in a dry run

	mu      sync.Mutex
	created bool         // the first write created and sized the file
	pending atomic.Int64 // writes still to do
}

// target is a place a blob's plaintext goes.
type target struct {
	file *fileJob
	off  int64
}

// blobJob is one needed blob and every place its plaintext goes.
type blobJob struct {
	entry   index.Entry
	targets []target
}

// packJob is one pack file and the blobs needed from it.
type packJob struct {
	id    oid.ID
	blobs []*blobJob
}

type inodeKey struct{ dev, ino uint64 }

// hardLink makes rel a link to first (both relative to the target).
type hardLink struct{ rel, first string }

// dirState is a directory on the walk's stack during pass 1.
type dirState struct {
	e       *entry
	created bool
}

// jobs is what pass 1 collects.
type jobs struct {
	files     []*fileJob
	packList  []*packJob // in order of first use
	packByID  map[oid.ID]*packJob
	blobByID  map[oid.ID]*blobJob
	links     []hardLink
	firstPath map[inodeKey]string
	dirs      []dirMeta // created directories, children before parents
	stack     []*dirState
}

func newJobs() jobs {
	return jobs{
		packByID:  map[oid.ID]*packJob{},
		blobByID:  map[oid.ID]*blobJob{},
		firstPath: map[inodeKey]string{},
	}
}

// plan is pass 1: it creates the directory structure, symlinks and special
// files, and collects the files and blobs to fetch.
func (ru *run) plan(ctx context.Context, tree oid.ID) error {
	root := &entry{sel: selection{selected: len(ru.r.filter.include) == 0, descend: true}}
	w := newWalker(ru.r.repo, ru.r.filter, (*planner)(ru), ru.r.opt.Workers)
	if err := w.walk(ctx, tree, root); err != nil {
		return err
	}
	ru.blobByID, ru.packByID = nil, nil // only needed while planning
	ru.firstPath, ru.stack = nil, nil
	return nil
}

// planner is the pass-1 visitor.
type planner run

func (p *planner) enterDir(_ context.Context, e *entry) error {
	p.stack = append(p.stack, &dirState{e: e})
	if e.sel.selected {
		return (*run)(p).makeParents()
	}
	return nil
}

// leaveDir queues the metadata of a created directory (selected, or a
// parent of something selected): post-order puts children first.
func (p *planner) leaveDir(_ context.Context, e *entry) error {
	d := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	if d.created && !p.dryRun {
		p.dirs = append(p.dirs, dirMeta{rel: e.rel, meta: (*run)(p).metaOf(e.node)})
	}
	return nil
}

func (p *planner) leaf(_ context.Context, e *entry) error {
	ru := (*run)(p)
	if err := ru.makeParents(); err != nil {
		return err
	}
	switch e.node.Type {
	case snapshot.TypeFile:
		return ru.planFile(e)
	case snapshot.TypeSymlink:
		return ru.makeSymlink(e)
	case snapshot.TypeDev, snapshot.TypeCharDev, snapshot.TypeFIFO:
		return ru.makeSpecial(e)
	case snapshot.TypeSocket:
		ru.warn("socket skipped", e.rel, fmt.Errorf("sockets cannot be restored"))
	default:
		ru.warn("unknown node type skipped", e.rel, fmt.Errorf("type %q", e.node.Type))
	}
	return nil
}

// makeParents creates the directories on the stack not yet created.
func (ru *run) makeParents() error {
	for _, d := range ru.stack {
		if d.created {
			continue
		}
		if err := ru.makeDir(d.e); err != nil {
			return err
		}
		d.created = true
	}
	return nil
}

// planFile records a regular file: as a hard link to an earlier path, as an
// empty (or all-hole) file created now, or as a file whose chunks the
// workers write.
func (ru *run) planFile(e *entry) error {
	n := e.node
	if n.Links > 1 && n.Inode != 0 {
		key := inodeKey{n.DeviceID, n.Inode}
		if first, ok := ru.firstPath[key]; ok {
			if !ru.dryRun {
				ru.links = append(ru.links, hardLink{rel: e.rel, first: first})
			}
			return nil
		}
		ru.firstPath[key] = e.rel
	}
	fj := &fileJob{rel: e.rel, sparse: n.Sparse || ru.r.opt.Sparse, content: n.Content}
	size, err := ru.planChunks(fj, n.Content)
	if err != nil {
		return fmt.Errorf("restore %s: %w", e.snapPath(), err)
	}
	fj.size = max(int64(n.Size), size)
	fj.extend = fj.sparse || size < fj.size
	if !ru.r.opt.Verify && !ru.dryRun {
		fj.content = nil
	}
	if !ru.dryRun {
		fj.meta = ru.metaOf(n)
	}
	ru.files = append(ru.files, fj)
	ru.res.Files++
	ru.res.Bytes += fj.size
	ru.prog.FilesTotal++
	ru.prog.BytesTotal += fj.size
	if fj.pending.Load() == 0 && !ru.dryRun {
		ru.prog.FilesDone++
		return ru.createEmpty(fj)
	}
	return nil
}

// planChunks adds the file's chunks to the pack jobs and returns the
// content length.
func (ru *run) planChunks(fj *fileJob, content []oid.ID) (int64, error) {
	idx := ru.r.repo.Index()
	var off int64
	for i, id := range content {
		e, ok := idx.Lookup(pack.DataBlob, id)
		if !ok {
			return 0, fmt.Errorf("chunk %d (%s): %w", i, id.Short(), ErrBlobNotFound)
		}
		if !ru.dryRun {
			ru.addTarget(e, target{file: fj, off: off})
			fj.pending.Add(1)
		}
		off += int64(e.RawLength)
	}
	return off, nil
}

func (ru *run) addTarget(e index.Entry, t target) {
	bj := ru.blobByID[e.ID]
	if bj == nil {
		bj = &blobJob{entry: e}
		ru.blobByID[e.ID] = bj
		pj := ru.packByID[e.Pack]
		if pj == nil {
			pj = &packJob{id: e.Pack}
			ru.packByID[e.Pack] = pj
			ru.packList = append(ru.packList, pj)
		}
		pj.blobs = append(pj.blobs, bj)
	}
	bj.targets = append(bj.targets, t)
}
