package archiver

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/snapshot"
)

// SnapshotReader backs up the content of rd as one file called name (a
// relative or absolute slash-separated path; missing directories are made
// up with mode 0755). The snapshot's path is "/" + name. A read error is
// fatal: a stream cannot be retried.
func (a *Archiver) SnapshotReader(ctx context.Context, name string, rd io.Reader) (*snapshot.Snapshot, Result, error) {
	start := a.opts.Now()
	parts, err := splitStdinName(name)
	if err != nil {
		return nil, Result{}, err
	}
	r := a.newRun(ctx, start)
	defer r.cancel()
	base := parts[len(parts)-1]
	d := &dirState{r: r, path: "/" + strings.Join(parts[:len(parts)-1], "/"),
		nodes: []snapshot.Node{a.syntheticNode(base, snapshot.TypeFile, 0o644, start)}}
	var leaf oid.ID
	d.done = func(id oid.ID, ok bool) { leaf = id }
	err = r.execute(func() {
		d.drop = []bool{false}
		d.pending.Store(1)
		f := &fileState{dir: d, path: "/" + strings.Join(parts, "/"), src: rd, isNew: true}
		f.pending.Store(1)
		d.pending.Add(1)
		select {
		case r.jobs <- f:
		case <-r.ctx.Done():
		}
		d.childDone()
	}, nil)
	res := r.result()
	if err == nil && len(res.Errors) > 0 {
		err = res.Errors[0]
	}
	if err != nil {
		return nil, res, err
	}
	root, err := a.wrapDirs(r.ctx, parts[:len(parts)-1], leaf, start)
	if err != nil {
		return nil, res, err
	}
	paths := []string{"/" + strings.Join(parts, "/")}
	return a.newSnapshot(start, paths, root, &res), res, nil
}

func splitStdinName(name string) ([]string, error) {
	var parts []string
	for _, p := range strings.Split(name, "/") {
		if p == "" {
			continue
		}
		if err := snapshot.ValidName(p); err != nil {
			return nil, fmt.Errorf("stdin file name %q: %w", name, err)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("stdin file name %q: %w", name, snapshot.ErrFormat)
	}
	return parts, nil
}

// wrapDirs saves one made-up directory tree per element of dirs around the
// tree leaf, innermost first, and returns the outermost tree's ID.
func (a *Archiver) wrapDirs(ctx context.Context, dirs []string, leaf oid.ID, now time.Time) (oid.ID, error) {
	id := leaf
	for i := len(dirs) - 1; i >= 0; i-- {
		n := a.syntheticNode(dirs[i], snapshot.TypeDir, os.ModeDir|0o755, now)
		sub := id
		n.Subtree = &sub
		var err error
		if id, err = a.repo.SaveTree(ctx, &snapshot.Tree{Nodes: []snapshot.Node{n}}); err != nil {
			return oid.ID{}, fmt.Errorf("save tree of %q: %w", dirs[i], err)
		}
	}
	return id, nil
}

// syntheticNode describes a file or directory that exists only in the
// backup, owned by the current user.
func (a *Archiver) syntheticNode(name string, t snapshot.NodeType, mode os.FileMode, now time.Time) snapshot.Node {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	return snapshot.Node{
		Name: name, Type: t, Mode: mode, UID: uid, GID: gid,
		User: a.names.user(uid), Group: a.names.group(gid),
		ModTime: now, AccessTime: now, ChangeTime: now, Links: 1,
	}
}
