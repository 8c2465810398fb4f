package drive

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzParseManifest(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "manifest-v1.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(bytes.Replace(golden, []byte(`"config"`), []byte(`"../config"`), 1))
	f.Add([]byte(`{"format":1,"job":"j","drive_id":"00112233445566778899aabbccddeeff","seq":1,"created":"2025-03-01T12:00:00Z","files":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		root := filepath.FromSlash("/mnt/drive")
		for _, file := range m.Files {
			full, err := SafeJoin(root, file.Path)
			if err != nil || !strings.HasPrefix(full, root+string(filepath.Separator)) {
				t.Fatalf("accepted path %q joins to %q (%v)", file.Path, full, err)
			}
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed manifest: %v", err)
		}
		m2, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzCleanPath: a path CheckPath accepts never leaves the root it is
// joined to, whatever the root.
func FuzzCleanPath(f *testing.F) {
	seeds, err := os.Open(filepath.Join("testdata", "paths.txt"))
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(seeds)
	for sc.Scan() {
		f.Add("/mnt/drive", sc.Text())
	}
	seeds.Close()
	f.Add("relative/root", "a/b")
	f.Add("/", "etc")
	f.Fuzz(func(t *testing.T, root, p string) {
		if CheckPath(p) != nil {
			return
		}
		if root == "" {
			root = "r"
		}
		clean := filepath.Clean(root)
		for _, full := range []string{filepath.Join(root, p), mustJoin(t, root, p)} {
			rel, err := filepath.Rel(clean, full)
			if err != nil || !filepath.IsLocal(rel) || rel == "." {
				t.Fatalf("path %q escapes root %q: %q (rel %q, %v)", p, root, full, rel, err)
			}
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("accepted %q with segment %q", p, seg)
			}
		}
	})
}

func mustJoin(t *testing.T, root, p string) string {
	full, err := SafeJoin(root, p)
	if err != nil {
		t.Fatalf("CheckPath accepted %q but SafeJoin(%q) failed: %v", p, root, err)
	}
	return full
}

// FuzzJournal: replaying any journal bytes never panics, and a state it
// accepts is consistent.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"op":"begin","version":1,"job":"j"}` + "\n" +
		`{"op":"start","drive":"00112233445566778899aabbccddeeff","seq":1,"mount":"/m","time":"2025-03-01T12:00:00Z"}` + "\n" +
		`{"op":"file","drive":"00112233445566778899aabbccddeeff","path":"config","size":3,"sha256":"` + strings.Repeat("a", 64) + `"}` + "\n" +
		`{"op":"fin`))
	f.Add([]byte(`{"op":"done"}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, valid, err := replay(bytes.NewReader(b))
		if err != nil {
			return
		}
		if valid > int64(len(b)) || (valid > 0 && b[valid-1] != '\n') {
			t.Fatalf("valid length %d of %d", valid, len(b))
		}
		n := 0
		for i, d := range st.drives {
			if d.seq != i+1 || (!d.finished && i != len(st.drives)-1) {
				t.Fatalf("drive %d: seq %d finished %v", i, d.seq, d.finished)
			}
			n += len(d.files)
		}
		if n != len(st.onDisk) {
			t.Fatalf("%d files on drives, %d in index", n, len(st.onDisk))
		}
	})
}
