package local

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
)

// put creates name in st with content b.
func put(t *testing.T, st store.Store, name string, b []byte) {
	t.Helper()
	if err := st.Put(t.Context(), name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// sameFile reports whether the two objects are one file.
func sameFile(t *testing.T, a *Store, an string, b *Store, bn string) bool {
	t.Helper()
	fa, err := os.Stat(filepath.Join(a.Dir(), filepath.FromSlash(an)))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(filepath.Join(b.Dir(), filepath.FromSlash(bn)))
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

// noTemps fails the test when a temporary file is left below st.
func noTemps(t *testing.T, st *Store) {
	t.Helper()
	filepath.WalkDir(st.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			t.Errorf("temporary file %s left behind", p)
		}
		return err
	})
}

func TestCopyLinks(t *testing.T) {
	root := t.TempDir()
	a, err := Create(filepath.Join(root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(filepath.Join(root, "b"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	content := []byte("pack bytes")
	put(t, a, "c/data/ab/one", content)
	for _, tc := range []struct {
		name string
		dst  *Store
		to   string
	}{
		{"same store", a, "repo/data/ab/one"},
		{"other store", b, "data/ab/one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []byte
			check := func(r io.Reader) error {
				var err error
				seen, err = io.ReadAll(r)
				return err
			}
			if err := tc.dst.Copy(ctx, tc.to, a, "c/data/ab/one", check); err != nil {
				t.Fatalf("Copy = %v", err)
			}
			if !bytes.Equal(seen, content) {
				t.Errorf("check saw %q, want %q", seen, content)
			}
			got, err := store.ReadAll(ctx, tc.dst, tc.to)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("copy holds %q, %v; want %q", got, err, content)
			}
			if !sameFile(t, a, "c/data/ab/one", tc.dst, tc.to) {
				t.Errorf("copy %s is not a hard link of the source", tc.to)
			}
			noTemps(t, tc.dst)
		})
	}
	// Deleting the source name leaves the copies.
	if err := a.Delete(ctx, "c/data/ab/one"); err != nil {
		t.Fatal(err)
	}
	if got, err := store.ReadAll(ctx, b, "data/ab/one"); err != nil || !bytes.Equal(got, content) {
		t.Errorf("copy after deleting the source = %q, %v; want %q", got, err, content)
	}
}

func TestCopyWithoutCheck(t *testing.T) {
	st := newStore(t)
	put(t, st, "src", []byte("x"))
	if err := st.Copy(t.Context(), "dst", st, "src", nil); err != nil {
		t.Fatalf("Copy without check = %v", err)
	}
	if !sameFile(t, st, "src", st, "dst") {
		t.Errorf("dst is not a hard link of src")
	}
}

func TestCopyRefused(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	put(t, st, "src", []byte("source"))
	put(t, st, "dst", []byte("existing"))
	called := false
	check := func(r io.Reader) error { called = true; return nil }
	for _, tc := range []struct {
		name      string
		src       store.Store
		dst, from string
		want      error
	}{
		{"dst exists", st, "dst", "src", store.ErrExists},
		{"missing source", st, "new", "missing", store.ErrNotFound},
		{"source is a directory", st, "new", "sub", store.ErrNotFound},
		{"not a local store", mem.New(), "new", "src", store.ErrNotSupported},
		{"invalid dst", st, "../new", "src", store.ErrInvalidName},
		{"temporary dst", st, tmpPrefix + "x", "src", store.ErrInvalidName},
		{"invalid source", st, "new", "a//b", store.ErrInvalidName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "source is a directory" {
				if err := os.MkdirAll(filepath.Join(st.Dir(), "sub"), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			called = false
			if err := st.Copy(ctx, tc.dst, tc.src, tc.from, check); !errors.Is(err, tc.want) {
				t.Errorf("Copy(%s, %s) = %v, want %v", tc.dst, tc.from, err, tc.want)
			}
			if called {
				t.Errorf("check was called")
			}
		})
	}
	if got, _ := store.ReadAll(ctx, st, "dst"); string(got) != "existing" {
		t.Errorf("dst = %q after a refused copy, want it untouched", got)
	}
	if _, err := st.Stat(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(new) = %v after refused copies, want ErrNotFound", err)
	}
	noTemps(t, st)
}

func TestCopyCheckFails(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	put(t, st, "src", []byte("damaged"))
	bad := errors.New("checksum mismatch")
	err := st.Copy(ctx, "data/ab/dst", st, "src", func(r io.Reader) error {
		io.Copy(io.Discard, r)
		return bad
	})
	if !errors.Is(err, bad) {
		t.Errorf("Copy = %v, want the check's error", err)
	}
	if _, err := st.Stat(ctx, "data/ab/dst"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(dst) after a failed check = %v, want ErrNotFound", err)
	}
	noTemps(t, st)
}
