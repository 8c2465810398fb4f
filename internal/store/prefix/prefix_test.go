package prefix_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/store/prefix"
	"github.com/seedship/seedship/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, p := range []string{"vaults/v1/machines/m1/", ""} {
		t.Run("prefix="+p, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				inner := mem.New()
				if p != "" {
					// Neighbours the suite must never see: one whose name
					// shares the prefix's start, one beside it.
					put(t, inner, "vaults/v1/machines/m10/config", "neighbour")
					put(t, inner, "vaults/v1/machines/m2/data/ab/abcd1", "other")
				}
				s, err := prefix.New(inner, p)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

func put(t *testing.T, st store.Store, name, data string) {
	t.Helper()
	if err := st.Put(context.Background(), name, bytes.NewReader([]byte(data)), int64(len(data))); err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
}

func names(t *testing.T, st store.Store, p string) []string {
	t.Helper()
	var out []string
	if err := st.List(context.Background(), p, func(fi store.Info) error {
		out = append(out, fi.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestMapping: names map to the inner store under the prefix, and nothing
// outside the prefix is visible or reachable.
func TestMapping(t *testing.T) {
	ctx := context.Background()
	inner := mem.New()
	put(t, inner, "vaults/v/machines/m2/config", "other machine")
	put(t, inner, "vaults/v/machines/m10/config", "neighbour")
	s, err := prefix.New(inner, "vaults/v/machines/m1/")
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "config", "mine")
	put(t, s, "data/ab/abcd", "pack")
	if got, want := names(t, inner, "vaults/v/machines/m1/"), []string{"vaults/v/machines/m1/config", "vaults/v/machines/m1/data/ab/abcd"}; !slices.Equal(got, want) {
		t.Errorf("inner names = %v, want %v", got, want)
	}
	if got, want := names(t, s, ""), []string{"config", "data/ab/abcd"}; !slices.Equal(got, want) {
		t.Errorf("List(\"\") = %v, want %v", got, want)
	}
	b, err := store.ReadAll(ctx, s, "config")
	if err != nil || string(b) != "mine" {
		t.Errorf("Get(config) = %q, %v; want mine", b, err)
	}
	if fi, err := s.Stat(ctx, "data/ab/abcd"); err != nil || fi.Name != "data/ab/abcd" || fi.Size != 4 {
		t.Errorf("Stat = %+v, %v", fi, err)
	}
	for _, name := range []string{"../m2/config", "../../v/machines/m2/config", "/config"} {
		if _, err := s.Get(ctx, name, 0, -1); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Get(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	if err := s.Delete(ctx, "config"); err != nil {
		t.Fatal(err)
	}
	if got, want := names(t, inner, "vaults/v/machines/"), []string{"vaults/v/machines/m1/data/ab/abcd", "vaults/v/machines/m10/config", "vaults/v/machines/m2/config"}; !slices.Equal(got, want) {
		t.Errorf("inner names after Delete = %v, want %v", got, want)
	}
}

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"vaults/v", "/vaults/", "vaults//", "a/../b/", "a b/"} {
		if _, err := prefix.New(mem.New(), p); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("New(%q) = %v, want ErrInvalidName", p, err)
		}
	}
	if s, err := prefix.New(mem.New(), "vaults/v/"); err != nil || s.Prefix() != "vaults/v/" {
		t.Errorf("New(vaults/v/) = %v, %v", s, err)
	}
}
