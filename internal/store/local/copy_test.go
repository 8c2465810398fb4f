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
	"github.com/seedship/seedship/internal/store/storetest"
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

// TestCopier runs the Copier suite on two stores of one file system; every
// copy must be a hard link of its source, and no subtest may leave a
// temporary file behind.
func TestCopier(t *testing.T) {
	storetest.RunCopier(t, storetest.CopierBackend{
		NewPair: func(t *testing.T, _ storetest.FaultFunc) (store.Store, store.Store) {
			dst, src := newStore(t), newStore(t)
			t.Cleanup(func() { noTemps(t, dst); noTemps(t, src) })
			return dst, src
		},
		Copied: func(t *testing.T, dst store.Store, dstName string, src store.Store, srcName string) {
			if !sameFile(t, src.(*Store), srcName, dst.(*Store), dstName) {
				t.Errorf("copy %s is not a hard link of the source %s", dstName, srcName)
			}
		},
		// The copy links the inode check read.
		ErrSourceChanged: nil,
	})
}

// TestCopyRefused covers the names only a directory tree has: temporary
// files and directories.
func TestCopyRefused(t *testing.T) {
	st := newStore(t)
	put(t, st, "src", []byte("source"))
	if err := os.MkdirAll(filepath.Join(st.Dir(), "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	called := false
	check := func(io.Reader) error { called = true; return nil }
	for _, tc := range []struct {
		name      string
		dst, from string
		want      error
	}{
		{"source is an empty directory", "new", "sub", store.ErrNotFound},
		{"temporary dst", tmpPrefix + "x", "src", store.ErrInvalidName},
		{"temporary source", "new", tmpPrefix + "x", store.ErrInvalidName},
	} {
		if err := st.Copy(t.Context(), tc.dst, st, tc.from, check); !errors.Is(err, tc.want) {
			t.Errorf("%s: Copy(%s, %s) = %v, want %v", tc.name, tc.dst, tc.from, err, tc.want)
		}
	}
	if called {
		t.Errorf("check was called")
	}
	if _, err := st.Stat(t.Context(), "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(new) = %v after refused copies, want ErrNotFound", err)
	}
	noTemps(t, st)
}
