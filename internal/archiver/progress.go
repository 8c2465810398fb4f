package archiver

import (
	"context"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedship/seedship/internal/snapshot"
)

// Progress is a report on a running backup. Totals come from a scanner that
// walks ahead concurrently; they grow until ScanDone. In the last report
// (Done) the totals are the final counts.
type Progress struct {
	Elapsed        time.Duration
	FilesDone      uint64 // files stored or found unchanged
	DirsDone       uint64
	BytesDone      uint64 // content bytes stored or found unchanged
	FilesTotal     uint64
	DirsTotal      uint64
	BytesTotal     uint64
	ScanDone       bool
	Errors         uint64
	BytesPerSecond float64  // recent throughput of BytesDone
	CurrentFiles   []string // files being read now
	Done           bool     // the last report of the run
}

// counters are the run's statistics, updated from every goroutine.
type counters struct {
	filesNew, filesChanged, filesUnmodified, filesDone atomic.Uint64
	filesReread                                        atomic.Uint64
	dirs, dirsNew, dirsChanged, dirsUnmodified, others atomic.Uint64
	dataBlobs, dataAdded, bytesDone                    atomic.Uint64
	filesTotal, dirsTotal, bytesTotal                  atomic.Uint64
	scanDone                                           atomic.Bool
}

// result returns the run's summary and errors.
func (r *run) result() Result {
	s := &r.stats
	errs := r.errs.sorted()
	return Result{Errors: errs, FilesReread: s.filesReread.Load(), Summary: snapshot.Summary{
		BackupStart: r.start, BackupEnd: r.a.opts.Now(),
		FilesNew: s.filesNew.Load(), FilesChanged: s.filesChanged.Load(), FilesUnmodified: s.filesUnmodified.Load(),
		Dirs: s.dirs.Load(), DirsNew: s.dirsNew.Load(), DirsChanged: s.dirsChanged.Load(),
		DirsUnmodified: s.dirsUnmodified.Load(), Others: s.others.Load(),
		DataBlobs: s.dataBlobs.Load(), DataAdded: s.dataAdded.Load(),
		FilesProcessed: s.filesDone.Load(), BytesProcessed: s.bytesDone.Load(),
		Errors: uint64(len(errs)),
	}}
}

func (r *run) progress() Progress {
	s := &r.stats
	p := Progress{
		Elapsed:   r.a.opts.Now().Sub(r.start),
		FilesDone: s.filesDone.Load(), DirsDone: s.dirs.Load(), BytesDone: s.bytesDone.Load(),
		FilesTotal: s.filesTotal.Load(), DirsTotal: s.dirsTotal.Load(), BytesTotal: s.bytesTotal.Load(),
		ScanDone: s.scanDone.Load(),
	}
	r.errs.mu.Lock()
	p.Errors = uint64(len(r.errs.list))
	r.errs.mu.Unlock()
	for i := range r.current {
		if f := r.current[i].Load(); f != nil {
			p.CurrentFiles = append(p.CurrentFiles, *f)
		}
	}
	return p
}

// startAux starts the progress reporter and the scanner (only when someone
// watches progress) and returns a function that stops both and sends the
// final report.
func (r *run) startAux(scanPaths []string) func() {
	fn := r.a.opts.Progress
	if fn == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(r.ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.scan(ctx, scanPaths) })
	var rate rateMeter
	wg.Go(func() { r.reportLoop(ctx, fn, &rate) })
	return func() {
		cancel()
		wg.Wait()
		p := r.progress()
		// The scan may have been cut short: the final counts are the totals.
		p.Done, p.ScanDone = true, true
		p.FilesTotal, p.DirsTotal, p.BytesTotal = p.FilesDone, p.DirsDone, p.BytesDone
		if secs := p.Elapsed.Seconds(); secs > 0 {
			p.BytesPerSecond = float64(p.BytesDone) / secs
		}
		fn(p)
	}
}

func (r *run) reportLoop(ctx context.Context, fn func(Progress), rate *rateMeter) {
	t := time.NewTicker(r.a.opts.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p := r.progress()
			p.BytesPerSecond = rate.update(p.Elapsed, p.BytesDone)
			fn(p)
		}
	}
}

// rateMeter smooths throughput over recent reports.
type rateMeter struct {
	lastT     time.Duration
	lastBytes uint64
	rate      float64
}

func (m *rateMeter) update(t time.Duration, bytes uint64) float64 {
	dt := (t - m.lastT).Seconds()
	if dt <= 0 {
		return m.rate
	}
	cur := float64(bytes-m.lastBytes) / dt
	if m.lastT == 0 {
		m.rate = cur
	} else {
		m.rate = 0.7*m.rate + 0.3*cur
	}
	m.lastT, m.lastBytes = t, bytes
	return m.rate
}

// scan counts what the backup will cover, for an ETA. It applies the same
// excludes, ignores errors and never reads content.
func (r *run) scan(ctx context.Context, paths []string) {
	for _, p := range paths {
		if fi, err := os.Lstat(p); err == nil && !r.a.excludes.excluded(p, fi.IsDir()) {
			r.scanEntry(ctx, p, fi.Mode().Type())
		}
	}
	r.stats.scanDone.Store(ctx.Err() == nil)
}

func (r *run) scanEntry(ctx context.Context, path string, typ fs.FileMode) {
	if ctx.Err() != nil {
		return
	}
	switch {
	case typ.IsRegular():
		r.stats.filesTotal.Add(1)
		if fi, err := os.Lstat(path); err == nil {
			r.stats.bytesTotal.Add(uint64(fi.Size()))
		}
	case typ.IsDir():
		r.scanDir(ctx, path)
	}
}

func (r *run) scanDir(ctx context.Context, path string) {
	f, err := openNoatime(path, true)
	if err != nil {
		return
	}
	entries, _ := f.ReadDir(-1)
	f.Close()
	for _, e := range entries {
		if r.a.skipIf[e.Name()] {
			return
		}
	}
	r.stats.dirsTotal.Add(1)
	for _, e := range entries {
		full := joinPath(path, e.Name())
		if !r.a.excludes.excluded(full, e.IsDir()) {
			r.scanEntry(ctx, full, e.Type())
		}
	}
}
