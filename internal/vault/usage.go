package vault

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/seedship/seedship/internal/store"
)

// VaultUsage is what one vault stores.
type VaultUsage struct {
	Bytes   int64
	Objects int64
}

// usage tracks per-vault storage: counted by ScanUsage, kept current by
// this instance's puts and deletes in between. With several instances,
// each is exact only right after its scan.
type usage struct {
	mu sync.Mutex
	m  map[string]VaultUsage
}

func newUsage() *usage { return &usage{m: map[string]VaultUsage{}} }

func (u *usage) add(vault string, bytes, objects int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v := u.m[vault]
	v.Bytes += bytes
	v.Objects += objects
	u.m[vault] = v
}

func (u *usage) get(vault string) VaultUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[vault]
}

// Usage returns the storage used per vault id.
func (s *Server) Usage() map[string]VaultUsage {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	return maps.Clone(s.usage.m)
}

// ScanUsage recounts every vault's storage by listing the store.
func (s *Server) ScanUsage(ctx context.Context) error {
	m := map[string]VaultUsage{}
	err := s.cfg.Store.List(ctx, "vaults/", func(fi store.Info) error {
		rest := strings.TrimPrefix(fi.Name, "vaults/")
		id, _, ok := strings.Cut(rest, "/")
		if !ok {
			return nil
		}
		v := m[id]
		v.Bytes += fi.Size
		v.Objects++
		m[id] = v
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan vault usage: %w", err)
	}
	s.usage.mu.Lock()
	s.usage.m = m
	s.usage.mu.Unlock()
	return nil
}
