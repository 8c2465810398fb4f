package restorer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/snapshot"
)

// maxDepth bounds directory nesting: trees are content-addressed so honest
// data has no cycles, but a repository writer holding the key could forge one.
const maxDepth = 1024

// entry is one node at its place in the snapshot.
type entry struct {
	comps []string // snapshot path components below the root
	rel   string   // file system path relative to the target
	node  *snapshot.Node
	sel   selection
}

// snapPath is the entry's path in the snapshot, "/a/b".
func (e *entry) snapPath() string { return "/" + strings.Join(e.comps, "/") }

// visitor receives the selected nodes of a walk in tree order.
type visitor interface {
	// enterDir is called for a directory that is selected or may hold
	// selected nodes, before its children; leaveDir after them.
	enterDir(ctx context.Context, e *entry) error
	leaveDir(ctx context.Context, e *entry) error
	// leaf is called for every selected non-directory node.
	leaf(ctx context.Context, e *entry) error
}

// walker traverses trees with a filter. It loads the subtrees of the next
// few directories in the background (up to loaders at once), so a walk over
// a high-latency store is not one round trip per directory.
type walker struct {
	trees   TreeLoader
	filter  *filter
	v       visitor
	loaders chan struct{} // semaphore of background tree loads
}

func newWalker(trees TreeLoader, f *filter, v visitor, loaders int) *walker {
	return &walker{trees: trees, filter: f, v: v, loaders: make(chan struct{}, max(loaders, 1))}
}

// treeFuture is a tree being loaded in the background.
type treeFuture struct {
	done chan struct{}
	tree *snapshot.Tree
	err  error
}

func (w *walker) prefetch(ctx context.Context, id oid.ID) *treeFuture {
	f := &treeFuture{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		select {
		case w.loaders <- struct{}{}:
		case <-ctx.Done():
			f.err = ctx.Err()
			return
		}
		defer func() { <-w.loaders }()
		f.tree, f.err = w.trees.LoadTree(ctx, id)
	}()
	return f
}

// walk visits the children of the directory parent, whose tree is id.
// Background loads still running when it returns are canceled.
func (w *walker) walk(ctx context.Context, id oid.ID, parent *entry) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tree, err := w.trees.LoadTree(ctx, id)
	return w.walkTree(ctx, id, tree, err, parent)
}

// walkTree visits the nodes of tree (or returns loadErr), prefetching the
// subtrees of the directories it will enter next.
func (w *walker) walkTree(ctx context.Context, id oid.ID, tree *snapshot.Tree, loadErr error, parent *entry) error {
	if loadErr != nil {
		return fmt.Errorf("load tree %s of %s: %w", id.Short(), parent.snapPath(), loadErr)
	}
	if len(parent.comps) >= maxDepth {
		return fmt.Errorf("%s: deeper than %d levels: %w", parent.snapPath(), maxDepth, ErrCorrupt)
	}
	if err := checkNames(tree, parent); err != nil {
		return err
	}
	ents, err := w.entries(tree, parent)
	if err != nil {
		return err
	}
	futures := make([]*treeFuture, len(ents))
	ahead := 2 * cap(w.loaders)
	next := 0
	for i, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		for ; next < len(ents) && next <= i+ahead; next++ {
			if ents[next].node.Type == snapshot.TypeDir {
				futures[next] = w.prefetch(ctx, *ents[next].node.Subtree)
			}
		}
		if err := w.visit(ctx, e, futures[i]); err != nil {
			return err
		}
		futures[i] = nil
	}
	return nil
}

// entries returns the nodes of tree the visitor sees: selected leaves and
// the directories to descend into.
func (w *walker) entries(tree *snapshot.Tree, parent *entry) ([]*entry, error) {
	var ents []*entry
	for i := range tree.Nodes {
		n := &tree.Nodes[i]
		isDir := n.Type == snapshot.TypeDir
		comps := append(parent.comps[:len(parent.comps):len(parent.comps)], n.Name)
		sel := w.filter.check(comps, isDir, parent.sel.selected)
		if !sel.selected && !sel.descend {
			continue
		}
		e := &entry{comps: comps, rel: filepath.Join(parent.rel, n.Name), node: n, sel: sel}
		if isDir && n.Subtree == nil {
			return nil, fmt.Errorf("directory %s has no subtree: %w", e.snapPath(), ErrCorrupt)
		}
		ents = append(ents, e)
	}
	return ents, nil
}

// visit hands e to the visitor and, for a directory, walks its subtree.
func (w *walker) visit(ctx context.Context, e *entry, sub *treeFuture) error {
	if e.node.Type != snapshot.TypeDir {
		return w.v.leaf(ctx, e)
	}
	if err := w.v.enterDir(ctx, e); err != nil {
		return err
	}
	<-sub.done
	if err := w.walkTree(ctx, *e.node.Subtree, sub.tree, sub.err, e); err != nil {
		return err
	}
	return w.v.leaveDir(ctx, e)
}

// checkNames rejects names that would escape their directory or collide.
func checkNames(t *snapshot.Tree, parent *entry) error {
	sorted := true
	for i, n := range t.Nodes {
		if err := validName(n.Name); err != nil {
			return fmt.Errorf("directory %s: %w", parent.snapPath(), err)
		}
		if i > 0 && t.Nodes[i-1].Name >= n.Name {
			sorted = false
		}
	}
	if sorted {
		return nil
	}
	seen := make(map[string]bool, len(t.Nodes))
	for _, n := range t.Nodes {
		if seen[n.Name] {
			return fmt.Errorf("directory %s: %q appears twice: %w", parent.snapPath(), n.Name, ErrInvalidName)
		}
		seen[n.Name] = true
	}
	return nil
}

func validName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%q: %w", name, ErrInvalidName)
	}
	return nil
}
