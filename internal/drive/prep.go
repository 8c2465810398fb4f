package drive

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/seedship/seedship/internal/importjob"
)

// Errors of disk preparation.
var (
	// ErrNeedDrive: more files are left and no next drive was given. The
	// error is a *NeedDriveError saying how much is left.
	ErrNeedDrive = errors.New("next drive needed")
	// ErrNotEmpty: a drive holds files and erasing was not confirmed.
	ErrNotEmpty = errors.New("drive is not empty")
	// ErrTooLarge: a file does not fit on an empty drive.
	ErrTooLarge = errors.New("file larger than the drive")
	// ErrDriveMissing: the drive an interrupted run was filling is not
	// attached.
	ErrDriveMissing = errors.New("unfinished drive not attached")
	// ErrDrivePath: a drive path is not a directory, or overlaps the
	// staging location.
	ErrDrivePath = errors.New("unusable drive path")
	// ErrVerify: a file read back from a drive differs from what was
	// written.
	ErrVerify = errors.New("drive verification failed")
)

// Options configure Prep.
type Options struct {
	// Staging is the staging location: a repository plus the seed record.
	Staging string
	// Job is the import job's name, written into every manifest.
	Job string
	// JobKey (JobKeySize bytes) authenticates the manifests.
	JobKey []byte
	// Drives are the mount points (or directories) to fill, in order.
	// Paths that hold a finished drive of this job are skipped, so the same
	// list can be passed again to resume.
	Drives []string
	// Capacity, when > 0, caps the bytes used on each drive below its real
	// free space.
	Capacity int64
	// SkipVerify turns off reading back every file after a drive is
	// written.
	SkipVerify bool
	// NextDrive is called when Drives are used up and files are left; it
	// returns the path of the next drive (seq is its sequence number). When
	// nil, Prep stops with a *NeedDriveError. It is also asked for the
	// drive an interrupted run was filling if that drive is not found.
	NextDrive func(ctx context.Context, seq int) (path string, err error)
	// Erase allows removing the contents of non-empty drives.
	Erase bool
	// ConfirmErase, when Erase is false, is asked before a non-empty drive
	// is erased; entries are some of the names found on it.
	ConfirmErase func(ctx context.Context, path string, entries []string) (bool, error)
	// ReplaceUnfinished gives up the drive an interrupted run was filling
	// when it is not attached: its files are copied to a new drive.
	ReplaceUnfinished bool
	// Progress receives events; it must not block for long.
	Progress func(Event)
	// Now is the clock (time.Now when nil); Rand the source of drive ids
	// (crypto/rand when nil).
	Now  func() time.Time
	Rand io.Reader

	hooks *hooks // tests only
}

// Result describes the prepared drives.
type Result struct {
	Drives []DriveResult `json:"drives"` // every finished drive, in order
	Bytes  int64         `json:"bytes"`  // total bytes on the finished drives
	Files  int           `json:"files"`
	// CopiedFiles and CopiedBytes count what this run copied.
	CopiedFiles int   `json:"copied_files"`
	CopiedBytes int64 `json:"copied_bytes"`
	// Resumed: this run continued an earlier, interrupted one.
	Resumed bool `json:"resumed"`
	// AlreadyDone: an earlier run had finished; nothing was changed.
	AlreadyDone bool `json:"already_done"`
}

// DriveResult is one finished drive, as the import job registers it.
type DriveResult struct {
	ID           string `json:"id"`
	Seq          int    `json:"seq"`
	Path         string `json:"path"`
	ManifestHash string `json:"manifest_hash"`
	Bytes        int64  `json:"bytes"`
	Files        int    `json:"files"`
}

// NeedDriveError says that drive Seq is needed for the Files (Bytes) left.
type NeedDriveError struct {
	Seq   int
	Files int
	Bytes int64
}

// Error tells the user how to continue.
func (e *NeedDriveError) Error() string {
	return fmt.Sprintf("%v: drive %d is needed for the %d files (%s) left: attach an empty drive and run again with its path; finished drives are kept",
		ErrNeedDrive, e.Seq, e.Files, humanBytes(e.Bytes))
}

// Unwrap returns ErrNeedDrive.
func (e *NeedDriveError) Unwrap() error { return ErrNeedDrive }

// prep is one run of Prep.
type prep struct {
	o       Options
	hk      *hooks
	staging string
	j       *journal
	st      *journalState
	src     map[string]int64 // staging file → size
	pending []srcFile        // files on no drive yet, in copy order
	buf     []byte
	res     Result
	next    int // index of the next path in o.Drives
	total   int64
	// The batch of file records not yet in the journal, and the drive's
	// directories not yet fsynced since an entry was added (see flush).
	queued      []record
	queuedBytes int64
	dirty       map[string]bool
}

// A batch of file records is flushed to the journal after batchFiles files
// or batchBytes bytes, and always before anything else is journaled or a
// manifest is written: that bounds what a power cut makes the next run hash
// again (or copy again, for files whose rename was lost).
const (
	batchFiles = 64
	batchBytes = 256 << 20
)

// Prep copies the staging repository onto drives, writes and verifies each
// drive's manifest, and returns the finished drives. It resumes an
// interrupted run from the journal in the staging directory, and returns a
// result with AlreadyDone when a previous run finished. When it stops for
// want of a drive it returns the drives finished so far and a
// *NeedDriveError.
func Prep(ctx context.Context, o Options) (*Result, error) {
	p, err := newPrep(o)
	if err != nil {
		return nil, err
	}
	defer p.j.close()
	if p.st.done {
		p.res.AlreadyDone = true
		p.collect()
		return &p.res, nil
	}
	err = p.run(ctx)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// A stop, not a crash: journal the files copied so far, so the
		// next run need not find them by hashing them.
		if ferr := p.flush(); ferr != nil {
			err = fmt.Errorf("%w (and journaling the files copied: %v)", err, ferr)
		}
	}
	p.collect()
	return &p.res, err
}

func newPrep(o Options) (*prep, error) {
	if err := importjob.ValidateName(o.Job); err != nil {
		return nil, err
	}
	if len(o.JobKey) != JobKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrJobKey, len(o.JobKey), JobKeySize)
	}
	if o.Capacity < 0 {
		return nil, fmt.Errorf("drive capacity %d < 0", o.Capacity)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	staging, err := realDir(o.Staging)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrStaging, o.Staging, err)
	}
	j, st, err := openJournal(staging, o.Job, o.hooks)
	if err != nil {
		return nil, err
	}
	bufSize := 2 << 20 // two 1 MiB halves: one hashed while the other is copied
	if o.hooks != nil && o.hooks.bufSize > 0 {
		bufSize = o.hooks.bufSize
	}
	return &prep{o: o, hk: o.hooks, staging: staging, j: j, st: st, buf: make([]byte, bufSize)}, nil
}

// realDir returns the absolute, link-free path of a directory.
func realDir(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", abs)
	}
	return abs, nil
}

func (p *prep) run(ctx context.Context) error {
	files, err := scanStaging(p.staging)
	if err != nil {
		return err
	}
	p.src = make(map[string]int64, len(files))
	for _, f := range files {
		p.src[f.path] = f.size
		p.total += f.size
		if p.o.Capacity > 0 && f.size > p.o.Capacity {
			return fmt.Errorf("%w: %s is %s, more than the drive capacity of %s: use larger drives (files are never split)",
				ErrTooLarge, f.path, humanBytes(f.size), humanBytes(p.o.Capacity))
		}
	}
	p.res.Resumed = len(p.st.drives) > 0 || len(p.st.gaveUp) > 0
	var t *target
	if u := p.st.unfinished(); u != nil {
		if t, err = p.resume(ctx, u); err != nil {
			return err
		}
	}
	for _, f := range files {
		if p.st.onDisk[f.path] == nil {
			p.pending = append(p.pending, f)
		}
	}
	for t != nil || len(p.pending) > 0 {
		if t == nil {
			if t, err = p.nextDrive(ctx); err != nil {
				return err
			}
		}
		if err := p.fill(ctx, t); err != nil {
			return err
		}
		if err := p.finish(ctx, t); err != nil {
			return err
		}
		t = nil
	}
	return p.log(record{Op: opDone, Time: p.now()})
}

// collect fills the result from the finished drives in the journal.
func (p *prep) collect() {
	p.res.Drives, p.res.Bytes, p.res.Files = nil, 0, 0
	for _, d := range p.st.drives {
		if d.finished {
			p.res.Drives = append(p.res.Drives, DriveResult{ID: d.id, Seq: d.seq, Path: d.mount,
				ManifestHash: d.manifest, Bytes: d.bytes, Files: len(d.files)})
			p.res.Bytes += d.bytes
			p.res.Files += len(d.files)
		}
	}
}

func (p *prep) now() time.Time { return p.o.Now().UTC().Truncate(time.Second) }

func (p *prep) emit(e Event) {
	if p.o.Progress != nil {
		e.TotalBytes = p.total
		p.o.Progress(e)
	}
}

// needDrive describes what is left.
func (p *prep) needDrive(seq int) error {
	e := &NeedDriveError{Seq: seq, Files: len(p.pending)}
	for _, f := range p.pending {
		e.Bytes += f.size
	}
	return e
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
