package treetest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBuildScan(t *testing.T) {
	root := t.TempDir()
	built := Build(t, root, Options{Seed: 1, Small: 3, Big: 100 << 10, Special: true})
	m := Scan(t, root)
	for _, p := range []string{"README.txt", "data/hard-b", "empty-dir", "link-to-readme", OddName, SparseName, "fifo"} {
		if _, ok := m[p]; !ok {
			t.Errorf("Scan: %q missing", p)
		}
	}
	if got := m["hard-a"].HardLinks; len(got) != 1 || got[0] != "data/hard-b" {
		t.Errorf("hard-a hard links = %q, want [data/hard-b]", got)
	}
	if !m[SparseName].Sparse {
		t.Errorf("%s is not sparse", SparseName)
	}
	if built.Xattrs && len(m["README.txt"].Xattrs) != 1 {
		t.Errorf("README.txt xattrs = %q, want one", m["README.txt"].Xattrs)
	}
	if d := Diff(m, Scan(t, root)); d != nil {
		t.Errorf("Diff of a tree with itself = %q", d)
	}
	if err := os.Chmod(filepath.Join(root, "exec.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if d := Diff(m, Scan(t, root)); len(d) != 1 {
		t.Errorf("Diff after chmod = %q, want one difference", d)
	}
}
