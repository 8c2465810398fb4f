package restorer

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/seedship/seedship/internal/snapshot"
)

func TestDump(t *testing.T) { forEachRepo(t, testDump) }

func testDump(t *testing.T, f testRepo) {
	data := randBytes(9, 3<<20+17)
	snap := f.snapshot(f.dir("a", f.dir("b", f.file("f", data, 200<<10))), f.file("empty", nil, 1))
	ctx := context.Background()
	var buf bytes.Buffer
	if err := Dump(ctx, f, snap.Tree, "/a/b/f", &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("Dump wrote %d bytes, want %d", buf.Len(), len(data))
	}
	buf.Reset()
	if err := Dump(ctx, f, snap.Tree, "empty", &buf); err != nil || buf.Len() != 0 {
		t.Errorf("Dump(empty) = %d bytes, %v", buf.Len(), err)
	}
	for p, want := range map[string]error{"/a/b": ErrNotFile, "/a/x": ErrNotFound, "/a/b/f/g": ErrNotFound, "/": ErrNotFound} {
		if err := Dump(ctx, f, snap.Tree, p, &buf); !errors.Is(err, want) {
			t.Errorf("Dump(%q) = %v, want %v", p, err, want)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestDumpWriteError(t *testing.T) {
	f := newFakeRepo(t)
	snap := f.snapshot(f.file("f", randBytes(10, 1<<20), 10<<10))
	if err := Dump(context.Background(), f, snap.Tree, "f", &failWriter{n: 3}); err == nil {
		t.Error("Dump into a failing writer succeeded")
	}
}

func TestList(t *testing.T) { forEachRepo(t, testList) }

func testList(t *testing.T, f testRepo) {
	snap := f.snapshot(f.dir("a", f.file("x", []byte("x"), 1), f.dir("b", f.file("y", []byte("y"), 1))), f.file("z", nil, 1))
	list := func(p string) []string {
		var got []string
		err := List(context.Background(), f, snap, p, func(path string, n *snapshot.Node) error {
			got = append(got, path+":"+string(n.Type))
			return nil
		})
		if err != nil {
			t.Fatalf("List(%q): %v", p, err)
		}
		return got
	}
	tests := map[string][]string{
		"":      {"/a:dir", "/a/b:dir", "/a/b/y:file", "/a/x:file", "/z:file"},
		"/a/b":  {"/a/b:dir", "/a/b/y:file"},
		"a/x":   {"/a/x:file"},
		"/z/..": {"/a:dir", "/a/b:dir", "/a/b/y:file", "/a/x:file", "/z:file"},
	}
	for p, want := range tests {
		if got := list(p); !equalStrings(got, want) {
			t.Errorf("List(%q) = %q, want %q", p, got, want)
		}
	}
	if err := List(context.Background(), f, snap, "/nope", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("List(/nope) = %v, want ErrNotFound", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
