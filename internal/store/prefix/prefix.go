// Package prefix presents the objects under a name prefix of a store as a
// store of their own: "config" in the prefixed store is
// "vaults/v/machines/m/config" in the inner one. The service uses it to open
// one machine's repository inside the service's object store, where the
// vault keeps it.
package prefix

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/seedship/seedship/internal/store"
)

// Store is the part of an inner store below a prefix.
type Store struct {
	inner  store.Store
	prefix string
}

var _ store.Store = (*Store)(nil)

// New returns the part of inner below prefix, which must be a valid object
// name followed by a slash (like "vaults/v/machines/m/"), or empty.
func New(inner store.Store, prefix string) (*Store, error) {
	if prefix != "" {
		name, ok := strings.CutSuffix(prefix, "/")
		if !ok {
			return nil, fmt.Errorf("%w: prefix %q does not end with a slash", store.ErrInvalidName, prefix)
		}
		if err := store.ValidName(name); err != nil {
			return nil, fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	return &Store{inner: inner, prefix: prefix}, nil
}

// Prefix returns the prefix the store adds to every name.
func (s *Store) Prefix() string { return s.prefix }

// full validates name and returns it as the inner store knows it. Names are
// validated here, not only by the inner store, so that no name can reach
// outside the prefix.
func (s *Store) full(name string) (string, error) {
	if err := store.ValidName(name); err != nil {
		return "", err
	}
	return s.prefix + name, nil
}

// Put creates name below the prefix.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	full, err := s.full(name)
	if err != nil {
		return err
	}
	return s.inner.Put(ctx, full, r, size)
}

// Get reads name below the prefix.
func (s *Store) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	full, err := s.full(name)
	if err != nil {
		return nil, err
	}
	return s.inner.Get(ctx, full, offset, length)
}

// Stat reports the size of name below the prefix.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	full, err := s.full(name)
	if err != nil {
		return store.Info{}, err
	}
	fi, err := s.inner.Stat(ctx, full)
	if err != nil {
		return store.Info{}, err
	}
	return store.Info{Name: name, Size: fi.Size}, nil
}

// List calls fn for every object below the prefix whose name (without the
// prefix) starts with prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	return s.inner.List(ctx, s.prefix+prefix, func(fi store.Info) error {
		name, ok := strings.CutPrefix(fi.Name, s.prefix)
		if !ok {
			return fmt.Errorf("list %s: the store returned %s, outside the prefix", s.prefix+prefix, fi.Name)
		}
		return fn(store.Info{Name: name, Size: fi.Size})
	})
}

// Delete removes name below the prefix.
func (s *Store) Delete(ctx context.Context, name string) error {
	full, err := s.full(name)
	if err != nil {
		return err
	}
	return s.inner.Delete(ctx, full)
}
