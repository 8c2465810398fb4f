// Package treetest builds file trees that hold every kind of node a backup
// must keep — modes, nanosecond mtimes, symlinks, hard links, an empty
// directory, names with a newline and invalid UTF-8, a sparse file, user
// xattrs, a FIFO — and compares trees after a restore, so the tests of the
// command line and of crash consistency share one definition of "bit-exact".
package treetest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Options choose what Build creates.
type Options struct {
	Seed uint64 // content of the random files
	// Small is the number of small random files, which with a small pack
	// size make many packs; SmallMax is their maximum size (default 40 KiB).
	Small, SmallMax int
	// Big is the size of one incompressible file (0: none).
	Big int
	// Special adds the nodes most file systems or tools get wrong: a FIFO,
	// a file whose name holds a newline and invalid UTF-8, a sparse file and
	// user xattrs.
	Special bool
}

// OddName is the name of the file with a newline and invalid UTF-8 bytes.
const OddName = "odd\nname \xff\xfe.txt"

// SparseName is the sparse file: SparseSize bytes with data only at SparseDataAt.
const (
	SparseName   = "sparse.img"
	SparseSize   = 8 << 20
	SparseDataAt = 3 << 20
)

// XattrName is the user xattr set on README.txt when the file system allows.
const XattrName = "user.seedship.test"

// Built tells what Build could create.
type Built struct {
	// Xattrs is false when the file system refused user xattrs (ENOTSUP).
	Xattrs bool
}

// baseTime is the first of the fixed mtimes given to every node.
var baseTime = time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.UTC)

// Build creates the tree below root (which must exist) and returns what it
// could create.
func Build(t testing.TB, root string, o Options) Built {
	t.Helper()
	rng := rand.New(rand.NewPCG(o.Seed, 99))
	var b Built
	var log bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&log, "2026-11-25T10:%02d:%02dZ INFO request %d served in %dms\n", i/60%60, i%60, i, rng.IntN(500))
	}
	must(t, os.MkdirAll(filepath.Join(root, "data"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "dir0750"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "empty-dir"), 0o755))
	write(t, root, "README.txt", log.Bytes(), 0o644)
	write(t, root, "mode0640.txt", []byte("private\n"), 0o640)
	write(t, root, "exec.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	write(t, root, "empty.txt", nil, 0o644)
	write(t, root, "dir0750/inner.txt", []byte("inner\n"), 0o600)
	write(t, root, "hard-a", []byte("one inode, two names\n"), 0o644)
	must(t, os.Link(filepath.Join(root, "hard-a"), filepath.Join(root, "data/hard-b")))
	smallMax := cmp.Or(o.SmallMax, 40<<10)
	for i := range o.Small {
		write(t, root, fmt.Sprintf("data/small-%02d.bin", i), random(rng, 1+rng.IntN(smallMax)), 0o644)
	}
	if o.Big > 0 {
		write(t, root, "data/big.bin", random(rng, o.Big), 0o644)
	}
	must(t, os.Symlink("README.txt", filepath.Join(root, "link-to-readme")))
	must(t, os.Symlink("does/not/exist", filepath.Join(root, "dangling")))
	if o.Special {
		b.Xattrs = buildSpecial(t, root, rng)
	}
	must(t, os.Chmod(filepath.Join(root, "dir0750"), 0o750))
	setTimes(t, root)
	return b
}

func buildSpecial(t testing.TB, root string, rng *rand.Rand) (xattrs bool) {
	write(t, root, OddName, []byte("a name no terminal likes\n"), 0o644)
	must(t, unix.Mkfifo(filepath.Join(root, "fifo"), 0o620))
	f, err := os.OpenFile(filepath.Join(root, SparseName), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	must(t, err)
	_, err = f.WriteAt(random(rng, 64<<10), SparseDataAt)
	must(t, err)
	must(t, f.Truncate(SparseSize))
	must(t, f.Close())
	err = unix.Lsetxattr(filepath.Join(root, "README.txt"), XattrName, []byte("value\x00with a NUL"), 0)
	if errors.Is(err, unix.ENOTSUP) {
		t.Logf("user xattrs not supported on %s: not testing them", root)
		return false
	}
	must(t, err)
	must(t, unix.Lsetxattr(filepath.Join(root, "dir0750"), XattrName+".dir", []byte("on a directory"), 0))
	return true
}

// setTimes gives every node below root its own fixed mtime and atime with
// nanoseconds, children before their directories.
func setTimes(t testing.TB, root string) {
	t.Helper()
	var paths []string
	must(t, filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	for i := len(paths) - 1; i >= 0; i-- {
		mt := baseTime.Add(time.Duration(i) * (time.Hour + 1001*time.Nanosecond))
		ts := []unix.Timespec{unix.NsecToTimespec(mt.Add(time.Minute).UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// Touch replaces the content of the file rel below root and gives it an
// mtime that no node of Build has, so a backup sees it changed.
func Touch(t testing.TB, root, rel string, content []byte) {
	t.Helper()
	p := filepath.Join(root, rel)
	must(t, os.WriteFile(p, content, 0o644))
	mt := baseTime.Add(-time.Hour)
	must(t, os.Chtimes(p, mt, mt))
}

func write(t testing.TB, root, rel string, b []byte, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	must(t, os.WriteFile(p, b, mode))
	must(t, os.Chmod(p, mode))
}

func random(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
