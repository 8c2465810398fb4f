package archiver

import (
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/snapshot"
)

// prefetchWindow is how many sibling directories ahead of the walker the
// parent snapshot's trees are loaded, so that an incremental backup over a
// remote repository does not wait one round trip per directory.
const prefetchWindow = 4

// maxPrefetch bounds concurrent tree loads across the whole run.
const maxPrefetch = 8

// treeFuture is a parent-snapshot tree loading in the background.
type treeFuture struct {
	done chan struct{}
	tree *snapshot.Tree
}

// prefetcher loads the parent trees of one directory's subdirectories in
// order, a window ahead of the walker.
type prefetcher struct {
	r     *run
	d     *dirState
	slots []int // node indexes with a parent subtree, in order
	futs  map[int]*treeFuture
	next  int // index into slots of the next load to start
}

func newPrefetcher(r *run, d *dirState) *prefetcher {
	p := &prefetcher{r: r, d: d, futs: map[int]*treeFuture{}}
	if d.prev == nil {
		return p
	}
	for i := range d.nodes {
		if d.nodes[i].Type == snapshot.TypeDir && prevSubtree(d.prevNode(d.nodes[i].Name)) != nil {
			p.slots = append(p.slots, i)
		}
	}
	return p
}

func prevSubtree(prev *snapshot.Node) *oid.ID {
	if prev == nil || prev.Type != snapshot.TypeDir {
		return nil
	}
	return prev.Subtree
}

// get returns the parent tree for node slot i (nil if none or unloadable),
// starting the loads of the next few slots.
func (p *prefetcher) get(i int) *snapshot.Tree {
	for p.next < len(p.slots) && (p.slots[p.next] <= i || len(p.futs) < prefetchWindow) {
		p.start(p.slots[p.next])
		p.next++
	}
	f := p.futs[i]
	if f == nil {
		return nil
	}
	delete(p.futs, i)
	<-f.done
	return f.tree
}

func (p *prefetcher) start(i int) {
	n := &p.d.nodes[i]
	id := *prevSubtree(p.d.prevNode(n.Name))
	path := joinPath(p.d.path, n.Name)
	f := &treeFuture{done: make(chan struct{})}
	p.futs[i] = f
	r := p.r
	r.loads.Go(func() {
		defer close(f.done)
		select {
		case r.loadSem <- struct{}{}:
			defer func() { <-r.loadSem }()
		case <-r.ctx.Done():
			return
		}
		f.tree = r.loadPrev(path, id)
	})
}
