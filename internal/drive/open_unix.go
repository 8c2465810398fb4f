//go:build unix

package drive

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// OpenNoFollow opens the regular file rel (a manifest path) below root for
// reading without following any symbolic link on the way: every directory
// component is opened with openat(O_NOFOLLOW|O_DIRECTORY) relative to the
// previous one and the file itself with O_NOFOLLOW. A drive that replaces
// a directory or file by a symbolic link cannot redirect the read (the
// error wraps ErrSymlink), and a FIFO or device cannot block it (the error
// wraps ErrNotRegular). root itself is trusted and may be a link.
func OpenNoFollow(root, rel string) (*os.File, error) {
	if _, err := SafeJoin(root, rel); err != nil {
		return nil, err
	}
	return openNoFollow(root, rel)
}

// openNoFollow is OpenNoFollow without the path check, for the format's own
// reserved names.
func openNoFollow(root, rel string) (*os.File, error) {
	full := filepath.Join(root, filepath.FromSlash(rel))
	dir, err := openat(unix.AT_FDCWD, root, unix.O_DIRECTORY)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	parts := strings.Split(rel, "/")
	for i, name := range parts[:len(parts)-1] {
		next, err := openat(dir, name, unix.O_DIRECTORY|unix.O_NOFOLLOW)
		unix.Close(dir)
		if err != nil {
			return nil, linkError(filepath.Join(root, filepath.FromSlash(strings.Join(parts[:i+1], "/"))), err)
		}
		dir = next
	}
	fd, err := openat(dir, parts[len(parts)-1], unix.O_NOFOLLOW|unix.O_NONBLOCK)
	unix.Close(dir)
	if err != nil {
		return nil, linkError(full, err)
	}
	if err := checkRegular(fd, full); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), full), nil
}

func openat(dir int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dir, name, flags|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// checkRegular refuses anything but a regular file and turns O_NONBLOCK
// (used so that opening a FIFO cannot block) off again.
func checkRegular(fd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("open %s: %w (mode %#o)", name, ErrNotRegular, st.Mode&unix.S_IFMT)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return &os.PathError{Op: "fcntl", Path: name, Err: err}
	}
	return nil
}

// linkError reports ELOOP (a link met with O_NOFOLLOW) and ENOTDIR (a link
// or file where a directory was expected) as ErrSymlink.
func linkError(name string, err error) error {
	if err == unix.ELOOP || err == unix.ENOTDIR {
		return fmt.Errorf("open %s: %w or not a directory: %v", name, ErrSymlink, err)
	}
	return &os.PathError{Op: "open", Path: name, Err: err}
}
