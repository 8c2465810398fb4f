// Package pruner removes data that no snapshot needs any more: packs whose
// blobs are all unused are deleted, packs with few used blobs are repacked
// (their used blobs copied, still encrypted, into new packs), and the index
// is rewritten as new index files that supersede all the old ones.
//
// The order of writes keeps the repository valid at every moment, so an
// interrupted prune leaves nothing broken, only garbage that the next prune
// removes (see docs/format.md, "Prune and write ordering"):
//
//  1. new packs holding the repacked blobs are uploaded (and indexed by the
//     repository's own index file, as a backup would);
//  2. the new index files are written, covering every pack that stays, the
//     last one listing every old index file in Supersedes;
//  3. the old index files are deleted;
//  4. only then are the obsolete packs deleted.
//
// Prune must run alone: the caller takes the repository's exclusive lock
// (repo.Repository.Lock(ctx, true)) before calling it and holds it until
// it returns, because prune deletes packs that no index lists, and those
// could belong to a backup still running.
package pruner

import (
	"context"
	"errors"
	"fmt"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
)

// DefaultMaxUnusedPercent is the share of unused bytes a repository may keep
// in partly used packs before prune repacks them (restic's default too).
const DefaultMaxUnusedPercent = 5

// Errors that stop a prune before it writes anything.
var (
	// ErrIncomplete: a snapshot needs a tree or chunk that the index does not
	// list or whose every pack is missing. Pruning would lose track of data;
	// run check.
	ErrIncomplete = errors.New("repository is incomplete: run \"seedship check\" and repair it before pruning")
	// ErrDamaged: a tree, or a blob to be repacked, failed authentication or
	// decoding.
	ErrDamaged = errors.New("repository data is damaged: run \"seedship check --read-data\"")
)

// Repository is what Prune needs of a repository; *repo.Repository has it.
type Repository interface {
	Store() store.Store
	Key() *crypto.Key
	List(ctx context.Context, kind string) ([]oid.ID, error)
	LoadIndexFile(ctx context.Context, id oid.ID) (*index.File, error)
	SaveIndexFile(ctx context.Context, f *index.File) (oid.ID, error)
	Snapshots(ctx context.Context) ([]*snapshot.Snapshot, error)
	ReadStored(ctx context.Context, e index.Entry, dst []byte) ([]byte, error)
	DecodeBlob(e index.Entry, stored, dst []byte) ([]byte, error)
	SaveStoredBlob(ctx context.Context, e index.Entry, stored []byte) error
	Flush(ctx context.Context) error
}

var _ Repository = (*repo.Repository)(nil)

// Options control a prune.
type Options struct {
	// MaxUnusedPercent is the share of the repository (unused bytes over
	// all bytes in packs) that may stay unused in partly used packs; prune
	// repacks the most wasteful packs until the rest is within it. Zero
	// repacks every partly used pack; 100 or more repacks none. The
	// command's default is DefaultMaxUnusedPercent.
	MaxUnusedPercent float64
	// DryRun computes and returns the plan without changing anything.
	DryRun bool
	// Workers bounds concurrent store operations; zero means 4.
	Workers int
	// Progress, if set, is called as work advances, from one goroutine at
	// a time.
	Progress func(Progress)
}

// Progress reports how far a phase of the prune has come.
type Progress struct {
	Phase       string // "index", "snapshots", "trees", "repack", "delete index", "delete packs"
	Done, Total int    // Total is 0 when unknown
}

// Stats describes what a prune did (or, with DryRun, would do).
type Stats struct {
	Snapshots int // snapshots whose data is kept
	Trees     int // distinct trees walked

	UsedBlobs   int   // distinct blobs the snapshots need
	UsedBytes   int64 // stored bytes of those blobs
	UnusedBytes int64 // stored bytes of all other blobs (and duplicates)

	PacksKept         int // packs kept as they are (some may hold unused blobs)
	PacksRepacked     int // partly used packs whose used blobs were copied
	PacksRemoved      int // fully unused packs deleted
	PacksUnreferenced int // packs no index listed, deleted
	PacksMissing      int // indexed packs absent from the store, dropped from the index

	BlobsRepacked int   // blobs copied to new packs
	BytesRepacked int64 // their stored bytes
	BytesFreed    int64 // bytes of deleted packs minus bytes of new packs

	IndexFilesRemoved int      // old index files deleted
	NewIndexFiles     []oid.ID // index files written
}

// Prune removes unused data from the repository as the package comment
// describes. The caller holds the exclusive lock. After it returns, the
// Repository's in-memory index is out of date: reopen the repository (or
// reload its index) before using it again.
func Prune(ctx context.Context, r Repository, o Options) (*Stats, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	p := &pruner{r: r, o: o, stats: &Stats{}}
	if err := p.load(ctx); err != nil {
		return p.stats, err
	}
	if err := p.mark(ctx); err != nil {
		return p.stats, err
	}
	pl, err := p.plan()
	if err != nil || o.DryRun || pl.noop {
		return p.stats, err
	}
	return p.stats, p.execute(ctx, pl)
}

// execute carries out a plan in the order that keeps the repository valid.
func (p *pruner) execute(ctx context.Context, pl *plan) error {
	if err := p.repack(ctx, pl); err != nil {
		return fmt.Errorf("repack: %w", err)
	}
	if err := p.writeIndex(ctx, pl); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := p.deleteAll(ctx, "delete index", indexNames(pl.oldIndex)); err != nil {
		return fmt.Errorf("delete old index files: %w", err)
	}
	p.stats.IndexFilesRemoved = len(pl.oldIndex)
	if err := p.deleteAll(ctx, "delete packs", packNames(pl.remove)); err != nil {
		return fmt.Errorf("delete packs: %w", err)
	}
	return nil
}

func indexNames(ids []oid.ID) []string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = "index/" + id.String()
	}
	return names
}

func packNames(ids []oid.ID) []string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = repo.PackName(id)
	}
	return names
}
