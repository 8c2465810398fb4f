package drive

import (
	"context"
	"fmt"
	"path/filepath"
)

// finish completes a drive: manifest and MAC written (making room by
// handing files back to the next drive if the drive turns out full),
// every file verified unless SkipVerify, then the journal's finish record.
func (p *prep) finish(ctx context.Context, t *target) error {
	if err := p.flush(); err != nil { // files, directories and journal durable first
		return err
	}
	var b []byte
	for {
		m := &Manifest{Format: FormatVersion, Job: p.o.Job, DriveID: t.rec.id, Seq: t.rec.seq,
			Created: t.rec.created, Files: t.rec.files}
		var err error
		if b, err = m.Marshal(); err != nil {
			return err
		}
		err = p.writeManifest(t, b)
		if !isNoSpace(err) {
			if err != nil {
				return err
			}
			break
		}
		if err := p.dropLast(t, err); err != nil {
			return err
		}
	}
	p.emit(p.event(ManifestWritten, t))
	hash := ManifestHash(b)
	if !p.o.SkipVerify {
		if err := p.verify(ctx, t, hash); err != nil {
			return err
		}
	}
	if err := p.log(record{Op: opFinish, Drive: t.rec.id, Mount: t.mount, Manifest: hash,
		Bytes: t.rec.bytes, Files: len(t.rec.files)}); err != nil {
		return err
	}
	p.emit(p.event(DriveFinished, t))
	return nil
}

// writeManifest replaces the drive's manifest and MAC. The old MAC goes
// first, so a MAC on the drive always belongs to the manifest beside it.
func (p *prep) writeManifest(t *target, b []byte) error {
	mac, err := ComputeMAC(b, p.o.JobKey)
	if err != nil {
		return err
	}
	if err := p.removeManifest(t); err != nil {
		return err
	}
	if err := p.writeAtomic(t.mount, ManifestName, b); err != nil {
		return err
	}
	return p.writeAtomic(t.mount, MACName, []byte(mac+"\n"))
}

// removeManifest removes the MAC, the manifest and their temporary files.
func (p *prep) removeManifest(t *target) error {
	for _, name := range []string{MACName, ManifestName, MACName + PartialSuffix, ManifestName + PartialSuffix} {
		if err := p.remove(filepath.Join(t.mount, name)); err != nil {
			return fmt.Errorf("drive %d at %s: %w", t.rec.seq, t.mount, err)
		}
	}
	return nil
}

// dropLast makes room for the manifest on a drive that reported ENOSPC:
// manifest and MAC are removed first (a manifest never lists a file that is
// gone), then the last file, which goes back to the front of the queue. A
// drive left without files is given up: its file is too large for it.
func (p *prep) dropLast(t *target, cause error) error {
	last := t.rec.files[len(t.rec.files)-1]
	if err := p.removeManifest(t); err != nil {
		return err
	}
	if err := p.log(record{Op: opDrop, Drive: t.rec.id, Path: last.Path}); err != nil {
		return err
	}
	if err := p.remove(filepath.Join(t.mount, filepath.FromSlash(last.Path))); err != nil {
		return err
	}
	t.est -= entrySize(last)
	t.used -= roundUp(last.Size, t.bsize)
	p.pending = append([]srcFile{{path: last.Path, size: last.Size}}, p.pending...)
	if len(t.rec.files) == 0 { // not even one file and a manifest fit
		return p.full(t, p.pending[0], cause)
	}
	return nil
}

// verify reads the drive back: the manifest must be the one written and
// every file must match it.
func (p *prep) verify(ctx context.Context, t *target, hash string) error {
	_, raw, err := verifyDrive(ctx, t.mount, p.o.JobKey, p.buf, func(f File) {
		e := p.event(FileVerified, t)
		e.File, e.Size = f.Path, f.Size
		p.emit(e)
	}, p.dropCache)
	if err != nil {
		return fmt.Errorf("drive %d at %s: %w", t.rec.seq, t.mount, err)
	}
	if got := ManifestHash(raw); got != hash {
		return fmt.Errorf("%w: drive %d at %s: manifest reads back with SHA-256 %s, wrote %s", ErrVerify, t.rec.seq, t.mount, got, hash)
	}
	return nil
}
