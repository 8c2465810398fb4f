package checker

import (
	"context"
	"fmt"
	"path"
	"slices"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
)

// treeRef is a tree to check and where it was first met, for messages.
type treeRef struct {
	id   oid.ID
	snap oid.ID
	path string
}

func (t treeRef) object() string {
	return fmt.Sprintf("tree %s in snapshot %s at %s", t.id.Short(), t.snap.Short(), t.path)
}

// checkSnapshots loads every snapshot and walks all trees reachable from
// them.
func (c *checker) checkSnapshots(ctx context.Context) error {
	ids, err := c.r.List(ctx, "snapshots")
	if err != nil {
		return err
	}
	slices.SortFunc(ids, compareIDs)
	roots := make([]treeRef, len(ids))
	err = c.forEach(ctx, "snapshots", 0, len(ids), len(ids), func(i int) {
		s, err := c.r.LoadSnapshot(ctx, ids[i])
		if err != nil {
			c.addError("snapshot "+ids[i].String(), fmt.Errorf("%w: %w", ErrSnapshot, err))
			return
		}
		roots[i] = treeRef{id: s.Tree, snap: ids[i], path: "/"}
	})
	if err != nil {
		return err
	}
	roots = slices.DeleteFunc(roots, func(t treeRef) bool { return t.id.IsNull() })
	c.rep.Snapshots = len(roots)
	return c.walk(ctx, roots)
}

// walk checks the trees level by level, each distinct tree once, loading
// the trees of one level concurrently.
func (c *checker) walk(ctx context.Context, level []treeRef) error {
	seen := make(map[oid.ID]bool)
	for len(level) > 0 {
		level = slices.DeleteFunc(level, func(t treeRef) bool {
			dup := seen[t.id]
			seen[t.id] = true
			return dup
		})
		children := make([][]treeRef, len(level))
		err := c.forEach(ctx, "trees", c.rep.Trees, 0, len(level), func(i int) {
			children[i] = c.checkTree(ctx, level[i])
		})
		if err != nil {
			return err
		}
		c.rep.Trees += len(level)
		level = slices.Concat(children...)
	}
	return nil
}

// checkTree loads one tree, checks that every chunk it refers to is
// indexed, and returns its subtrees.
func (c *checker) checkTree(ctx context.Context, ref treeRef) []treeRef {
	t, err := c.loadTree(ctx, ref.id)
	if err != nil {
		c.addError(ref.object(), fmt.Errorf("%w: %w", ErrTree, err))
		return nil
	}
	var sub []treeRef
	for _, n := range t.Nodes {
		p := path.Join(ref.path, n.Name)
		for i, id := range n.Content {
			c.checkChunk(ref, id, fmt.Sprintf("chunk %d of %s", i, p))
		}
		if n.Subtree != nil {
			sub = append(sub, treeRef{id: *n.Subtree, snap: ref.snap, path: p})
		}
	}
	return sub
}

// checkChunk reports a chunk that is not indexed, or whose pack (the one
// readers use) is missing, naming where the tree uses it.
func (c *checker) checkChunk(ref treeRef, id oid.ID, where string) {
	e, ok := c.lookup.Lookup(pack.DataBlob, id)
	switch {
	case !ok:
		c.errorf(ref.object(), ErrMissingBlob, "data blob %s (%s)", id.Short(), where)
	case c.missing[e.Pack]:
		c.errorf(ref.object(), ErrMissingPack, "data blob %s (%s) is in pack %s", id.Short(), where, e.Pack)
	}
}

// loadTree reads a tree through the checker's own index and verifies that
// its content hashes to its ID.
func (c *checker) loadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error) {
	e, ok := c.lookup.Lookup(pack.TreeBlob, id)
	if !ok {
		return nil, fmt.Errorf("%w: tree blob %s", ErrMissingBlob, id.Short())
	}
	stored, err := c.r.ReadStored(ctx, e, nil)
	if err != nil {
		return nil, err
	}
	plain, err := c.r.DecodeBlob(e, stored, nil)
	if err != nil {
		return nil, err
	}
	if got := c.r.Key().BlobID(plain); got != id {
		return nil, fmt.Errorf("%w: content hashes to %s", ErrBlob, got.Short())
	}
	return snapshot.DecodeTree(plain)
}
