// Package restorer writes a snapshot back to a file system, streams one
// file's content (dump) and lists a snapshot's nodes (ls).
//
// A restore runs in three steps:
//
//  1. Plan: one walk over the snapshot's trees (subtrees of the next
//     directories load in the background) validates every node name,
//     applies the include/exclude filters, creates the directories (mode
//     0700 for now), symlinks, devices and FIFOs with their metadata, and
//     collects the regular files and the chunks they need, grouped by pack.
//  2. Content: workers read each pack once (one ranged Get per run of
//     needed blobs, streamed and never buffered whole, so memory stays at
//     about two blobs per worker), decode each blob and write it with
//     WriteAt to every file offset that needs it. A file is created on its
//     first write; when its last write is done, its owner, xattrs, mode and
//     times are set. Ranges never written stay holes, and in sparse files
//     all-zero blocks are not written. Then later paths of a (device_id,
//     inode) group become hard links to the first restored path, and with
//     Options.Verify every restored file is re-read and its chunks
//     compared with their IDs.
//  3. Directories: their metadata is applied last, children before parents,
//     so their mtimes and read-only modes stick.
//
// Safety: names from a tree are validated (no "/", NUL, "." or "..", no
// duplicates), so a malicious repository cannot write outside the target.
// Nothing in the target is followed: existing regular files are replaced
// (unlinked, then created anew with O_EXCL|O_NOFOLLOW, so other hard links
// to them are untouched), existing directories are reused, and any other
// existing object at a path the snapshot needs (symlink, device, a
// directory where a file goes, ...) stops the restore with ErrExists.
//
// Owners are restored by numeric uid/gid, like restic; with
// Options.MapOwnerNames the local ids of the recorded user and group names
// are used when those names exist here (like tar). Where chown is not
// permitted (not root, root squashing, ids outside a user namespace) the
// owner is left as is with a warning. Sockets are skipped with a warning;
// devices that cannot be created (no CAP_MKNOD) likewise; xattrs that the
// file system refuses (ENOTSUP, EPERM) likewise.
package restorer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
)

// Errors returned by the restorer (wrapped with the path or object).
var (
	// ErrInvalidName: a tree holds a name that is empty, ".", "..", or
	// contains "/" or NUL, or holds the same name twice.
	ErrInvalidName = errors.New("invalid node name in tree")
	// ErrExists: the target holds something at a path the snapshot needs
	// that the restorer does not overwrite.
	ErrExists = errors.New("target path exists and is not a regular file")
	// ErrBlobNotFound: a chunk a file needs is not in the index.
	ErrBlobNotFound = errors.New("chunk not found in index")
	// ErrCorrupt: a stored blob or tree does not decode to what the index
	// and tree promise.
	ErrCorrupt = errors.New("repository data is corrupt")
	// ErrVerify: a restored file does not match its snapshot content.
	ErrVerify = errors.New("restored file does not match snapshot")
	// ErrNotFound: a path does not name a node in the snapshot.
	ErrNotFound = errors.New("path not found in snapshot")
	// ErrNotFile: a path names a node that is not a regular file.
	ErrNotFile = errors.New("not a regular file")
	// ErrPattern: an include or exclude pattern is malformed.
	ErrPattern = errors.New("bad include/exclude pattern")
)

// TreeLoader loads trees; List needs only this.
type TreeLoader interface {
	LoadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error)
}

// Repository is what the restorer reads through. *repo.Repository
// implements it.
type Repository interface {
	TreeLoader
	// Index finds the pack and position of a chunk.
	Index() *index.Index
	// Store reads byte ranges of pack files.
	Store() store.Store
	// DecodeBlob authenticates, decrypts and decompresses one stored blob
	// (the bytes at e.Offset, e.Length in pack e.Pack), appending the
	// plaintext to dst[:0]. For an uncompressed blob dst may be stored[:0]
	// (decryption in place); otherwise dst and stored do not overlap.
	DecodeBlob(e index.Entry, stored, dst []byte) ([]byte, error)
	// Key computes chunk IDs, for verification.
	Key() *crypto.Key
}

// Options tune a restore. The zero value restores everything.
type Options struct {
	// Include selects the snapshot paths to restore, with everything below
	// them and the directories above them. Empty: everything.
	//
	// Patterns follow restic: "/"-separated parts matched with
	// filepath.Match against the components of a snapshot path ("/home/u/f"
	// for node f in directory u in directory home of the root tree), "**"
	// matching any number of components. A pattern starting with "/"
	// matches from the root; any other matches at any depth ("*.go" matches
	// "/src/a.go"). A path matches when it or one of its parents does.
	Include []string
	// Exclude skips the snapshot paths matching a pattern and everything
	// below them; it wins over Include.
	Exclude []string
	// Verify re-reads every restored file and compares it with its chunk IDs.
	Verify bool
	// Sparse writes all-zero blocks of every file as holes, not only of the
	// files recorded as sparse.
	Sparse bool
	// MapOwnerNames restores owners by the recorded user and group names when
	// they exist on this system, by numeric id otherwise.
	MapOwnerNames bool
	// Progress, if set, is called after planning and after every blob
	// written, never concurrently; it must return quickly.
	Progress func(Progress)
	// Logger receives warnings (unsupported xattrs, skipped sockets, ...).
	Logger *slog.Logger
	// Workers is the number of packs read and decoded at once, and of
	// trees loaded at once (default max(4, GOMAXPROCS)). Memory use is about
	// 2 × Workers × the largest blob (4 MiB chunks: 32 MiB for 4 workers).
	Workers int
}

// Progress is a restore's progress so far.
type Progress struct {
	FilesTotal, FilesDone int64
	BytesTotal, BytesDone int64
}

// Result summarizes a restore.
type Result struct {
	Files, Dirs, Symlinks, HardLinks, Special int64
	// Bytes is the logical size of the restored regular files.
	Bytes int64
	// Packs is how many pack files were read.
	Packs int64
	// Warnings counts problems that did not stop the restore (see the log).
	Warnings int64
	// Verified is how many files were verified; Mismatches names those that
	// did not match (the restore then returns ErrVerify).
	Verified   int64
	Mismatches []string
}

// Restorer restores snapshots from one repository.
type Restorer struct {
	repo   Repository
	opt    Options
	filter *filter
	log    *slog.Logger
	// afterContent runs between the content and verify steps (tests).
	afterContent func()
}

// New returns a Restorer reading from repo. It fails with ErrPattern when a
// pattern is malformed.
func New(repo Repository, o Options) (*Restorer, error) {
	f, err := newFilter(o.Include, o.Exclude)
	if err != nil {
		return nil, err
	}
	if o.Workers <= 0 {
		o.Workers = max(4, runtime.GOMAXPROCS(0))
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Restorer{repo: repo, opt: o, filter: f, log: log}, nil
}

// Restore writes the part of snap selected by the options below target,
// creating target if needed. It returns ErrVerify (with the result listing
// the mismatches) when verification fails.
func (r *Restorer) Restore(ctx context.Context, snap *snapshot.Snapshot, target string) (Result, error) {
	if snap == nil {
		return Result{}, fmt.Errorf("restore: no snapshot")
	}
	ru, err := r.newRun(target)
	if err != nil {
		return Result{}, err
	}
	if err := ru.restore(ctx, snap.Tree); err != nil {
		return ru.res, err
	}
	if n := len(ru.res.Mismatches); n > 0 {
		return ru.res, fmt.Errorf("restore to %s: %d file(s), first %s: %w", target, n, ru.res.Mismatches[0], ErrVerify)
	}
	return ru.res, nil
}

// Verify compares the files below target with the part of snap selected by
// the options, as Restore with Verify does, without writing anything.
func (r *Restorer) Verify(ctx context.Context, snap *snapshot.Snapshot, target string) (Result, error) {
	if snap == nil {
		return Result{}, fmt.Errorf("verify: no snapshot")
	}
	ru, err := r.newRun(target)
	if err != nil {
		return Result{}, err
	}
	ru.dryRun = true
	if err := ru.plan(ctx, snap.Tree); err != nil {
		return ru.res, err
	}
	ru.verify(ctx)
	if n := len(ru.res.Mismatches); n > 0 {
		return ru.res, fmt.Errorf("verify %s: %d file(s), first %s: %w", target, n, ru.res.Mismatches[0], ErrVerify)
	}
	return ru.res, ctx.Err()
}
