package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/seedship/seedship/internal/store"
)

// List implements store.Lister. It walks only the directory named by the
// part of prefix up to its last slash.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	// Any name that starts with a valid prefix is valid when extended.
	if err := store.ValidName(prefix + "x"); prefix != "" && err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	base := prefix[:strings.LastIndex(prefix, "/")+1]
	root := filepath.Join(s.dir, filepath.FromSlash(base))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// Missing root: nothing to list. Entries may vanish mid-walk.
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.visit(prefix, p, d, fn)
	})
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, translate(err))
	}
	return nil
}

// fnError carries an error returned by List's callback through WalkDir, so
// that it is returned unchanged (even fs.SkipDir).
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }
func (e fnError) Unwrap() error { return e.err }

// visit handles one walked entry.
func (s *Store) visit(prefix, p string, d fs.DirEntry, fn func(store.Info) error) error {
	rel, err := filepath.Rel(s.dir, p)
	if err != nil {
		return err
	}
	name := filepath.ToSlash(rel)
	if d.IsDir() {
		if name == "." || strings.HasPrefix(name+"/", prefix) || strings.HasPrefix(prefix, name+"/") {
			return nil
		}
		return fs.SkipDir
	}
	if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tmpPrefix) || !strings.HasPrefix(name, prefix) {
		return nil
	}
	fi, err := d.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return nil // deleted while listing
	}
	if err != nil {
		return err
	}
	if err := fn(store.Info{Name: name, Size: fi.Size()}); err != nil {
		return fnError{err}
	}
	return nil
}
