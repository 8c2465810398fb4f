package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/storetest"
)

func newStore(t testing.TB) *Store {
	st, err := Create(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func BenchmarkPutGet1MiB(b *testing.B) {
	storetest.BenchmarkPutGet(b, newStore(b), 1<<20)
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want fs.ErrNotExist", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open(file) = %v, want ENOTDIR", err)
	}
	if _, err := Create(filepath.Join(file, "below")); err == nil {
		t.Errorf("Create below a file succeeded")
	}
	nested := filepath.Join(dir, "a", "b", "c")
	if _, err := Create(nested); err != nil {
		t.Fatalf("Create(%s) = %v", nested, err)
	}
	st, err := Open(nested)
	if err != nil {
		t.Fatalf("Open(%s) after Create = %v", nested, err)
	}
	if st.Dir() != nested {
		t.Errorf("Dir() = %q, want %q", st.Dir(), nested)
	}
}

func TestNameMapsToPath(t *testing.T) {
	st := newStore(t)
	const name = "data/ab/abcdef"
	if err := st.Put(t.Context(), name, strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(st.Dir(), "data", "ab", "abcdef"))
	if err != nil || string(got) != "hello" {
		t.Errorf("file for %q = %q, %v; want %q", name, got, err, "hello")
	}
}

func TestTempFilesInvisible(t *testing.T) {
	st := newStore(t)
	if err := st.Put(t.Context(), "data/ab/real", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".tmp-1", "data/ab/.tmp-2", "data/.tmp-3"} {
		if err := os.WriteFile(filepath.Join(st.Dir(), p), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Stat(t.Context(), p); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidName", p, err)
		}
		if err := st.Put(t.Context(), p, strings.NewReader("x"), 1); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Put(%q) = %v, want ErrInvalidName", p, err)
		}
	}
	for _, prefix := range []string{"", ".", ".tmp-", "data/", "data/ab/", "data/ab/.tmp"} {
		var names []string
		err := st.List(t.Context(), prefix, func(fi store.Info) error {
			names = append(names, fi.Name)
			return nil
		})
		if err != nil || len(names) > 1 || len(names) == 1 && names[0] != "data/ab/real" {
			t.Errorf("List(%q) = %q, %v; want at most data/ab/real", prefix, names, err)
		}
	}
}

func TestNoTempFilesLeft(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	st.Put(ctx, "data/ab/one", strings.NewReader("one"), 3)
	st.Put(ctx, "data/ab/one", strings.NewReader("two"), 3)     // exists
	st.Put(ctx, "data/ab/two", strings.NewReader("short"), 100) // short read
	st.Put(ctx, "data/cd/three", strings.NewReader("long"), 2)  // long read
	filepath.WalkDir(st.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			t.Errorf("temporary file %s left behind", p)
		}
		return err
	})
}

func TestDeleteDirectory(t *testing.T) {
	st := newStore(t)
	if err := os.MkdirAll(filepath.Join(st.Dir(), "data", "ab"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(t.Context(), "data/ab"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete of a directory = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(st.Dir(), "data", "ab")); err != nil {
		t.Errorf("directory removed by Delete: %v", err)
	}
}

func TestPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions")
	}
	st := newStore(t)
	if err := os.Chmod(st.Dir(), 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(st.Dir(), 0o700) })
	err := st.Put(t.Context(), "data/ab/x", strings.NewReader("x"), 1)
	if !errors.Is(err, store.ErrPermission) || !strings.Contains(err.Error(), "data/ab/x") {
		t.Errorf("Put into a read-only directory = %v, want ErrPermission naming the object", err)
	}
}

func TestTranslateNoSpace(t *testing.T) {
	// Filling a real disk is too slow and mounting is off limits; check the
	// translation that Put applies to every write error.
	err := fmt.Errorf("put data/ab/x: %w", translate(&fs.PathError{Op: "write", Path: "/r/data/ab/.tmp-1", Err: syscall.ENOSPC}))
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("translate(ENOSPC) = %v, want a \"disk full\" error wrapping ENOSPC", err)
	}
	err = translate(&fs.PathError{Op: "open", Path: "/r/x", Err: syscall.EACCES})
	if !errors.Is(err, store.ErrPermission) || !errors.Is(err, syscall.EACCES) {
		t.Errorf("translate(EACCES) = %v, want ErrPermission wrapping EACCES", err)
	}
}
