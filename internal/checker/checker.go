// Package checker verifies a repository against every invariant of the
// format (docs/format.md): index files decode and agree with the pack
// headers and with the store, every snapshot's trees load, every chunk they
// refer to is indexed, and — when asked to read data — every pack hashes to
// its name and every blob decrypts to its ID.
//
// Check reads only; it needs no more than a shared lock, which the caller
// takes. It builds its own index from the index files instead of using the
// repository's, so that one broken index file is reported, not fatal. Like
// every reader, it skips the packs of an index file that another present
// file supersedes.
package checker

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
)

// ErrBroken is wrapped by the error Check returns when it found errors.
var ErrBroken = errors.New("repository has errors")

// Kinds of problems; each Problem's Err wraps one of them.
var (
	ErrIndexFile        = errors.New("index file is unreadable")
	ErrIndexConflict    = errors.New("index files disagree")
	ErrMissingPack      = errors.New("pack is missing")
	ErrPackSize         = errors.New("pack size differs from the index")
	ErrPackHeader       = errors.New("pack header is unreadable")
	ErrHeaderMismatch   = errors.New("index does not match the pack header")
	ErrOverlap          = errors.New("blobs overlap")
	ErrSnapshot         = errors.New("snapshot is unreadable")
	ErrTree             = errors.New("tree is unreadable")
	ErrMissingBlob      = errors.New("blob is not in the index")
	ErrPackRead         = errors.New("pack is unreadable")
	ErrPackHash         = errors.New("pack content does not match its name")
	ErrBlob             = errors.New("blob is damaged")
	ErrUnreferencedPack = errors.New("pack is not referenced by any index (left by an interrupted backup or prune; prune removes it)")
	ErrSuperseded       = errors.New("index file is superseded (left by an interrupted prune or by dropping lost packs; prune removes it)")
	ErrStrayObject      = errors.New("object with an unexpected name")
)

// Repository is what Check needs of a repository; *repo.Repository has it.
type Repository interface {
	Store() store.Store
	Key() *crypto.Key
	List(ctx context.Context, kind string) ([]oid.ID, error)
	LoadIndexFile(ctx context.Context, id oid.ID) (*index.File, error)
	LoadSnapshot(ctx context.Context, id oid.ID) (*snapshot.Snapshot, error)
	ReadStored(ctx context.Context, e index.Entry, dst []byte) ([]byte, error)
	DecodeBlob(e index.Entry, stored, dst []byte) ([]byte, error)
}

var _ Repository = (*repo.Repository)(nil)

// Options control what Check reads.
type Options struct {
	// ReadData reads every pack in full: its SHA-256 must match its name
	// and every blob must decrypt, decompress and hash to its ID.
	ReadData bool
	// ReadDataSubset, in (0, 1], reads that fraction of the packs (rounded
	// up) as ReadData would, chosen at random from Seed. Ignored when
	// ReadData is set.
	ReadDataSubset float64
	// Seed makes the subset reproducible.
	Seed uint64
	// Workers bounds concurrent reads; zero means 4.
	Workers int
	// Progress, if set, is called as work advances, from one goroutine at
	// a time.
	Progress func(Progress)
}

// Progress reports how far a phase of the check has come.
type Progress struct {
	Phase       string // "index", "packs", "snapshots", "trees", "read data"
	Done, Total int    // Total is 0 when unknown
}

// Problem is one error or warning: the object it concerns and what is
// wrong. Err wraps one of the package's Err* kinds.
type Problem struct {
	Object string // e.g. "pack data/3f/3fa9…", "tree 1c2d3e4f in snapshot 9a8b7c6d at /home"
	Err    error
}

// Error returns "object: what is wrong".
func (p Problem) Error() string { return p.Object + ": " + p.Err.Error() }

// Unwrap returns the underlying error.
func (p Problem) Unwrap() error { return p.Err }

// Report is the outcome of a check.
type Report struct {
	Errors   []Problem
	Warnings []Problem

	IndexFiles int   // index files read
	Packs      int   // packs referenced by the index
	Blobs      int   // blob entries in the index
	Snapshots  int   // snapshots read
	Trees      int   // distinct trees loaded
	PacksRead  int   // packs read in full
	BytesRead  int64 // bytes of packs read in full
}

// OK reports whether the check found no errors (warnings are fine).
func (r *Report) OK() bool { return len(r.Errors) == 0 }

// Check verifies the repository and returns what it found. The error wraps
// ErrBroken when the report has errors; other errors (a store that cannot
// list, a cancelled context) mean the check could not finish.
func Check(ctx context.Context, r Repository, o Options) (*Report, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	c := &checker{r: r, o: o, rep: &Report{}}
	steps := []func(context.Context) error{c.loadIndex, c.checkPacks, c.checkSnapshots, c.readData}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return c.rep, err
		}
	}
	if n := len(c.rep.Errors); n > 0 {
		return c.rep, fmt.Errorf("%w: %d errors, %d warnings", ErrBroken, n, len(c.rep.Warnings))
	}
	return c.rep, nil
}

// checker holds the state of one Check.
type checker struct {
	r   Repository
	o   Options
	rep *Report

	mu      sync.Mutex // guards rep and progress calls
	packs   map[oid.ID]*packInfo
	lookup  *index.Index
	missing map[oid.ID]bool // indexed packs absent from the store
	present []oid.ID        // indexed packs in the store with the recorded size
	bufs    sync.Pool       // pack buffers for reading data
}

func (c *checker) errorf(object string, kind error, format string, args ...any) {
	c.add(&c.rep.Errors, object, kind, format, args...)
}

func (c *checker) warnf(object string, kind error, format string, args ...any) {
	c.add(&c.rep.Warnings, object, kind, format, args...)
}

func (c *checker) add(list *[]Problem, object string, kind error, format string, args ...any) {
	err := kind
	if format != "" {
		err = fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
	}
	c.mu.Lock()
	*list = append(*list, Problem{Object: object, Err: err})
	c.mu.Unlock()
}

// addError records err, which already wraps one of the Err* kinds.
func (c *checker) addError(object string, err error) {
	c.mu.Lock()
	c.rep.Errors = append(c.rep.Errors, Problem{Object: object, Err: err})
	c.mu.Unlock()
}

func (c *checker) progress(phase string, done, total int) {
	if c.o.Progress == nil {
		return
	}
	c.mu.Lock()
	c.o.Progress(Progress{Phase: phase, Done: done, Total: total})
	c.mu.Unlock()
}

// forEach runs fn(0..n-1) on the configured number of workers, reporting
// progress for phase with done counted from base and out of total. It
// stops early only when ctx is done.
func (c *checker) forEach(ctx context.Context, phase string, base, total, n int, fn func(i int)) error {
	var (
		wg   sync.WaitGroup
		next = make(chan int)
		done = base
		dmu  sync.Mutex
	)
	for range min(c.o.Workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
				dmu.Lock()
				done++
				c.progress(phase, done, total)
				dmu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}
