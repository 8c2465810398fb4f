package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/seedship/seedship/internal/archiver"
	"github.com/seedship/seedship/internal/restorer"
	"github.com/seedship/seedship/internal/snapshot"
)

// barView is a progress bar on a terminal whose text comes from a
// function of the latest report.
type barView struct {
	p   *mpb.Progress
	bar *mpb.Bar
	mu  sync.Mutex
	txt func() (left, right string)
}

func newBar(e env, txt func() (string, string)) *barView {
	b := &barView{txt: txt}
	b.p = mpb.New(mpb.WithOutput(e.stderr), mpb.WithWidth(30), mpb.WithRefreshRate(200*time.Millisecond))
	b.bar = b.p.New(0, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { l, _ := b.text(); return l })),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { _, r := b.text(); return r })))
	return b
}

func (b *barView) text() (string, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.txt()
}

func (b *barView) set(done, total int64) {
	b.bar.SetTotal(max(total, done, 1), false)
	b.bar.SetCurrent(done)
}

func (b *barView) finish() {
	b.bar.SetTotal(-1, true)
	b.p.Wait()
}

func eta(done, total uint64, rate float64, known bool) string {
	if !known || rate <= 0 || done >= total {
		return "ETA --"
	}
	d := time.Duration(float64(total-done) / rate * float64(time.Second))
	return "ETA " + d.Round(time.Second).String()
}

// backupProgress shows a backup's progress as a bar, as JSON lines, or not
// at all.
type backupProgress struct {
	e    env
	json bool
	bar  *barView
	last archiver.Progress
}

func newBackupProgress(e env, g *globals, asJSON bool) *backupProgress {
	p := &backupProgress{e: e, json: asJSON}
	if !asJSON && e.terminal && !g.quiet {
		p.bar = newBar(e, func() (string, string) {
			l := p.last
			return fmt.Sprintf("%d/%d files %s/%s", l.FilesDone, l.FilesTotal, formatBytes(int64(l.BytesDone)), formatBytes(int64(l.BytesTotal))),
				fmt.Sprintf("%s/s %s", formatBytes(int64(l.BytesPerSecond)), eta(l.BytesDone, l.BytesTotal, l.BytesPerSecond, l.ScanDone))
		})
	}
	return p
}

// callback returns the function to pass as archiver.Options.Progress: nil
// when nothing is shown, so the archiver skips its counting scan.
func (p *backupProgress) callback() func(archiver.Progress) {
	if !p.json && p.bar == nil {
		return nil
	}
	return p.update
}

func (p *backupProgress) update(pr archiver.Progress) {
	switch {
	case p.json:
		json.NewEncoder(p.e.stdout).Encode(map[string]any{
			"message_type": "status", "seconds_elapsed": pr.Elapsed.Seconds(),
			"files_done": pr.FilesDone, "files_total": pr.FilesTotal, "bytes_done": pr.BytesDone, "bytes_total": pr.BytesTotal,
			"scan_done": pr.ScanDone, "bytes_per_second": pr.BytesPerSecond, "errors": pr.Errors, "current_files": pr.CurrentFiles,
		})
	case p.bar != nil:
		p.bar.mu.Lock()
		p.last = pr
		p.bar.mu.Unlock()
		p.bar.set(int64(pr.BytesDone), int64(pr.BytesTotal))
	}
}

func (p *backupProgress) done() {
	if p.bar != nil {
		p.bar.finish()
	}
}

func printBackupSummary(e env, g *globals, f *backupFlags, snap *snapshot.Snapshot, res archiver.Result) {
	s := res.Summary
	if f.json {
		json.NewEncoder(e.stdout).Encode(map[string]any{"message_type": "summary", "snapshot_id": snap.ID.String(), "summary": s, "errors": len(res.Errors)})
		return
	}
	if g.quiet {
		return
	}
	secs := s.BackupEnd.Sub(s.BackupStart).Seconds()
	printf(e.stdout, "files:  %d new, %d changed, %d unmodified\n", s.FilesNew, s.FilesChanged, s.FilesUnmodified)
	printf(e.stdout, "dirs:   %d new, %d changed, %d unmodified\n", s.DirsNew, s.DirsChanged, s.DirsUnmodified)
	printf(e.stdout, "added:  %s in %d chunks (before compression)\n", formatBytes(int64(s.DataAdded)), s.DataBlobs)
	printf(e.stdout, "processed %d files, %s in %.2fs\n", s.FilesProcessed, formatBytes(int64(s.BytesProcessed)), secs)
	printf(e.stdout, "snapshot %s saved\n", snap.ID.Short())
}

// restoreProgress shows a restore's progress.
type restoreProgress struct {
	e     env
	json  bool
	bar   *barView
	last  restorer.Progress
	start time.Time
}

func newRestoreProgress(e env, g *globals, asJSON bool) *restoreProgress {
	p := &restoreProgress{e: e, json: asJSON, start: time.Now()}
	if !asJSON && e.terminal && !g.quiet {
		p.bar = newBar(e, func() (string, string) {
			l := p.last
			rate := float64(l.BytesDone) / max(time.Since(p.start).Seconds(), 0.001)
			return fmt.Sprintf("%d/%d files %s/%s", l.FilesDone, l.FilesTotal, formatBytes(l.BytesDone), formatBytes(l.BytesTotal)),
				fmt.Sprintf("%s/s %s", formatBytes(int64(rate)), eta(uint64(l.BytesDone), uint64(l.BytesTotal), rate, true))
		})
	}
	return p
}

func (p *restoreProgress) update(pr restorer.Progress) {
	switch {
	case p.json:
		json.NewEncoder(p.e.stdout).Encode(map[string]any{"message_type": "status", "seconds_elapsed": time.Since(p.start).Seconds(),
			"files_done": pr.FilesDone, "files_total": pr.FilesTotal, "bytes_done": pr.BytesDone, "bytes_total": pr.BytesTotal})
	case p.bar != nil:
		p.bar.mu.Lock()
		p.last = pr
		p.bar.mu.Unlock()
		p.bar.set(pr.BytesDone, pr.BytesTotal)
	}
}

func (p *restoreProgress) done() {
	if p.bar != nil {
		p.bar.finish()
	}
}
