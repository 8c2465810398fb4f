package local

import (
	"path/filepath"
	"testing"
)

// FuzzPath checks that every accepted name maps to a path strictly inside
// the store's directory that converts back to the same name.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"config", "data/ab/abcd", "../x", "a//b", "/abs", ".tmp-1", "a/.tmp-x/b", "a/./b", "..", "a\\b"} {
		f.Add(s)
	}
	st := &Store{dir: "/repo"}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := st.path(t.Context(), name)
		if err != nil {
			return
		}
		rel, err := filepath.Rel(st.dir, p)
		if err != nil || filepath.ToSlash(rel) != name {
			t.Fatalf("path(%q) = %q, which is %q relative to the store, want the name", name, p, rel)
		}
	})
}
