package drive

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// ErrStaging: the staging directory holds something that cannot be put on
// a drive, or changed while being copied.
var ErrStaging = errors.New("staging location")

// tmpPrefix starts the names of the local store's temporary files, left
// behind by an interrupted write; they are never copied.
const tmpPrefix = ".tmp-"

// srcFile is one file of the staging directory.
type srcFile struct {
	path string // slash-separated, relative
	size int64
}

// scanStaging lists the files to copy: every regular file below root
// except the top-level "seedship-*" files (seed record, journal, account
// copy, job key) and temporary files, metadata first
// (config, keys, snapshots, index), then everything else, then the packs,
// each group sorted by path. Symbolic links and special files are refused:
// a linked directory would otherwise be silently left off the drives.
func scanStaging(root string) ([]srcFile, error) {
	var files []srcFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return nil
		case !strings.Contains(rel, "/") && strings.HasPrefix(rel, reservedPrefix), strings.HasPrefix(d.Name(), tmpPrefix):
			// The staging location's own files (seed record, journal, the
			// account copy, the job key) never go on a drive: every
			// top-level "seedship-" name is reserved for them.
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%w: %s is a %s, not a regular file: move it out of the staging location", ErrStaging, p, typeName(d.Type()))
		}
		if err := CheckPath(rel); err != nil {
			return fmt.Errorf("%w: %s cannot be put on a drive: %v", ErrStaging, p, err)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, srcFile{path: rel, size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan staging %s: %w", root, err)
	}
	slices.SortFunc(files, func(a, b srcFile) int {
		return cmp.Or(cmp.Compare(rank(a.path), rank(b.path)), strings.Compare(a.path, b.path))
	})
	return files, nil
}

// rank orders the repository's top-level directories.
func rank(p string) int {
	top, _, _ := strings.Cut(p, "/")
	switch top {
	case "config":
		return 0
	case "keys":
		return 1
	case "snapshots":
		return 2
	case "index":
		return 3
	case "data":
		return 5
	}
	return 4
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// contentAddressed reports whether the file's name must equal the SHA-256
// of its bytes (packs, index files, snapshots, key files, locks: see the
// repository format), so that copying also checks the staging data.
func contentAddressed(p string) bool {
	top, _, _ := strings.Cut(p, "/")
	base := p[strings.LastIndexByte(p, '/')+1:]
	switch top {
	case "data", "index", "snapshots", "keys", "locks":
		return isHex(base, 64)
	}
	return false
}
