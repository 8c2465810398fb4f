package restorer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/seedship/seedship/internal/snapshot"
	"golang.org/x/sys/unix"
)

// Files and directories are created private; pass 2 sets the real modes.
const (
	createFileMode = 0o600
	createDirMode  = 0o700
)

// makeDir creates the directory of e, or reuses an existing directory.
func (ru *run) makeDir(e *entry) error {
	ru.res.Dirs++
	if ru.dryRun {
		return nil
	}
	path := ru.path(e.rel)
	err := os.Mkdir(path, createDirMode)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return wrapPath(e.rel, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return wrapPath(e.rel, err)
	}
	if !fi.IsDir() {
		return existsError(e.rel, fi.Mode())
	}
	return nil
}

func (ru *run) makeSymlink(e *entry) error {
	ru.res.Symlinks++
	if ru.dryRun {
		return nil
	}
	path := ru.path(e.rel)
	err := createReplacing(e.rel, path, func() error {
		return os.Symlink(e.node.LinkTarget, path)
	})
	if err != nil {
		return wrapPath(e.rel, err)
	}
	return ru.applyMeta(e.rel, ru.metaOf(e.node))
}

// makeSpecial creates a device or FIFO. Creating devices needs root (and
// CAP_MKNOD in a container); when not permitted the node is skipped with a
// warning.
func (ru *run) makeSpecial(e *entry) error {
	if ru.dryRun {
		ru.res.Special++
		return nil
	}
	n := e.node
	mode := uint32(createFileMode)
	switch n.Type {
	case snapshot.TypeDev:
		mode |= unix.S_IFBLK
	case snapshot.TypeCharDev:
		mode |= unix.S_IFCHR
	default:
		mode |= unix.S_IFIFO
	}
	path := ru.path(e.rel)
	err := createReplacing(e.rel, path, func() error {
		return unix.Mknod(path, mode, int(n.Rdev))
	})
	if errors.Is(err, syscall.EPERM) && n.Type != snapshot.TypeFIFO {
		ru.warn("device not created (not permitted)", e.rel, err)
		return nil
	}
	if err != nil {
		return wrapPath(e.rel, err)
	}
	ru.res.Special++
	return ru.applyMeta(e.rel, ru.metaOf(n))
}

// createEmpty creates a file that has no chunks, at its full size (a
// hole), and applies its metadata.
func (ru *run) createEmpty(fj *fileJob) error {
	f, err := fj.open(ru.target)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return wrapPath(fj.rel, err)
	}
	return ru.fileDone(fj)
}

// fileDone applies a file's metadata once all its content is written.
func (ru *run) fileDone(fj *fileJob) error {
	m := fj.meta
	fj.meta = nil
	return ru.applyMeta(fj.rel, m)
}

// link makes the hard links collected in pass 1.
func (ru *run) link() error {
	for _, l := range ru.links {
		path, first := ru.path(l.rel), ru.path(l.first)
		err := createReplacing(l.rel, path, func() error { return os.Link(first, path) })
		if err != nil {
			return wrapPath(l.rel, err)
		}
		ru.res.HardLinks++
	}
	return nil
}

// createReplacing runs mk; when path exists and is a regular file, it is
// removed and mk runs again. Anything else existing is ErrExists: the
// restorer never follows or removes symlinks, directories or devices.
func createReplacing(rel, path string, mk func() error) error {
	err := mk()
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, lerr := os.Lstat(path)
	if lerr != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return existsError(rel, fi.Mode())
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	return mk()
}

func existsError(rel string, m fs.FileMode) error {
	return fmt.Errorf("restore %s: target holds a %s there (%w): remove it or restore into an empty directory",
		rel, kindOf(m), ErrExists)
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "file"
}

// wrapPath names the restored path in err (nil stays nil). Errors that
// already name it (ErrExists) are returned as they are.
func wrapPath(rel string, err error) error {
	if err == nil || errors.Is(err, ErrExists) {
		return err
	}
	return fmt.Errorf("restore %s: %w", rel, err)
}
