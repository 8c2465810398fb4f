package drive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// resume continues the drive an interrupted run was filling: it finds the
// drive, removes its manifest, MAC and partial files, checks the files the
// journal lists, adopts complete files the journal missed, and measures
// the space left. A drive that cannot be found is given up when it holds
// no files yet or when Options.ReplaceUnfinished is set; resume then
// returns nil.
func (p *prep) resume(ctx context.Context, u *driveRec) (*target, error) {
	mount, err := p.locate(ctx, u)
	if errors.Is(err, ErrDriveMissing) && (len(u.files) == 0 || p.o.ReplaceUnfinished) {
		return nil, p.log(record{Op: opAbandon, Drive: u.id})
	}
	if err != nil {
		return nil, err
	}
	u.mount = mount
	t := newTarget(u, mount)
	if err := p.budget(t); err != nil { // block size for the accounting of adopted files
		return nil, err
	}
	if err := p.cleanDrive(ctx, t); err != nil {
		return nil, err
	}
	if err := p.budget(t); err != nil {
		return nil, err
	}
	p.emit(p.event(DriveResumed, t))
	return t, nil
}

// locate finds the unfinished drive by its marker: at its last mount point,
// at one of Options.Drives, or where NextDrive says.
func (p *prep) locate(ctx context.Context, u *driveRec) (string, error) {
	candidates := append([]string{u.mount}, p.o.Drives...)
	for _, c := range candidates {
		real, err := realDir(c)
		if err != nil {
			continue
		}
		if mk := readMarker(real); mk != nil && mk.Job == p.o.Job && mk.DriveID == u.id {
			return real, nil
		}
		// Killed between the journal's start record and the marker.
		if entries, err := driveEntries(real); err == nil && len(entries) == 0 && len(u.files) == 0 && c == u.mount {
			return real, p.writeMarker(&target{rec: u, mount: real})
		}
	}
	missing := fmt.Errorf("%w: drive %d (id %s, last at %s): attach it and run again with its path, or replace it to copy its %d files again",
		ErrDriveMissing, u.seq, u.id, u.mount, len(u.files))
	if p.o.NextDrive == nil || p.o.ReplaceUnfinished || len(u.files) == 0 {
		return "", missing
	}
	mount, err := p.o.NextDrive(ctx, u.seq)
	if err != nil {
		return "", fmt.Errorf("drive %d: %w", u.seq, err)
	}
	if real, err := realDir(mount); err == nil {
		if mk := readMarker(real); mk != nil && mk.Job == p.o.Job && mk.DriveID == u.id {
			return real, nil
		}
	}
	return "", missing
}

// cleanDrive brings an unfinished drive back to a state the journal
// describes: no manifest or MAC (they are rewritten when the drive is
// finished), no partial files, every journaled file present with its size,
// and complete files the journal missed (killed between rename and
// journal) adopted after hashing them, or removed.
func (p *prep) cleanDrive(ctx context.Context, t *target) error {
	if err := p.removeManifest(t); err != nil {
		return err
	}
	onDrive := map[string]int64{}
	var extra []string
	err := filepath.WalkDir(t.mount, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(t.mount, full)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case d.IsDir() && !strings.Contains(rel, "/") && ignorable(rel):
			return filepath.SkipDir
		case d.IsDir():
			t.dirs[rel] = true
			return nil
		case rel == MarkerName || ignorable(rel):
			return nil
		case strings.HasSuffix(rel, PartialSuffix) || !d.Type().IsRegular():
			return p.remove(full)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		onDrive[rel] = info.Size()
		if p.st.onDisk[rel] != t.rec {
			extra = append(extra, rel)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("resume drive %d at %s: %w", t.rec.seq, t.mount, err)
	}
	if err := p.dropMissing(t, onDrive); err != nil {
		return err
	}
	for _, rel := range extra {
		if err := p.adopt(ctx, t, rel, onDrive[rel]); err != nil {
			return err
		}
	}
	return nil
}

// dropMissing forgets journaled files that are not on the drive with their
// size (someone removed them); they are copied again.
func (p *prep) dropMissing(t *target, onDrive map[string]int64) error {
	var gone []string
	for _, f := range t.rec.files {
		if size, ok := onDrive[f.Path]; !ok || size != f.Size {
			gone = append(gone, f.Path)
		}
	}
	for _, rel := range gone {
		if err := p.log(record{Op: opDrop, Drive: t.rec.id, Path: rel}); err != nil {
			return err
		}
		if err := p.remove(filepath.Join(t.mount, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	return nil
}

// adopt records a complete file found on the drive but not in the journal,
// after hashing it, if the staging location has it with that size and no
// other drive holds it; anything else is removed.
func (p *prep) adopt(ctx context.Context, t *target, rel string, size int64) error {
	full := filepath.Join(t.mount, filepath.FromSlash(rel))
	want, ok := p.src[rel]
	if !ok || want != size || p.st.onDisk[rel] != nil {
		return p.remove(full)
	}
	sum, err := p.hashFile(ctx, full)
	if err != nil {
		return err
	}
	if contentAddressed(rel) && sum != rel[strings.LastIndexByte(rel, '/')+1:] {
		return p.remove(full)
	}
	return p.record(t, File{Path: rel, Size: size, SHA256: sum})
}

// record journals a file durable on the drive and accounts for it.
func (p *prep) record(t *target, f File) error {
	if err := p.log(record{Op: opFile, Drive: t.rec.id, Path: f.Path, Size: f.Size, SHA256: f.SHA256}); err != nil {
		return err
	}
	t.add(f)
	return nil
}

// log applies a record to the state and appends it to the journal. File
// records are batched (see flush); any other record first flushes the
// batch, so the journal keeps the order of the records.
func (p *prep) log(r record) error {
	if r.Op == opFile {
		if err := p.st.apply(r); err != nil {
			return fmt.Errorf("%w: %v", ErrJournal, err)
		}
		p.queued = append(p.queued, r)
		p.queuedBytes += r.Size
		if len(p.queued) >= batchFiles || p.queuedBytes >= batchBytes {
			return p.flush()
		}
		return nil
	}
	if err := p.flush(); err != nil {
		return err
	}
	if err := p.j.append(r); err != nil {
		return err
	}
	if err := p.st.apply(r); err != nil {
		return fmt.Errorf("%w: %v", ErrJournal, err)
	}
	return nil
}

// flush makes the batch durable: it fsyncs the drive's directories that
// gained entries (renamed files, new directories), then appends the queued
// file records with one write and one fsync. So a file record still names
// a file that is complete and durable under its final name. A crash before
// the flush loses at most the batch's records; the next run finds those
// files on the drive and adopts them after hashing them (see cleanDrive),
// or copies again a file whose rename did not survive a power cut.
func (p *prep) flush() error {
	dirs := make([]string, 0, len(p.dirty))
	for d := range p.dirty {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		if err := p.syncDir(d); err != nil {
			return err
		}
		delete(p.dirty, d)
	}
	if err := p.j.append(p.queued...); err != nil {
		return err
	}
	p.queued, p.queuedBytes = p.queued[:0], 0
	return nil
}

// markDirty remembers that dir on the drive gained an entry, for flush.
func (p *prep) markDirty(dir string) {
	if p.dirty == nil {
		p.dirty = map[string]bool{}
	}
	p.dirty[dir] = true
}

func (p *prep) hashFile(ctx context.Context, full string) (string, error) {
	f, err := os.Open(full)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, p.buf); err != nil {
		return "", fmt.Errorf("hash %s: %w", full, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
