//go:build unix && !linux

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
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Bsize), nil
}

// dropCache is a no-op where posix_fadvise is not available.
func dropCache(*os.File) {}

// readOnce is a no-op where posix_fadvise is not available.
func readOnce(*os.File) {}

// startWriteback is a no-op where sync_file_range is not available.
func startWriteback(*os.File, int64, int64) {}

// datasync is fsync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }
