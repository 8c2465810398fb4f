package drive

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/seedship/seedship/internal/store"
)

// Reserved names.
const (
	// PartialSuffix ends the name of a file being written; such a file is
	// never complete and a resumed run removes it.
	PartialSuffix = ".partial"
	// MarkerName identifies a drive being prepared: job, drive id and
	// sequence number, written before the first file is copied.
	MarkerName = "seedship-drive.json"
	// reservedPrefix starts every name the format reserves at the top level
	// of a drive (manifest, MAC, marker and their temporary files).
	reservedPrefix = "seedship-"
)

// Errors about paths and drive contents.
var (
	// ErrPath: a path in a manifest is not a safe relative path.
	ErrPath = errors.New("unsafe drive path")
	// ErrSymlink: a path on a drive goes through a symbolic link.
	ErrSymlink = errors.New("symbolic link on drive")
	// ErrNotRegular: a file on a drive is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
)

// CheckPath checks a path listed in a manifest. It must be a valid object
// name (store.ValidName: printable ASCII, relative, no empty, "." or ".."
// segment, no backslash), equal to its path.Clean form, not a reserved name
// (top-level names starting with "seedship-") and not end in PartialSuffix.
// A path that passes can never leave the directory it is joined to.
func CheckPath(p string) error {
	if err := store.ValidName(p); err != nil {
		return fmt.Errorf("%w: %v", ErrPath, err)
	}
	if path.Clean(p) != p || path.IsAbs(p) {
		return fmt.Errorf("%w: %q is not a clean relative path", ErrPath, p)
	}
	if top, _, _ := strings.Cut(p, "/"); strings.HasPrefix(top, reservedPrefix) {
		return fmt.Errorf("%w: %q: top-level names starting with %q are reserved", ErrPath, p, reservedPrefix)
	}
	if strings.HasSuffix(p, PartialSuffix) {
		return fmt.Errorf("%w: %q: names ending in %q are reserved", ErrPath, p, PartialSuffix)
	}
	return nil
}

// SafeJoin joins a manifest path to a root directory after CheckPath, and
// checks that the result lies below root. It does not protect against
// symbolic links inside root: readers of untrusted drives use OpenNoFollow.
func SafeJoin(root, rel string) (string, error) {
	if root == "" {
		return "", fmt.Errorf("%w: %q: empty root", ErrPath, rel)
	}
	if err := CheckPath(rel); err != nil {
		return "", err
	}
	clean := filepath.Clean(root)
	full := filepath.Join(clean, filepath.FromSlash(rel))
	if r, err := filepath.Rel(clean, full); err != nil || r == "." || !filepath.IsLocal(r) {
		return "", fmt.Errorf("%w: %q escapes %s", ErrPath, rel, root)
	}
	return full, nil
}
