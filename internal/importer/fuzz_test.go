package importer

import (
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/store"
)

// FuzzObjectName: any manifest path ObjectName accepts maps to a valid
// object name below "CONTAINER/", outside the container's log folder, and
// joined to a directory stays inside it.
func FuzzObjectName(f *testing.F) {
	for _, seed := range []struct{ container, p string }{
		{"web", "config"}, {"web", "data/3c/3c3c"}, {"a/b", "keys/k"}, {"web", "../x"}, {"web", "/etc/passwd"},
		{"web", "a/./b"}, {"web", "seedship-import-logs/x"}, {"web", "x.partial"}, {"..", "x"}, {"web", "a\\b"},
		{"web", "a//b"}, {"web", strings.Repeat("a", 1100)}, {"c", "a/b/"}, {"", "x"}, {"web", "é"},
	} {
		f.Add(seed.container, seed.p)
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, container, p string) {
		name, err := ObjectName(container, p)
		if err != nil {
			return
		}
		if err := store.ValidName(name); err != nil {
			t.Fatalf("ObjectName(%q, %q) = %q: %v", container, p, name, err)
		}
		rest, ok := strings.CutPrefix(name, container+"/")
		if !ok || rest != p || path.Clean(rest) != rest || strings.HasPrefix(rest, LogsDir) {
			t.Fatalf("ObjectName(%q, %q) = %q: not %q below the container", container, p, name, p)
		}
		if drive.CheckPath(p) != nil {
			t.Fatalf("ObjectName accepted %q, which drive.CheckPath refuses", p)
		}
		full := filepath.Join(root, filepath.FromSlash(name))
		if rel, err := filepath.Rel(filepath.Join(root, container), full); err != nil || !filepath.IsLocal(rel) {
			t.Fatalf("%q joined to %s leaves the container folder: %s", name, root, full)
		}
	})
}
