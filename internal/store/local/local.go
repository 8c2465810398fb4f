// Package local is a store.Store kept in a directory on a local or mounted
// file system. An object name maps to the path of the same name below the
// directory. Objects are written to a temporary file, synced, and published
// with a hard link, which fails when the name exists: publishing is atomic
// and create-only even with concurrent writers. A published file is never
// modified in place, which is what lets Copy (server-side copy from another
// store on the same file system) share one file between two names.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/seedship/seedship/internal/store"
)

// tmpPrefix starts the names of files being written. Such files are never
// objects; List skips them, and names using the prefix are invalid.
const tmpPrefix = ".tmp-"

// Store is a directory store, safe for concurrent use by several goroutines
// and processes.
type Store struct {
	dir string // absolute
}

var _ store.Store = (*Store)(nil)

// Open returns the store in dir, which must be an existing directory.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open store %s: %w", dir, syscall.ENOTDIR)
	}
	return &Store{dir: abs}, nil
}

// Create creates dir and its parents when missing and returns the store in it.
func Create(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create store %s: %w", dir, translate(err))
	}
	return Open(dir)
}

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.dir }

// path validates name and returns its file path.
func (s *Store) path(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := store.ValidName(name); err != nil {
		return "", err
	}
	if strings.HasPrefix(name, tmpPrefix) || strings.Contains(name, "/"+tmpPrefix) {
		return "", fmt.Errorf("%w: %q: segments starting with %q are reserved", store.ErrInvalidName, name, tmpPrefix)
	}
	return filepath.Join(s.dir, filepath.FromSlash(name)), nil
}

// Get implements store.Getter.
func (s *Store) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	p, err := s.path(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	f, size, err := openRegular(p)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if offset < 0 || offset > size || length >= 0 && length > size-offset {
		f.Close()
		return nil, fmt.Errorf("get %s: range %d+%d outside the %d-byte object", name, offset, length, size)
	}
	if length < 0 {
		length = size - offset
	}
	return &sectionFile{io.NewSectionReader(f, offset, length), f}, nil
}

// openRegular opens p for reading, rejecting directories.
func openRegular(p string) (*os.File, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, translateMissing(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, translate(err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, store.ErrNotFound
	}
	return f, fi.Size(), nil
}

// sectionFile reads a range of a file and closes the file.
type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionFile) Close() error { return s.f.Close() }

// Stat implements store.Stater.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	p, err := s.path(ctx, name)
	if err != nil {
		return store.Info{}, fmt.Errorf("stat %s: %w", name, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return store.Info{}, fmt.Errorf("stat %s: %w", name, translateMissing(err))
	}
	if !fi.Mode().IsRegular() {
		return store.Info{}, fmt.Errorf("stat %s: %w", name, store.ErrNotFound)
	}
	return store.Info{Name: name, Size: fi.Size()}, nil
}

// Delete implements store.Deleter.
func (s *Store) Delete(ctx context.Context, name string) error {
	p, err := s.path(ctx, name)
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	// os.Remove would also remove an empty directory, which is no object.
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		err = store.ErrNotFound
	} else if err == nil {
		err = os.Remove(p)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, translateMissing(err))
	}
	return nil
}

// translateMissing is translate for operations on existing objects, where a
// missing file or parent means the object does not exist.
func translateMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w (%w)", store.ErrNotFound, err)
	}
	return translate(err)
}

// translate maps file-system errors onto the store's errors, keeping the
// original so that errors.Is(err, syscall.ENOSPC) and the like still work.
func translate(err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", store.ErrPermission, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("disk full: %w", err)
	}
	return err
}
