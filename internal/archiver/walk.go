package archiver

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
)

// dirState is a directory being backed up. Its nodes are complete and
// sorted before any child is dispatched; children then fill in their own
// slot (content or subtree) from whatever goroutine finishes them. pending
// counts unfinished children plus one for the walker while it dispatches;
// whoever brings it to zero saves the tree.
type dirState struct {
	r       *run
	path    string
	prev    *snapshot.Tree // this directory in the parent snapshot, or nil
	prevID  *oid.ID
	nodes   []snapshot.Node
	drop    []bool // nodes left out after a read error
	pending atomic.Int64
	done    func(id oid.ID, ok bool) // ok false: leave the directory out
}

func (d *dirState) prevNode(name string) *snapshot.Node {
	if d.prev == nil {
		return nil
	}
	return d.prev.Find(name)
}

func (d *dirState) childDone() {
	if d.pending.Add(-1) == 0 {
		d.finish()
	}
}

// finish saves the directory's tree and reports it to the parent.
func (d *dirState) finish() {
	r := d.r
	t := &snapshot.Tree{Nodes: make([]snapshot.Node, 0, len(d.nodes))}
	for i := range d.nodes {
		if !d.drop[i] {
			t.Nodes = append(t.Nodes, d.nodes[i])
		}
	}
	var id oid.ID
	if d.unchanged(t) {
		id = *d.prevID // same nodes, same bytes: no need to encode and hash it again
	} else {
		var err error
		if id, err = r.a.repo.SaveTree(r.ctx, t); err != nil {
			r.fail(fmt.Errorf("save tree of %q: %w", d.path, err))
			return
		}
	}
	r.stats.dirs.Add(1)
	switch {
	case d.prevID == nil:
		r.stats.dirsNew.Add(1)
	case *d.prevID == id:
		r.stats.dirsUnmodified.Add(1)
	default:
		r.stats.dirsChanged.Add(1)
	}
	d.nodes = nil // let completed subtrees be collected early
	d.done(id, true)
}

// unchanged reports whether t equals this directory's tree in the parent
// snapshot, which is stored already.
func (d *dirState) unchanged(t *snapshot.Tree) bool {
	return d.prev != nil && d.prevID != nil &&
		slices.EqualFunc(t.Nodes, d.prev.Nodes, func(a, b snapshot.Node) bool { return a.Equal(&b) })
}

// fileState is a regular file being read. pending counts chunks not yet
// saved plus one for the reader; the last one done fills in the node.
type fileState struct {
	dir         *dirState
	slot        int
	path        string
	src         io.Reader // content from a reader (stdin) instead of path
	isNew       bool      // no node in the parent snapshot
	reread      bool      // unchanged, but read because chunks were not indexed
	prevContent []oid.ID  // the parent's content list, when reread
	read        uint64    // bytes read
	err         *FileError
	pending     atomic.Int64

	mu      sync.Mutex
	content []oid.ID
}

func (f *fileState) setContent(idx int, id oid.ID) {
	f.mu.Lock()
	if idx >= len(f.content) {
		f.content = slices.Grow(f.content, idx+1-len(f.content))[:idx+1]
	}
	f.content[idx] = id
	f.mu.Unlock()
}

func (f *fileState) done() {
	if f.pending.Add(-1) == 0 {
		f.finish()
	}
}

func (f *fileState) finish() {
	d, r := f.dir, f.dir.r
	if f.err != nil {
		d.drop[f.slot] = true
		r.errs.add(f.err)
		d.childDone()
		return
	}
	n := &d.nodes[f.slot]
	n.Content, n.Size = f.content, f.read
	switch {
	case f.isNew:
		r.stats.filesNew.Add(1)
	case f.reread && slices.Equal(f.content, f.prevContent):
		r.stats.filesUnmodified.Add(1)
	default:
		r.stats.filesChanged.Add(1)
	}
	r.stats.filesDone.Add(1)
	d.childDone()
}

// walkRoot backs up the hierarchy under root (see buildVirtual) with prev,
// the parent snapshot's root tree, for change detection.
func (r *run) walkRoot(root *vnode, prev *snapshot.Tree, prevID *oid.ID) {
	d := &dirState{r: r, path: "/", prev: prev, prevID: prevID, done: func(id oid.ID, ok bool) { r.rootID = id }}
	if root.target {
		r.roots.Add(1)
		r.walkReal(d, true)
		return
	}
	r.walkVirtual(d, root)
}

// walkReal lists directory d.path and backs up its entries.
func (r *run) walkReal(d *dirState, isRoot bool) {
	names := r.readDir(d.path)
	if !isRoot && r.hasMarker(names) {
		d.done(oid.ID{}, false)
		return
	}
	for _, name := range names {
		full := joinPath(d.path, name)
		if n, ok := r.entryNode(full, name); ok {
			d.nodes = append(d.nodes, n)
		}
	}
	r.dispatch(d, nil)
}

// walkVirtual builds a directory above the backed-up paths: only the
// children that lead to them, with metadata from stat.
func (r *run) walkVirtual(d *dirState, v *vnode) {
	for _, name := range v.names() {
		full := joinPath(d.path, name)
		child := v.children[name]
		if child.target {
			n, ok := r.entryNode(full, name)
			if ok || n.Type != "" { // excluded paths count as found
				r.roots.Add(1)
			}
			if ok {
				d.nodes = append(d.nodes, n)
			}
			continue
		}
		if n, ok := r.virtualDirNode(full, name); ok {
			d.nodes = append(d.nodes, n)
		}
	}
	r.dispatch(d, v.children)
}

func (r *run) readDir(path string) []string {
	f, err := r.a.open(path, true)
	if err != nil {
		r.errs.add(fileError("open", path, err))
		return nil
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		r.errs.add(fileError("readdir", path, err))
	}
	slices.Sort(names)
	return names
}

func (r *run) hasMarker(names []string) bool {
	if len(r.a.skipIf) == 0 {
		return false
	}
	return slices.ContainsFunc(names, func(n string) bool { return r.a.skipIf[n] })
}

// entryNode describes one directory entry; ok is false when it is excluded
// or cannot be stat'ed (the node's Type then tells which).
func (r *run) entryNode(full, name string) (snapshot.Node, bool) {
	n, err := r.a.statNode(full, name, false)
	if err != nil {
		r.errs.add(err.(*FileError))
		return n, false
	}
	if r.a.excludes.excluded(full, n.Type == snapshot.TypeDir) {
		return n, false
	}
	if fe := addExtras(full, &n); fe != nil {
		r.errs.add(fe) // keep the node: only some metadata is missing
	}
	return n, true
}

func (r *run) virtualDirNode(full, name string) (snapshot.Node, bool) {
	n, err := r.a.statNode(full, name, true)
	if err != nil {
		r.errs.add(err.(*FileError))
		return n, false
	}
	if n.Type != snapshot.TypeDir {
		r.errs.add(fileError("stat", full, fmt.Errorf("not a directory")))
		return n, false
	}
	if fe := addExtras(full, &n); fe != nil {
		r.errs.add(fe)
	}
	return n, true
}

// dispatch hands out d's children: files to the readers, directories to
// recursion in this goroutine. virt holds the virtual children, if any.
func (r *run) dispatch(d *dirState, virt map[string]*vnode) {
	d.drop = make([]bool, len(d.nodes))
	d.pending.Store(1)
	pf := newPrefetcher(r, d)
	for i := range d.nodes {
		if r.ctx.Err() != nil {
			return // abandoned: nothing completes after a failure
		}
		n := &d.nodes[i]
		prev := d.prevNode(n.Name)
		switch v := virt[n.Name]; {
		case v != nil && !v.target:
			r.walkChild(d, i, prev, pf, func(c *dirState) { r.walkVirtual(c, v) })
		case n.Type == snapshot.TypeDir:
			r.walkChild(d, i, prev, pf, func(c *dirState) { r.walkReal(c, false) })
		case n.Type == snapshot.TypeFile:
			r.submitFile(d, i, prev)
		default:
			r.stats.others.Add(1)
		}
	}
	d.childDone()
}

func (r *run) walkChild(d *dirState, i int, prev *snapshot.Node, pf *prefetcher, walk func(*dirState)) {
	d.pending.Add(1)
	c := &dirState{r: r, path: joinPath(d.path, d.nodes[i].Name), done: func(id oid.ID, ok bool) {
		if ok {
			d.nodes[i].Subtree = &id
		} else {
			d.drop[i] = true
		}
		d.childDone()
	}}
	if id := prevSubtree(prev); id != nil {
		c.prevID = id
		c.prev = pf.get(i)
	}
	walk(c)
}

func (r *run) loadPrev(path string, id oid.ID) *snapshot.Tree {
	t, err := r.a.repo.LoadTree(r.ctx, id)
	if err != nil {
		r.a.log.Warn("cannot load parent snapshot tree, reading all files", "path", path, "tree", id.Short(), "err", err)
		return nil
	}
	return t
}

// submitFile reuses the parent snapshot's content for an unchanged file
// whose chunks are all indexed, and queues any other file for reading.
func (r *run) submitFile(d *dirState, i int, prev *snapshot.Node) {
	n := &d.nodes[i]
	f := &fileState{dir: d, slot: i, path: joinPath(d.path, n.Name), isNew: prev == nil}
	if unchanged(prev, n) {
		if r.indexed(prev.Content) {
			n.Content = prev.Content
			r.stats.filesUnmodified.Add(1)
			r.stats.filesDone.Add(1)
			r.stats.bytesDone.Add(n.Size)
			return
		}
		f.reread, f.prevContent = true, prev.Content
		r.stats.filesReread.Add(1)
	}
	f.pending.Store(1)
	d.pending.Add(1)
	select {
	case r.jobs <- f:
	case <-r.ctx.Done():
	}
}

// indexed reports whether the repository's index lists every data blob of
// content: a lost and dropped pack's chunks are not, and must be read anew.
func (r *run) indexed(content []oid.ID) bool {
	for _, id := range content {
		if !r.a.repo.HasBlob(pack.DataBlob, id) {
			return false
		}
	}
	return true
}

// unchanged reports whether cur may reuse prev's content without reading.
func unchanged(prev, cur *snapshot.Node) bool {
	return prev != nil && prev.Type == snapshot.TypeFile && cur.Type == snapshot.TypeFile &&
		prev.Size == cur.Size && prev.ModTime.Equal(cur.ModTime) && prev.ChangeTime.Equal(cur.ChangeTime) &&
		prev.Inode == cur.Inode && prev.DeviceID == cur.DeviceID &&
		(cur.Size == 0 || len(prev.Content) > 0)
}

func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}
