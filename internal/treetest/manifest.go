package treetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Entry is what a restore must reproduce of one node.
type Entry struct {
	Type      string      `json:"type"` // "file", "dir", "symlink", "fifo", "other"
	Mode      fs.FileMode `json:"mode"` // permission and set-id/sticky bits
	UID       uint32      `json:"uid"`
	GID       uint32      `json:"gid"`
	Size      int64       `json:"size,omitempty"`
	MTimeNano int64       `json:"mtime_ns"`
	SHA256    string      `json:"sha256,omitempty"`
	Target    string      `json:"target,omitempty"`
	Xattrs    []string    `json:"xattrs,omitempty"` // "name=value" of user.* xattrs, sorted
	Sparse    bool        `json:"sparse,omitempty"` // fewer blocks allocated than the size needs
	// HardLinks lists the other paths of the tree with the same inode.
	HardLinks []string `json:"hard_links,omitempty"`
}

// Manifest maps slash-separated paths relative to a root to their entries.
type Manifest map[string]Entry

// Scan describes every node below root (not root itself).
func Scan(t testing.TB, root string) Manifest {
	t.Helper()
	m, err := ScanDir(root)
	if err != nil {
		t.Fatalf("scan %s: %v", root, err)
	}
	return m
}

// ScanDir is Scan returning an error instead of failing a test.
func ScanDir(root string) (Manifest, error) {
	m := Manifest{}
	inodes := map[[2]uint64][]string{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		e, ino, err := scanOne(p)
		if err != nil {
			return fmt.Errorf("%q: %w", rel, err)
		}
		if e.Type == "file" {
			inodes[ino] = append(inodes[ino], rel)
		}
		m[rel] = e
		return nil
	})
	for _, paths := range inodes {
		for _, p := range paths {
			e := m[p]
			for _, q := range paths {
				if q != p {
					e.HardLinks = append(e.HardLinks, q)
				}
			}
			slices.Sort(e.HardLinks)
			m[p] = e
		}
	}
	return m, err
}

func scanOne(p string) (Entry, [2]uint64, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return Entry{}, [2]uint64{}, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return Entry{}, [2]uint64{}, err
	}
	e := Entry{
		Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		UID:  st.Uid, GID: st.Gid, MTimeNano: st.Mtim.Nano(),
	}
	switch fi.Mode().Type() {
	case 0:
		e.Type, e.Size = "file", st.Size
		e.Sparse = st.Size > 0 && st.Blocks*512 < st.Size
		if e.SHA256, err = hashFile(p); err != nil {
			return e, [2]uint64{}, err
		}
	case fs.ModeDir:
		e.Type = "dir"
	case fs.ModeSymlink:
		e.Type, e.Mode = "symlink", 0
		if e.Target, err = os.Readlink(p); err != nil {
			return e, [2]uint64{}, err
		}
	case fs.ModeNamedPipe:
		e.Type = "fifo"
	default:
		e.Type = "other"
	}
	if e.Type != "symlink" {
		if e.Xattrs, err = userXattrs(p); err != nil {
			return e, [2]uint64{}, err
		}
	}
	return e, [2]uint64{st.Dev, st.Ino}, nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func userXattrs(p string) ([]string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list xattrs: %w", err)
	}
	var out []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if !strings.HasPrefix(name, "user.") {
			continue
		}
		v := make([]byte, 64<<10)
		vn, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			return nil, fmt.Errorf("get xattr %s: %w", name, err)
		}
		out = append(out, name+"="+string(v[:vn]))
	}
	slices.Sort(out)
	return out, nil
}

// Diff returns one line per difference between want and got, sorted; nil
// when got reproduces want. Sparse is one-way: a sparse file must stay
// sparse, a dense one may become sparse.
func Diff(want, got Manifest) []string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(want)) {
		w := want[p]
		g, ok := got[p]
		if !ok {
			out = append(out, fmt.Sprintf("%q: missing", p))
			continue
		}
		if d := diffEntry(w, g); d != "" {
			out = append(out, fmt.Sprintf("%q: %s", p, d))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[p]; !ok {
			out = append(out, fmt.Sprintf("%q: unexpected", p))
		}
	}
	return out
}

func diffEntry(w, g Entry) string {
	var d []string
	add := func(what string, want, got any) {
		d = append(d, fmt.Sprintf("%s %v, want %v", what, got, want))
	}
	if w.Type != g.Type {
		add("type", w.Type, g.Type)
	}
	if w.Mode != g.Mode {
		add("mode", w.Mode, g.Mode)
	}
	if w.UID != g.UID || w.GID != g.GID {
		add("owner", fmt.Sprint(w.UID, ":", w.GID), fmt.Sprint(g.UID, ":", g.GID))
	}
	if w.Type != "dir" && w.Size != g.Size {
		add("size", w.Size, g.Size)
	}
	if w.MTimeNano != g.MTimeNano {
		add("mtime", w.MTimeNano, g.MTimeNano)
	}
	if w.SHA256 != g.SHA256 {
		add("sha256", w.SHA256, g.SHA256)
	}
	if w.Target != g.Target {
		add("link target", fmt.Sprintf("%q", w.Target), fmt.Sprintf("%q", g.Target))
	}
	if !slices.Equal(w.Xattrs, g.Xattrs) {
		add("xattrs", fmt.Sprintf("%q", w.Xattrs), fmt.Sprintf("%q", g.Xattrs))
	}
	if w.Sparse && !g.Sparse {
		add("sparse", w.Sparse, g.Sparse)
	}
	if !slices.Equal(w.HardLinks, g.HardLinks) {
		add("hard links", w.HardLinks, g.HardLinks)
	}
	return strings.Join(d, "; ")
}

// Equal fails the test with every difference between want and got.
func Equal(t testing.TB, want, got Manifest) {
	t.Helper()
	for _, d := range Diff(want, got) {
		t.Error(d)
	}
}

// Without returns m without the paths for which drop returns true.
func (m Manifest) Without(drop func(rel string, e Entry) bool) Manifest {
	out := Manifest{}
	for p, e := range m {
		if !drop(p, e) {
			out[p] = e
		}
	}
	return out
}
