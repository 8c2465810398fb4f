//go:build linux

package drive

import (
	"os"

	"golang.org/x/sys/unix"
)

// statFree returns the bytes available to an unprivileged user on the
// filesystem holding path, and its block size.
func statFree(path string) (free, bsize int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	bsize = st.Frsize
	if bsize <= 0 {
		bsize = st.Bsize
	}
	return int64(st.Bavail) * bsize, bsize, nil
}

// dropCache asks the kernel to forget a synced file's cached pages, so that
// verification reads the drive rather than memory and the drive's copy does
// not fill the page cache.
func dropCache(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.Fadvise(int(fd), 0, 0, unix.FADV_DONTNEED) })
	}
}

// startWriteback starts writing a just-written range of f to the device
// without waiting, so that the fsync at the end of the file finds little
// left to do and the disk works while the next buffer is read and hashed.
func startWriteback(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE) })
	}
}

// readOnce tells the kernel that a staging file is read once, front to
// back: a larger readahead window, and (since Linux 6.3) pages that are not
// promoted in the page cache, so a multi-terabyte copy does not push other
// programs' data out. Unlike dropping the file's pages after the copy, this
// keeps pages that were cached already, as cp does.
func readOnce(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.Fadvise(int(fd), 0, 0, unix.FADV_SEQUENTIAL)
			_ = unix.Fadvise(int(fd), 0, 0, unix.FADV_NOREUSE)
		})
	}
}

// datasync flushes f's data and the metadata needed to read it back (its
// size and blocks), without the timestamps fsync would also write.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = unix.Fdatasync(int(fd)); serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
