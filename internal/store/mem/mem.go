// Package mem is an in-memory store.Store for tests and for staging small
// repositories. It keeps its own copy of every object.
package mem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/seedship/seedship/internal/store"
)

// Store is an in-memory object store, safe for concurrent use. The zero
// value is not usable; call New.
type Store struct {
	mu   sync.RWMutex
	objs map[string][]byte // never modified in place once stored
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{objs: map[string][]byte{}}
}

// Put implements store.Putter.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if err := check(ctx, name); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	if s.exists(name) {
		return fmt.Errorf("put %s: %w", name, store.ErrExists)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("put %s: read: %w", name, err)
	}
	if size >= 0 && int64(len(data)) != size {
		return fmt.Errorf("put %s: read %d bytes, want %d", name, len(data), size)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[name]; ok {
		return fmt.Errorf("put %s: %w", name, store.ErrExists)
	}
	s.objs[name] = bytes.Clone(data)
	return nil
}

func (s *Store) exists(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.objs[name]
	return ok
}

// Get implements store.Getter.
func (s *Store) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	data, err := s.lookup(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	size := int64(len(data))
	if offset < 0 || offset > size || length >= 0 && length > size-offset {
		return nil, fmt.Errorf("get %s: range %d+%d outside the %d-byte object", name, offset, length, size)
	}
	if length < 0 {
		length = size - offset
	}
	return io.NopCloser(bytes.NewReader(data[offset : offset+length])), nil
}

// Stat implements store.Stater.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	data, err := s.lookup(ctx, name)
	if err != nil {
		return store.Info{}, fmt.Errorf("stat %s: %w", name, err)
	}
	return store.Info{Name: name, Size: int64(len(data))}, nil
}

func (s *Store) lookup(ctx context.Context, name string) ([]byte, error) {
	if err := check(ctx, name); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	data, ok := s.objs[name]
	if !ok {
		return nil, store.ErrNotFound
	}
	return data, nil
}

// List implements store.Lister. fn runs without the lock held, so it may
// call back into the store.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	var infos []store.Info
	s.mu.RLock()
	for name, data := range s.objs {
		if strings.HasPrefix(name, prefix) {
			infos = append(infos, store.Info{Name: name, Size: int64(len(data))})
		}
	}
	s.mu.RUnlock()
	for _, fi := range infos {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %q: %w", prefix, err)
		}
		if err := fn(fi); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements store.Deleter.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := check(ctx, name); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[name]; !ok {
		return fmt.Errorf("delete %s: %w", name, store.ErrNotFound)
	}
	delete(s.objs, name)
	return nil
}

// check rejects a canceled context and an invalid name.
func check(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return store.ValidName(name)
}
