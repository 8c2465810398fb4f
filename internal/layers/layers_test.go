// Package layers holds the test that enforces seedship's dependency
// direction: lower layers never import higher ones. It replaces hope with a
// failing test, as restic does with depguard.
package layers

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/seedship/seedship/"

// allowed lists, for each package (by path below the module), the module
// packages it may import. A package missing here may import any internal
// package but no cmd/ package.
var allowed = map[string][]string{
	"internal/oid":            {},
	"internal/store":          {},
	"internal/store/mem":      {"internal/store"},
	"internal/store/local":    {"internal/store"},
	"internal/store/transfer": {},
	"internal/store/azure":    {"internal/store", "internal/store/transfer"},
	"internal/store/s3":       {"internal/store", "internal/store/transfer"},
	"internal/store/faulty":   {"internal/store"},
	"internal/store/retry":    {"internal/store"},
	"internal/store/prefix":   {"internal/store"},
	"internal/store/location": {"internal/store", "internal/store/local", "internal/store/azure", "internal/store/s3"},
	"internal/crypto":         {"internal/oid"},
	"internal/chunker":        {},
	"internal/verify":         {},
	"internal/secret":         {},
	"internal/pack":           {"internal/oid", "internal/store"},
	"internal/index":          {"internal/oid", "internal/pack"},
	"internal/snapshot":       {"internal/oid"},
	"internal/forget":         {"internal/oid", "internal/snapshot"},
	"internal/repo": {"internal/store", "internal/crypto", "internal/pack", "internal/index", "internal/snapshot",
		"internal/oid"},
}

func TestLayers(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, path)
		checkPackage(t, path, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkPackage(t *testing.T, dir, rel string) {
	pkg, err := build.ImportDir(dir, 0)
	if err != nil {
		return // no Go files (or only tests of another package)
	}
	allow, strict := allowed[rel]
	for _, imp := range pkg.Imports {
		dep, ok := strings.CutPrefix(imp, module)
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(dep, "cmd/"):
			t.Errorf("%s imports %s: nothing may import a command", rel, dep)
		case strict && !contains(allow, dep):
			t.Errorf("%s imports %s: not allowed by the layer rules in %s (it may import %v)", rel, dep, "internal/layers/layers_test.go", allow)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
