package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/seedship/seedship/internal/store"
)

// Put implements store.Putter: write a temporary file next to the target,
// sync it, hard-link it to the final name (which fails if the name exists),
// remove the temporary name and sync the directory.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	p, err := s.path(ctx, name)
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("put %s: %w", name, store.ErrExists)
	}
	dir := filepath.Dir(p)
	if err := s.mkdirAll(dir); err != nil {
		return fmt.Errorf("put %s: %w", name, translate(err))
	}
	tmp, err := writeTemp(ctx, dir, r, size)
	if tmp != "" {
		defer os.Remove(tmp)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", name, translate(err))
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("put %s: %w", name, store.ErrExists)
		}
		return fmt.Errorf("put %s: %w", name, translate(err))
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("put %s: %w", name, translate(err))
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put %s: %w", name, translate(err))
	}
	return nil
}

// writeTemp copies r into a new synced temporary file in dir and returns its
// path; the path is returned with an error too, for the caller to remove.
func writeTemp(ctx context.Context, dir string, r io.Reader, size int64) (string, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("read %d bytes, want %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// ctxReader fails reads once ctx is done, so a canceled Put stops early.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// mkdirAll creates dir and missing parents below s.dir, syncing each parent
// so that a published object's directory survives a crash.
func (s *Store) mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	parent := filepath.Dir(dir)
	if len(parent) > len(s.dir) {
		if err := s.mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir makes the directory's entries durable. File systems that cannot
// sync a directory are tolerated.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}
