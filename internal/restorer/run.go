package restorer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedship/seedship/internal/oid"
)

// sparseBlock is the granularity at which all-zero data is left as a hole.
const sparseBlock = 4096

// run is the state of one Restore or Verify call.
type run struct {
	r      *Restorer
	target string
	dryRun bool   // Verify: plan without touching the target
	zero   []byte // sparseBlock zero bytes, never written to
	res    Result

	jobs  // what pass 1 collected
	owner ownerCache

	mu     sync.Mutex // guards prog, res.Warnings, warned and progress calls
	prog   Progress
	warned map[string]bool
	packs  atomic.Int64 // packs read
}

func (r *Restorer) newRun(target string) (*run, error) {
	if target == "" {
		return nil, fmt.Errorf("restore: empty target directory")
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		return nil, fmt.Errorf("restore: create target: %w", err)
	}
	return &run{
		r:      r,
		target: target,
		zero:   make([]byte, sparseBlock),
		jobs:   newJobs(),
		owner:  ownerCache{byName: r.opt.MapOwnerNames, ids: map[string]int{}},
		warned: map[string]bool{},
	}, nil
}

// restore runs the three steps (see the package comment).
func (ru *run) restore(ctx context.Context, tree oid.ID) error {
	start := time.Now()
	if err := ru.plan(ctx, tree); err != nil {
		return err
	}
	ru.r.log.Debug("restore: planned", "files", ru.res.Files, "packs", len(ru.packList), "took", time.Since(start))
	ru.report(0, 0)
	if err := ru.fetch(ctx); err != nil {
		return err
	}
	ru.res.Packs = ru.packs.Load()
	if err := ru.link(); err != nil {
		return err
	}
	ru.r.log.Debug("restore: content written", "bytes", ru.res.Bytes, "took", time.Since(start))
	if ru.r.afterContent != nil {
		ru.r.afterContent()
	}
	if ru.r.opt.Verify {
		ru.verify(ctx)
		ru.r.log.Debug("restore: verified", "files", ru.res.Verified, "took", time.Since(start))
	}
	err := ru.finish()
	ru.r.log.Debug("restore: metadata applied", "took", time.Since(start))
	return err
}

// path is the file system path of rel below the target.
func (ru *run) path(rel string) string { return filepath.Join(ru.target, rel) }

// warn logs a problem that does not stop the restore. Only the first
// warning of each kind is logged at Warn level, the rest at Debug.
func (ru *run) warn(kind, rel string, err error) {
	ru.mu.Lock()
	first := !ru.warned[kind]
	ru.warned[kind] = true
	ru.res.Warnings++
	ru.mu.Unlock()
	log := ru.r.log.Debug
	if first {
		log = ru.r.log.Warn
	}
	log("restore: "+kind, "path", rel, "err", err)
}

// report adds progress and calls the Progress callback.
func (ru *run) report(bytes, files int64) {
	fn := ru.r.opt.Progress
	ru.mu.Lock()
	defer ru.mu.Unlock()
	ru.prog.BytesDone += bytes
	ru.prog.FilesDone += files
	if fn != nil {
		fn(ru.prog)
	}
}
