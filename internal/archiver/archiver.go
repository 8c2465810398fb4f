// Package archiver turns files into a snapshot: it walks the given paths,
// records every node's metadata, chunks file content and stores the chunks
// and directory trees through a repository.
//
// The pipeline uses every core and bounded memory. One walker goroutine
// lists directories in order and hands regular files to a few reader
// goroutines; each reader chunks one file at a time (sequentially, reusing
// its chunker) into pooled MaxSize buffers and passes the chunks to saver
// goroutines, which call Repo.SaveBlob (compression, hashing and encryption
// run there). At most 2*Workers chunk buffers exist at a time. Each node has
// its slot in its directory's sorted node list before any content is read,
// so the trees, and the root tree ID, do not depend on scheduling: a
// directory's tree is saved by whichever goroutine completes its last child.
//
// A file whose node in the parent snapshot has the same size, mtime, ctime,
// inode and device keeps the parent's content list and is not read, provided
// the repository's index still lists every chunk of it (one in-memory lookup
// per chunk); otherwise the file is read again, so that chunks of packs the
// repository lost and dropped (repo.Repository.DropPacks) are stored anew.
// The
// parent's trees are loaded a few directories ahead of the walker, so an
// incremental backup over a remote repository does not wait one round trip
// per directory.
//
// Excludes are gitignore-like patterns, as in restic. A pattern is split at
// '/' into components, each a path.Match glob ('*', '?', '[...]', '\'
// escapes) matching one path component; "**" matches any number of
// components, and a trailing "**" at least one ("dir/**" excludes what is
// inside dir but keeps dir). A pattern starting with '/' is anchored at the
// file system root; any other may match from any component on ("*.log",
// "cache/*.tmp"). A trailing '/' matches directories only. Nothing below an
// excluded directory is read.
package archiver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
)

// Repo is the part of a repository the archiver uses. SaveBlob and HasBlob
// must be safe for concurrent use; SaveBlob must not keep plain after it
// returns. HasBlob is called once per chunk of every unchanged file, so it
// must be cheap (an in-memory lookup).
type Repo interface {
	SaveBlob(ctx context.Context, t pack.BlobType, plain []byte) (id oid.ID, added bool, err error)
	HasBlob(t pack.BlobType, id oid.ID) bool
	SaveTree(ctx context.Context, t *snapshot.Tree) (oid.ID, error)
	LoadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error)
	ChunkerSeed() uint64
}

// ErrNoPaths is returned when none of the paths to back up could be read.
var ErrNoPaths = errors.New("nothing to back up")

// Options configure an Archiver. The zero value is usable.
type Options struct {
	Excludes         []string           // exclude patterns (see the package documentation)
	ExcludeIfPresent []string           // skip a directory that contains an entry with one of these names
	Parent           *snapshot.Snapshot // earlier snapshot for change detection; its ID becomes the new parent
	Progress         func(Progress)     // called from one goroutine every ProgressInterval and once at the end
	ProgressInterval time.Duration      // default 250ms
	Logger           *slog.Logger       // default: discard
	Workers          int                // saver goroutines; default GOMAXPROCS
	Readers          int                // files read at once; default 2
	Host             string             // snapshot hostname; default os.Hostname
	Tags             []string
	ProgramVersion   string
	Now              func() time.Time // clock; default time.Now
}

// Result is what a backup run did besides the snapshot: its counts and the
// paths that could not be backed up (the run went on without them).
type Result struct {
	Summary snapshot.Summary
	Errors  []*FileError
	// FilesReread counts files that were unchanged since the parent
	// snapshot but read again because some of their chunks were not in the
	// repository's index (lost packs that were dropped). Each is also
	// counted in Summary as unmodified, or as changed if its content was
	// not what the parent recorded.
	FilesReread uint64
}

// FileError reports one file or directory that could not be (fully) read.
type FileError struct {
	Path string
	Op   string // "lstat", "open", "read", "readdir", "readlink", "xattr"
	Err  error
}

// Error implements error.
func (e *FileError) Error() string { return fmt.Sprintf("%s %q: %v", e.Op, e.Path, e.Err) }

// fileError makes a FileError, dropping an *os.PathError wrapper that would
// repeat the operation and path.
func fileError(op, path string, err error) *FileError {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &FileError{Path: path, Op: op, Err: err}
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// Archiver makes snapshots. Its methods may be called one at a time.
type Archiver struct {
	repo     Repo
	opts     Options
	excludes *matcher
	skipIf   map[string]bool
	log      *slog.Logger
	names    nameCache

	// Hooks for tests: the system calls the archiver makes on files.
	lstat func(path string, st *unix.Stat_t) error
	open  func(path string, dir bool) (*os.File, error)
}

// New returns an Archiver that stores into repo. It fails on a bad exclude
// pattern.
func New(repo Repo, o Options) (*Archiver, error) {
	ex, err := compileExcludes(o.Excludes)
	if err != nil {
		return nil, err
	}
	o.Workers = cmp.Or(max(o.Workers, 0), runtime.GOMAXPROCS(0))
	o.Readers = cmp.Or(max(o.Readers, 0), 2)
	o.ProgressInterval = cmp.Or(o.ProgressInterval, 250*time.Millisecond)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	a := &Archiver{repo: repo, opts: o, excludes: ex, skipIf: map[string]bool{},
		log: o.Logger, lstat: unix.Lstat, open: openNoatime}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, name := range o.ExcludeIfPresent {
		a.skipIf[name] = true
	}
	return a, nil
}

// Snapshot backs up paths (made absolute and cleaned; a path inside another
// is dropped) and returns the snapshot, not yet saved, and the run's result.
// Files that cannot be read are listed in Result.Errors and left out; an
// error is returned only when the repository fails, ctx ends, or no path
// exists at all.
func (a *Archiver) Snapshot(ctx context.Context, paths []string) (*snapshot.Snapshot, Result, error) {
	start := a.opts.Now()
	targets, err := CleanPaths(paths)
	if err != nil {
		return nil, Result{}, err
	}
	r := a.newRun(ctx, start)
	defer r.cancel()
	err = r.execute(func() {
		prev, prevID := a.parentRoot(r.ctx)
		r.walkRoot(buildVirtual(targets), prev, prevID)
	}, targets)
	res := r.result()
	if err != nil {
		return nil, res, err
	}
	if r.roots.Load() == 0 {
		return nil, res, fmt.Errorf("%w: %v", ErrNoPaths, errors.Join(fileErrs(res.Errors)...))
	}
	return a.newSnapshot(start, targets, r.rootID, &res), res, nil
}

func fileErrs(list []*FileError) []error {
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = e
	}
	return out
}

// parentRoot loads the parent snapshot's root tree; nil without a parent
// or when it cannot be loaded (the backup then reads every file).
func (a *Archiver) parentRoot(ctx context.Context) (*snapshot.Tree, *oid.ID) {
	if a.opts.Parent == nil {
		return nil, nil
	}
	id := a.opts.Parent.Tree
	t, err := a.repo.LoadTree(ctx, id)
	if err != nil {
		a.log.Warn("cannot load parent snapshot tree, reading all files",
			"snapshot", a.opts.Parent.ID.Short(), "err", err)
		return nil, nil
	}
	return t, &id
}

func (a *Archiver) newSnapshot(start time.Time, paths []string, root oid.ID, res *Result) *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		Time: start, Hostname: a.opts.Host, Paths: paths, Tree: root,
		Tags: a.opts.Tags, Excludes: a.opts.Excludes, ProgramVersion: a.opts.ProgramVersion,
		UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Summary: &res.Summary,
	}
	s.Username = a.names.user(s.UID)
	if p := a.opts.Parent; p != nil && !p.ID.IsNull() {
		id := p.ID
		s.Parent = &id
	}
	return s
}

// errorList collects per-file errors from all goroutines.
type errorList struct {
	mu   sync.Mutex
	list []*FileError
}

func (l *errorList) add(e *FileError) {
	l.mu.Lock()
	l.list = append(l.list, e)
	l.mu.Unlock()
}

func (l *errorList) sorted() []*FileError {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.list)
	slices.SortStableFunc(out, func(a, b *FileError) int { return cmp.Compare(a.Path, b.Path) })
	return out
}
