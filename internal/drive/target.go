package drive

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// headerEstimate bounds the bytes of a manifest outside its file entries.
const headerEstimate = 256

// target is the drive being filled.
type target struct {
	rec   *driveRec
	mount string
	bsize int64
	used  int64 // estimated bytes allocated on the drive
	limit int64 // bytes the drive may use in all
	est   int64 // estimated manifest size
	dirs  map[string]bool
}

func newTarget(rec *driveRec, mount string) *target {
	t := &target{rec: rec, mount: mount, est: headerEstimate, dirs: map[string]bool{".": true}}
	for _, f := range rec.files {
		t.est += entrySize(f)
	}
	return t
}

// budget measures the drive's free space and sets the limit; bytes already
// on the drive (used) stay counted.
func (p *prep) budget(t *target) error {
	free, bsize, err := p.hk.free(t.mount)
	if err != nil {
		return fmt.Errorf("drive %d at %s: %w", t.rec.seq, t.mount, err)
	}
	t.bsize = max(bsize, 512)
	t.used = t.bsize * int64(len(t.dirs)) // marker and directories
	for _, f := range t.rec.files {
		t.used += roundUp(f.Size, t.bsize)
	}
	// The margin covers filesystem metadata the estimate does not see.
	t.limit = t.used + free - min(max(free/100, 1<<20), 1<<30)
	if p.o.Capacity > 0 {
		t.limit = min(t.limit, p.o.Capacity)
	}
	return nil
}

func roundUp(n, b int64) int64 { return (n + b - 1) / b * b }

// cost returns the bytes f would take on the drive, with new directories.
func (t *target) cost(f srcFile) int64 {
	c := roundUp(f.size, t.bsize)
	for d := path.Dir(f.path); !t.dirs[d]; d = path.Dir(d) {
		c += t.bsize
	}
	return c
}

// fits reports whether f fits on the drive with room left for the manifest
// (written to a temporary name, then renamed) and its MAC.
func (t *target) fits(f srcFile) bool {
	entry := entrySize(File{Path: f.path, Size: f.size, SHA256: strings.Repeat("0", 64)})
	est := t.est + entry
	reserve := 2*roundUp(est, t.bsize) + 2*t.bsize
	return len(t.rec.files) < MaxFiles && est <= MaxManifestSize && t.used+t.cost(f)+reserve <= t.limit
}

// add accounts for a file copied to the drive.
func (t *target) add(f File) {
	t.used += t.cost(srcFile{path: f.Path, size: f.Size})
	t.est += entrySize(f)
	for d := path.Dir(f.Path); !t.dirs[d]; d = path.Dir(d) {
		t.dirs[d] = true
	}
}

// nextDrive claims the next drive: the next usable path of Options.Drives,
// else one from NextDrive.
func (p *prep) nextDrive(ctx context.Context) (*target, error) {
	seq := len(p.st.drives) + 1
	for p.next < len(p.o.Drives) {
		mount := p.o.Drives[p.next]
		p.next++
		t, err := p.claim(ctx, mount, seq)
		if errors.Is(err, errUsed) {
			continue
		}
		return t, err
	}
	if p.o.NextDrive == nil {
		return nil, p.needDrive(seq)
	}
	mount, err := p.o.NextDrive(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("drive %d: %w", seq, err)
	}
	t, err := p.claim(ctx, mount, seq)
	if errors.Is(err, errUsed) {
		return nil, fmt.Errorf("%w: %s: attach a new, empty drive", ErrNotEmpty, err)
	}
	return t, err
}

// errUsed marks a path that holds a finished drive of this job.
var errUsed = errors.New("holds a finished drive of this job")

// claim checks a new drive (empty, or erased with consent), makes sure the
// first pending file fits, and records the drive in the journal and in its
// marker file.
func (p *prep) claim(ctx context.Context, mount string, seq int) (*target, error) {
	mount, err := p.checkMount(mount)
	if err != nil {
		return nil, err
	}
	mk := readMarker(mount)
	if mk != nil && mk.Job == p.o.Job && p.finished(mk.DriveID) != nil {
		return nil, fmt.Errorf("drive at %s %w (drive %d)", mount, errUsed, p.finished(mk.DriveID).seq)
	}
	// A drive this journal gave up holds nothing registered: reuse it.
	abandoned := mk != nil && mk.Job == p.o.Job && p.st.gaveUp[mk.DriveID]
	if err := p.ensureEmpty(ctx, mount, abandoned); err != nil {
		return nil, err
	}
	rec := &driveRec{seq: seq, mount: mount, created: p.now()}
	t := newTarget(rec, mount)
	if err := p.budget(t); err != nil {
		return nil, err
	}
	if f := p.pending[0]; !t.fits(f) {
		return nil, p.tooLarge(t, f)
	}
	id, err := p.newID()
	if err != nil {
		return nil, err
	}
	if err := p.log(record{Op: opStart, Drive: id, Seq: seq, Mount: mount, Time: rec.created}); err != nil {
		return nil, err
	}
	t.rec = p.st.unfinished()
	if err := p.writeMarker(t); err != nil {
		return nil, err
	}
	p.emit(p.event(DriveStarted, t))
	return t, nil
}

// newID returns a random drive id not yet used in the journal.
func (p *prep) newID() (string, error) {
	b := make([]byte, 16)
	for {
		if _, err := io.ReadFull(p.o.Rand, b); err != nil {
			return "", fmt.Errorf("drive id: %w", err)
		}
		id := hex.EncodeToString(b)
		if !p.st.gaveUp[id] && !slices.ContainsFunc(p.st.drives, func(d *driveRec) bool { return d.id == id }) {
			return id, nil
		}
	}
}

func (p *prep) tooLarge(t *target, f srcFile) error {
	reserve := 2*roundUp(t.est+entrySize(File{Path: f.path, SHA256: strings.Repeat("0", 64)}), t.bsize) + 2*t.bsize
	usable := max(t.limit-t.used-reserve, 0)
	return fmt.Errorf("%w: %s is %s, drive %d at %s has %s usable: use a larger drive (files are never split)",
		ErrTooLarge, f.path, humanBytes(f.size), t.rec.seq, t.mount, humanBytes(usable))
}

func (p *prep) finished(id string) *driveRec {
	for _, d := range p.st.drives {
		if d.id == id && d.finished {
			return d
		}
	}
	return nil
}

// checkMount resolves a drive path and refuses anything but a directory
// apart from the staging location.
func (p *prep) checkMount(mount string) (string, error) {
	real, err := realDir(mount)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrDrivePath, err)
	}
	for _, pair := range [][2]string{{real, p.staging}, {p.staging, real}} {
		if r, err := filepath.Rel(pair[0], pair[1]); err == nil && (r == "." || filepath.IsLocal(r)) {
			return "", fmt.Errorf("%w: %s and the staging location %s overlap", ErrDrivePath, real, p.staging)
		}
	}
	if err := checkWritable(real); err != nil {
		return "", fmt.Errorf("%w: %s cannot be written (%v): mount the drive read-write, or use another drive", ErrDrivePath, real, err)
	}
	return real, nil
}

// ensureEmpty accepts an empty drive and erases a non-empty one when
// allowed, confirmed, or when it is a drive this preparation gave up.
func (p *prep) ensureEmpty(ctx context.Context, mount string, abandoned bool) error {
	entries, err := driveEntries(mount)
	if err != nil || len(entries) == 0 {
		return err
	}
	ok := p.o.Erase || abandoned
	if !ok && p.o.ConfirmErase != nil {
		if ok, err = p.o.ConfirmErase(ctx, mount, entries[:min(len(entries), 10)]); err != nil {
			return err
		}
	}
	if !ok {
		return fmt.Errorf("%w: %s holds %d entries (%s…): use an empty drive or confirm erasing it",
			ErrNotEmpty, mount, len(entries), entries[0])
	}
	for _, name := range entries {
		if err := os.RemoveAll(filepath.Join(mount, name)); err != nil {
			return fmt.Errorf("erase drive %s: %w", mount, err)
		}
	}
	return p.syncDir(mount)
}

// driveEntries lists a drive's top level, without what a freshly formatted
// filesystem already holds.
func driveEntries(mount string) ([]string, error) {
	des, err := os.ReadDir(mount)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDrivePath, err)
	}
	var names []string
	for _, de := range des {
		if !ignorable(de.Name()) {
			names = append(names, de.Name())
		}
	}
	return names, nil
}

// ignorable names are created by formatting or by desktop systems, or are
// a marker never completed (it claims nothing).
func ignorable(name string) bool {
	switch name {
	case MarkerName + PartialSuffix, "lost+found", "System Volume Information", "$RECYCLE.BIN", ".Trashes", ".Spotlight-V100", ".fseventsd", ".DS_Store":
		return true
	}
	return false
}

// marker is the content of MarkerName.
type marker struct {
	Format  int    `json:"format"`
	Job     string `json:"job"`
	DriveID string `json:"drive_id"`
	Seq     int    `json:"seq"`
}

// readMarker returns the drive's marker, or nil when it has none or it is
// unreadable.
func readMarker(mount string) *marker {
	f, err := openNoFollow(mount, MarkerName)
	if err != nil {
		return nil
	}
	defer f.Close()
	var m marker
	if json.NewDecoder(io.LimitReader(f, 4096)).Decode(&m) != nil || m.Format != FormatVersion {
		return nil
	}
	return &m
}

func (p *prep) writeMarker(t *target) error {
	b, _ := json.Marshal(marker{Format: FormatVersion, Job: p.o.Job, DriveID: t.rec.id, Seq: t.rec.seq})
	return p.writeAtomic(t.mount, MarkerName, append(b, '\n'))
}

func (p *prep) event(k EventKind, t *target) Event {
	e := Event{Kind: k, Seq: t.rec.seq, DriveID: t.rec.id, Path: t.mount, DriveFiles: len(t.rec.files), DriveBytes: t.rec.bytes}
	for _, d := range p.st.drives {
		e.DoneBytes += d.bytes
	}
	return e
}
