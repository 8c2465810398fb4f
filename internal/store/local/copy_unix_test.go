//go:build unix

package local

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/seedship/seedship/internal/store"
)

func TestCopyOtherFileSystem(t *testing.T) {
	const shm = "/dev/shm"
	here := newStore(t)
	hi, err1 := os.Stat(here.Dir())
	si, err2 := os.Stat(shm)
	if err1 != nil || err2 != nil || !si.IsDir() || sameDevice(hi, si) {
		t.Skipf("no second file system at %s to link across", shm)
	}
	dir, err := os.MkdirTemp(shm, "seedship-copy-")
	if err != nil {
		t.Skipf("cannot write to %s: %v", shm, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	there, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	put(t, there, "src", []byte("x"))
	if err := here.Copy(t.Context(), "dst", there, "src", nil); !errors.Is(err, store.ErrNotSupported) || !errors.Is(err, syscall.EXDEV) {
		t.Errorf("Copy across file systems = %v, want ErrNotSupported (EXDEV)", err)
	}
	if _, err := here.Stat(t.Context(), "dst"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(dst) = %v, want ErrNotFound", err)
	}
	noTemps(t, here)
}

// sameDevice reports whether two files are on one file system.
func sameDevice(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Dev == sb.Dev
}
