package drive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// fill copies pending files onto the drive in order until the next one
// does not fit (by the estimate, or because the drive reported ENOSPC) or
// none is left.
func (p *prep) fill(ctx context.Context, t *target) error {
	for len(p.pending) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		f := p.pending[0]
		if !t.fits(f) {
			return p.full(t, f, nil)
		}
		file, err := p.copyFile(ctx, t, f)
		if isNoSpace(err) {
			if p.hk != nil && p.hk.noSpace != nil {
				p.hk.noSpace(f.path)
			}
			t.limit = t.used // the estimate was wrong: take nothing more
			return p.full(t, f, err)
		}
		if err != nil {
			return err
		}
		if err := p.record(t, file); err != nil {
			return err
		}
		p.pending = p.pending[1:]
		p.res.CopiedFiles++
		p.res.CopiedBytes += file.Size
		e := p.event(FileCopied, t)
		e.File, e.Size = file.Path, file.Size
		p.emit(e)
	}
	return nil
}

// full ends the filling of a drive because f does not fit. An empty drive
// that cannot take f is given up: f is too large for it.
func (p *prep) full(t *target, f srcFile, cause error) error {
	if len(t.rec.files) > 0 {
		return nil
	}
	if err := p.log(record{Op: opAbandon, Drive: t.rec.id}); err != nil {
		return err
	}
	if err := p.remove(filepath.Join(t.mount, MarkerName)); err != nil {
		return err
	}
	if cause != nil {
		return fmt.Errorf("%w (%v)", p.tooLarge(t, f), cause)
	}
	return p.tooLarge(t, f)
}

// copyFile copies one staging file to the drive: into path.partial while
// hashing it, fdatasync, rename into place. The directory is fsynced with
// the batch that journals the file (see flush). On ENOSPC the
// partial file is removed to give the space back; after any other error it
// is left for the next run to remove, as after a crash.
func (p *prep) copyFile(ctx context.Context, t *target, f srcFile) (File, error) {
	src, err := os.Open(filepath.Join(p.staging, filepath.FromSlash(f.path)))
	if err != nil {
		return File{}, fmt.Errorf("%w: %v", ErrStaging, err)
	}
	defer src.Close()
	readOnce(src)
	if err := p.mkdirs(t, path.Dir(f.path)); err != nil {
		return File{}, err
	}
	dst := filepath.Join(t.mount, filepath.FromSlash(f.path))
	sum, err := p.writePartial(ctx, dst+PartialSuffix, src, f)
	if isNoSpace(err) {
		if rerr := os.Remove(dst + PartialSuffix); rerr != nil && !os.IsNotExist(rerr) {
			return File{}, fmt.Errorf("%w (and removing the partial file: %v)", err, rerr)
		}
	}
	if err != nil {
		return File{}, err
	}
	if err := p.hk.do(opRename, f.path); err != nil {
		return File{}, err
	}
	if err := os.Rename(dst+PartialSuffix, dst); err != nil {
		return File{}, err
	}
	p.markDirty(filepath.Dir(dst)) // fsynced with the batch of its journal record
	p.hk.didCopy(f.path)
	return File{Path: f.path, Size: f.size, SHA256: sum}, nil
}

// writePartial writes src to name, hashing it, checks the size and (for
// content-addressed names) the hash, and syncs the file.
func (p *prep) writePartial(ctx context.Context, name string, src *os.File, f srcFile) (string, error) {
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	defer out.Close()
	h := sha256.New()
	n, err := p.stream(ctx, out, src, h, f.path)
	if err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if n != f.size {
		return "", fmt.Errorf("%w: %s changed while being copied (%d bytes, was %d): finish the backup first", ErrStaging, f.path, n, f.size)
	}
	if contentAddressed(f.path) && sum != f.path[strings.LastIndexByte(f.path, '/')+1:] {
		return "", fmt.Errorf("%w: %s has SHA-256 %s: the staging repository is damaged: run seedship check on it", ErrStaging, f.path, sum)
	}
	if err := p.hk.do(opSync, f.path); err != nil {
		return "", err
	}
	if err := p.hk.datasync(out); err != nil {
		return "", err
	}
	p.dropCache(out)
	return sum, out.Close()
}

// stream copies src to out through two halves of the copy buffer, starts
// the writeback of each piece written, and feeds h in a second goroutine:
// piece i is hashed while piece i+1 is read and written, so hashing costs
// no time when a second core is free.
func (p *prep) stream(ctx context.Context, out *os.File, src io.Reader, h io.Writer, name string) (n int64, err error) {
	half := len(p.buf) / 2
	bufs := [2][]byte{p.buf[:half], p.buf[half:]}
	todo, hashed := make(chan []byte, 2), make(chan struct{}, 2)
	go func() {
		for b := range todo {
			h.Write(b)
			hashed <- struct{}{}
		}
	}()
	inFlight := 0
	defer func() { // the hasher must be done with the buffers on return
		close(todo)
		for ; inFlight > 0; inFlight-- {
			<-hashed
		}
	}()
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if inFlight == 2 { // bufs[i%2] is still being hashed
			<-hashed
			inFlight--
		}
		b := bufs[i%2]
		k, rerr := io.ReadFull(src, b)
		if k > 0 {
			todo <- b[:k]
			inFlight++
			if err := p.writePiece(out, b[:k], n, name); err != nil {
				return n, err
			}
			n += int64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("%w: read %s: %v", ErrStaging, name, rerr)
		}
	}
}

// writePiece writes b at offset off of out and starts its writeback.
func (p *prep) writePiece(out *os.File, b []byte, off int64, name string) error {
	if err := p.hk.do(opWrite, name); err != nil {
		return err
	}
	if _, err := out.Write(b); err != nil {
		return err
	}
	if p.hk == nil || !p.hk.noSync {
		startWriteback(out, off, int64(len(b)))
	}
	return nil
}

// mkdirs creates the missing directories of dir on the drive; each parent
// is fsynced by the next flush, before any file below it is journaled.
func (p *prep) mkdirs(t *target, dir string) error {
	if t.dirs[dir] {
		return nil
	}
	if err := p.mkdirs(t, path.Dir(dir)); err != nil {
		return err
	}
	full := filepath.Join(t.mount, filepath.FromSlash(dir))
	if err := p.hk.do(opMkdir, dir); err != nil {
		return err
	}
	if err := os.Mkdir(full, 0o755); err != nil {
		if fi, serr := os.Lstat(full); serr != nil || !fi.IsDir() {
			return err
		}
	}
	p.markDirty(filepath.Dir(full)) // fsynced before any file in it is journaled
	t.dirs[dir] = true
	return nil
}

// writeAtomic writes a small file of the format: to name.partial, fsync,
// rename, fsync the directory.
func (p *prep) writeAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+PartialSuffix)
	err := p.writeSynced(tmp, name, data)
	if err == nil {
		if err = p.hk.do(opRename, name); err == nil {
			err = os.Rename(tmp, filepath.Join(dir, name))
		}
	}
	if isNoSpace(err) {
		_ = os.Remove(tmp)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return p.syncDir(dir)
}

func (p *prep) writeSynced(tmp, name string, data []byte) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := p.hk.do(opWrite, name); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := p.hk.do(opSync, name); err != nil {
		return err
	}
	if err := p.hk.sync(f); err != nil {
		return err
	}
	return f.Close()
}

// syncDir fsyncs a directory so that entries created, renamed or removed
// in it are durable.
func (p *prep) syncDir(dir string) error {
	if err := p.hk.do(opSyncDir, dir); err != nil {
		return err
	}
	return p.hk.syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !ignorableSyncErr(err) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// remove deletes a file from the drive (a missing file is fine) and syncs
// its directory.
func (p *prep) remove(full string) error {
	if err := p.hk.do(opRemove, full); err != nil {
		return err
	}
	if err := os.Remove(full); err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	return p.syncDir(filepath.Dir(full))
}
