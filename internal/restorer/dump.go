package restorer

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
)

// listLoaders is how many trees List loads at once.
const listLoaders = 4

// dumpWindow is how many chunks Dump fetches ahead of the one it writes.
const dumpWindow = 4

// FindNode returns the node at p, a "/"-separated path from the root of
// the tree root ("/home/u/f" or "home/u/f"). The root itself has no node:
// it is ErrNotFound.
func FindNode(ctx context.Context, tl TreeLoader, root oid.ID, p string) (*snapshot.Node, error) {
	_, n, err := resolve(ctx, tl, root, p)
	if err == nil && n == nil {
		err = fmt.Errorf("%q is the snapshot root: %w", p, ErrNotFound)
	}
	return n, err
}

// resolve walks p down from root and returns its components and node
// (nil for the root).
func resolve(ctx context.Context, tl TreeLoader, root oid.ID, p string) ([]string, *snapshot.Node, error) {
	clean := strings.Trim(path.Clean("/"+p), "/")
	if clean == "" {
		return nil, nil, nil
	}
	comps := strings.Split(clean, "/")
	id := root
	var n *snapshot.Node
	for i, c := range comps {
		if n != nil {
			if n.Type != snapshot.TypeDir || n.Subtree == nil {
				return nil, nil, fmt.Errorf("/%s is not a directory: %w", strings.Join(comps[:i], "/"), ErrNotFound)
			}
			id = *n.Subtree
		}
		t, err := tl.LoadTree(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("load tree %s: %w", id.Short(), err)
		}
		if n = childNamed(t, c); n == nil {
			return nil, nil, fmt.Errorf("/%s: %w", strings.Join(comps[:i+1], "/"), ErrNotFound)
		}
	}
	return comps, n, nil
}

func childNamed(t *snapshot.Tree, name string) *snapshot.Node {
	return t.Find(name)
}

// List calls fn for the node at p and every node below it, in tree order,
// with its snapshot path ("/a/b"). p "" or "/" lists the whole snapshot.
// An error from fn stops the walk and is returned.
func List(ctx context.Context, tl TreeLoader, snap *snapshot.Snapshot, p string, fn func(path string, n *snapshot.Node) error) error {
	comps, n, err := resolve(ctx, tl, snap.Tree, p)
	if err != nil {
		return err
	}
	w := newWalker(tl, &filter{}, lister(fn), listLoaders)
	e := &entry{comps: comps, sel: selection{selected: true, descend: true}}
	if n == nil {
		return w.walk(ctx, snap.Tree, e)
	}
	if err := fn(e.snapPath(), n); err != nil {
		return err
	}
	if n.Type != snapshot.TypeDir || n.Subtree == nil {
		return nil
	}
	return w.walk(ctx, *n.Subtree, e)
}

// lister is the List visitor.
type lister func(path string, n *snapshot.Node) error

func (l lister) enterDir(_ context.Context, e *entry) error { return l(e.snapPath(), e.node) }
func (l lister) leaveDir(context.Context, *entry) error     { return nil }
func (l lister) leaf(_ context.Context, e *entry) error     { return l(e.snapPath(), e.node) }

// Dump writes the content of the regular file at p (see FindNode) to w,
// fetching a few chunks ahead.
func Dump(ctx context.Context, repo Repository, root oid.ID, p string, w io.Writer) error {
	n, err := FindNode(ctx, repo, root, p)
	if err != nil {
		return err
	}
	if n.Type != snapshot.TypeFile {
		return fmt.Errorf("dump %s: %s: %w", p, n.Type, ErrNotFile)
	}
	if err := dumpContent(ctx, repo, n.Content, w); err != nil {
		return fmt.Errorf("dump %s: %w", p, err)
	}
	return nil
}

// blobBufs are the reusable buffers of one blob load.
type blobBufs struct{ stored, plain []byte }

type fetched struct {
	bufs *blobBufs
	err  error
}

// dumpContent writes the chunks in order while up to dumpWindow of them
// load concurrently.
func dumpContent(ctx context.Context, repo Repository, ids []oid.ID, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pool := make(chan *blobBufs, dumpWindow)
	for range dumpWindow {
		pool <- &blobBufs{}
	}
	results := make(chan chan fetched, dumpWindow)
	go prefetch(ctx, repo, ids, pool, results)
	var err error
	for ch := range results {
		r := <-ch
		if err == nil {
			err = r.err
		}
		if err == nil {
			_, err = w.Write(r.bufs.plain)
		}
		if err != nil {
			cancel() // the prefetcher stops; in-flight loads still drain here
		}
		pool <- r.bufs
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// prefetch starts a load per chunk as buffers free up, queueing each
// result channel in order.
func prefetch(ctx context.Context, repo Repository, ids []oid.ID, pool chan *blobBufs, results chan<- chan fetched) {
	defer close(results)
	for _, id := range ids {
		var b *blobBufs
		select {
		case b = <-pool:
		case <-ctx.Done():
			return
		}
		if ctx.Err() != nil {
			return
		}
		ch := make(chan fetched, 1)
		results <- ch // never blocks: at most dumpWindow buffers are out
		go func() {
			err := loadBlob(ctx, repo, id, b)
			ch <- fetched{bufs: b, err: err}
		}()
	}
}

// loadBlob reads and decodes one data blob into b.plain.
func loadBlob(ctx context.Context, repo Repository, id oid.ID, b *blobBufs) error {
	e, ok := repo.Index().Lookup(pack.DataBlob, id)
	if !ok {
		return fmt.Errorf("chunk %s: %w", id.Short(), ErrBlobNotFound)
	}
	if e.Length > maxBlobSize || e.RawLength > maxBlobSize {
		return fmt.Errorf("blob %s: length %d/%d too large: %w", id.Short(), e.Length, e.RawLength, ErrCorrupt)
	}
	rc, err := repo.Store().Get(ctx, packName(e.Pack), int64(e.Offset), int64(e.Length))
	if err != nil {
		return fmt.Errorf("pack %s: %w", e.Pack.Short(), err)
	}
	defer rc.Close()
	b.stored = grow(b.stored, int(e.Length))
	if _, err := io.ReadFull(rc, b.stored); err != nil {
		return fmt.Errorf("pack %s: read blob %s: %w", e.Pack.Short(), id.Short(), err)
	}
	plain, err := repo.DecodeBlob(e, b.stored, b.plain[:0])
	if err != nil {
		return fmt.Errorf("blob %s: %w", id.Short(), err)
	}
	b.plain = plain
	if len(plain) != int(e.RawLength) {
		return fmt.Errorf("blob %s: %d bytes, index says %d: %w", id.Short(), len(plain), e.RawLength, ErrCorrupt)
	}
	return nil
}
