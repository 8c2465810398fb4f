//go:build unix

package drive

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive advisory lock on f without waiting.
func lockFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB) }); err != nil {
		return err
	}
	if errors.Is(lerr, unix.EWOULDBLOCK) {
		return fmt.Errorf("%w: %s is locked by another run", ErrBusy, f.Name())
	}
	return lerr
}

// isNoSpace reports whether err means the drive is full.
func isNoSpace(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) || errors.Is(err, unix.EFBIG)
}

// ignorableSyncErr reports errors of fsync on a directory that some
// filesystems (FUSE exFAT or NTFS) return although the data is safe.
func ignorableSyncErr(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOSYS)
}

// checkWritable fails when dir cannot be written, as on a drive mounted
// read-only (access(2) says so even to root).
func checkWritable(dir string) error {
	return unix.Access(dir, unix.W_OK)
}
