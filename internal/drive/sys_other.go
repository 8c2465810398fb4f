//go:build !unix

package drive

import (
	"errors"
	"fmt"
	"os"
)

// OpenNoFollow is not available on this system.
func OpenNoFollow(root, rel string) (*os.File, error) {
	return nil, fmt.Errorf("open %s: %w", rel, errors.ErrUnsupported)
}

func openNoFollow(root, rel string) (*os.File, error) { return OpenNoFollow(root, rel) }

func statFree(path string) (int64, int64, error) {
	return 0, 0, fmt.Errorf("statfs %s: %w", path, errors.ErrUnsupported)
}

func dropCache(*os.File) {}

func lockFile(*os.File) error { return nil }

func isNoSpace(error) bool { return false }

func ignorableSyncErr(error) bool { return false }

func startWriteback(*os.File, int64, int64) {}

func readOnce(*os.File) {}

func datasync(f *os.File) error { return f.Sync() }

// checkWritable is left to the first write on systems without access(2).
func checkWritable(string) error { return nil }
