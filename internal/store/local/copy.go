package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/seedship/seedship/internal/store"
)

var _ store.Copier = (*Store)(nil)

// Copy implements store.Copier with hard links: src must be a *Store on
// the same file system (store.ErrNotSupported otherwise). The source file
// is linked to a temporary name next to dst, read from there through check,
// and the temporary name is then linked to dst, which fails when dst exists.
// The object shares its inode with the source. That is safe because objects
// are never modified in place — Put writes a new file and publishes it —
// so the shared bytes never change, and deleting either name leaves the
// other. check reads the very inode that is published: no other writer can
// slip different bytes in between.
func (s *Store) Copy(ctx context.Context, dst string, src store.Store, srcName string, check func(io.Reader) error) error {
	from, ok := src.(*Store)
	if !ok {
		return fmt.Errorf("copy %s: from a %T: %w", dst, src, store.ErrNotSupported)
	}
	p, err := s.path(ctx, dst)
	if err != nil {
		return fmt.Errorf("copy %s: %w", dst, err)
	}
	sp, err := from.path(ctx, srcName)
	if err != nil {
		return fmt.Errorf("copy %s: source %s: %w", dst, srcName, err)
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("copy %s: %w", dst, store.ErrExists)
	}
	if err := s.copyFile(ctx, sp, p, check); err != nil {
		return fmt.Errorf("copy %s from %s: %w", dst, srcName, err)
	}
	return nil
}

// copyFile publishes the regular file sp as p by way of a temporary link.
func (s *Store) copyFile(ctx context.Context, sp, p string, check func(io.Reader) error) error {
	if fi, err := os.Lstat(sp); err != nil {
		return translateMissing(err)
	} else if !fi.Mode().IsRegular() {
		return store.ErrNotFound
	}
	dir := filepath.Dir(p)
	if err := s.mkdirAll(dir); err != nil {
		return translate(err)
	}
	tmp := filepath.Join(dir, tmpPrefix+"link-"+rand.Text())
	if err := os.Link(sp, tmp); err != nil {
		return linkError(err)
	}
	defer os.Remove(tmp)
	if check != nil {
		if err := checkFile(ctx, tmp, check); err != nil {
			return err
		}
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return store.ErrExists
		}
		return translate(err)
	}
	if err := os.Remove(tmp); err != nil {
		return translate(err)
	}
	return translate(syncDir(dir))
}

// checkFile reads the file at p through check.
func checkFile(ctx context.Context, p string, check func(io.Reader) error) error {
	f, err := os.Open(p)
	if err != nil {
		return translate(err)
	}
	defer f.Close()
	return check(ctxReader{ctx, f})
}

// linkError translates the failure to link the source: a missing source
// is store.ErrNotFound; another file system, or one that refuses the link
// (no hard links, too many links, a file of another owner with
// fs.protected_hardlinks) is store.ErrNotSupported, for the caller to copy
// the bytes instead.
func linkError(err error) error {
	for _, errno := range []syscall.Errno{syscall.EXDEV, syscall.EPERM, syscall.EMLINK, syscall.ENOTSUP, syscall.EOPNOTSUPP} {
		if errors.Is(err, errno) {
			return fmt.Errorf("%w: %w", store.ErrNotSupported, err)
		}
	}
	return translateMissing(err)
}
