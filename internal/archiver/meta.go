package archiver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seedship/seedship/internal/snapshot"
)

// statNode describes the object at path as a node called name, from lstat
// (stat when follow is set) alone; addExtras adds what needs more calls.
func (a *Archiver) statNode(path, name string, follow bool) (snapshot.Node, error) {
	var st unix.Stat_t
	op, stat := "lstat", a.lstat
	if follow {
		op, stat = "stat", unix.Stat
	}
	if err := stat(path, &st); err != nil {
		return snapshot.Node{}, fileError(op, path, err)
	}
	n := nodeFromStat(name, &st)
	n.User = a.names.user(n.UID)
	n.Group = a.names.group(n.GID)
	return n, nil
}

// addExtras reads n's link target and xattrs. On error n is still usable
// but incomplete.
func addExtras(path string, n *snapshot.Node) *FileError {
	if n.Type == snapshot.TypeSymlink {
		target, err := os.Readlink(path)
		if err != nil {
			return fileError("readlink", path, err)
		}
		n.LinkTarget = target
		// Reading the target updates the link's atime, so any value
		// recorded would be an artifact of the previous backup; leaving
		// it out keeps unchanged trees identical.
		n.AccessTime = time.Time{}
	}
	xattrs, err := readXattrs(path)
	n.Xattrs = xattrs
	if err != nil {
		return fileError("xattr", path, err)
	}
	return nil
}

// nodeFromStat fills everything that lstat tells.
func nodeFromStat(name string, st *unix.Stat_t) snapshot.Node {
	typ, mode := fileMode(st.Mode)
	n := snapshot.Node{
		Name: name, Type: typ, Mode: mode, UID: st.Uid, GID: st.Gid,
		ModTime:    timespec(st.Mtim),
		AccessTime: timespec(st.Atim),
		ChangeTime: timespec(st.Ctim),
		Inode:      st.Ino, DeviceID: st.Dev, Links: st.Nlink,
	}
	switch typ {
	case snapshot.TypeFile:
		n.Size = uint64(st.Size)
		// Fewer allocated blocks than the size needs means holes.
		n.Sparse = st.Size > 0 && st.Blocks*512 < st.Size
	case snapshot.TypeDev, snapshot.TypeCharDev:
		n.Rdev = st.Rdev
	}
	return n
}

func timespec(ts unix.Timespec) time.Time { return time.Unix(ts.Sec, ts.Nsec) }

// fileMode converts st_mode to a node type and an os.FileMode.
func fileMode(m uint32) (snapshot.NodeType, os.FileMode) {
	mode := os.FileMode(m & 0o777)
	var typ snapshot.NodeType
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		typ = snapshot.TypeFile
	case unix.S_IFDIR:
		typ, mode = snapshot.TypeDir, mode|os.ModeDir
	case unix.S_IFLNK:
		typ, mode = snapshot.TypeSymlink, mode|os.ModeSymlink
	case unix.S_IFBLK:
		typ, mode = snapshot.TypeDev, mode|os.ModeDevice
	case unix.S_IFCHR:
		typ, mode = snapshot.TypeCharDev, mode|os.ModeDevice|os.ModeCharDevice
	case unix.S_IFIFO:
		typ, mode = snapshot.TypeFIFO, mode|os.ModeNamedPipe
	case unix.S_IFSOCK:
		typ, mode = snapshot.TypeSocket, mode|os.ModeSocket
	default:
		typ, mode = snapshot.TypeFile, mode|os.ModeIrregular
	}
	for _, b := range []struct {
		bit  uint32
		mode os.FileMode
	}{{unix.S_ISUID, os.ModeSetuid}, {unix.S_ISGID, os.ModeSetgid}, {unix.S_ISVTX, os.ModeSticky}} {
		if m&b.bit != 0 {
			mode |= b.mode
		}
	}
	return typ, mode
}

// xattrUnsupported reports errors that mean "this file system has no xattrs".
func xattrUnsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// readXattrs returns path's extended attributes sorted by name, nil when
// the file system does not support them.
func readXattrs(path string) ([]snapshot.Xattr, error) {
	list, err := listXattrs(path)
	if err != nil || len(list) == 0 {
		if xattrUnsupported(err) {
			err = nil
		}
		return nil, err
	}
	var out []snapshot.Xattr
	for _, name := range list {
		v, err := getXattr(path, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed since listed
		}
		if err != nil {
			return out, fmt.Errorf("get xattr %q: %w", name, err)
		}
		out = append(out, snapshot.Xattr{Name: name, Value: v})
	}
	slices.SortFunc(out, func(a, b snapshot.Xattr) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// listXattrs returns the attribute names, retrying if the list grows
// between the size probe and the read.
func listXattrs(path string) ([]string, error) {
	for range 5 {
		size, err := unix.Llistxattr(path, nil)
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, b := range bytes.Split(buf[:n], []byte{0}) {
			if len(b) > 0 {
				names = append(names, string(b))
			}
		}
		return names, nil
	}
	return nil, fmt.Errorf("list xattrs: %w", unix.ERANGE)
}

func getXattr(path, name string) ([]byte, error) {
	for range 5 {
		size, err := unix.Lgetxattr(path, name, nil)
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	return nil, unix.ERANGE
}

// nameCache remembers user and group names by ID for one archiver; "" when
// the ID has no name.
type nameCache struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

func (c *nameCache) user(uid uint32) string {
	return c.lookup(&c.users, uid, func(id string) (string, error) {
		u, err := user.LookupId(id)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

func (c *nameCache) group(gid uint32) string {
	return c.lookup(&c.groups, gid, func(id string) (string, error) {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func (c *nameCache) lookup(m *map[uint32]string, id uint32, fn func(string) (string, error)) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := (*m)[id]; ok {
		return name
	}
	if *m == nil {
		*m = make(map[uint32]string)
	}
	name, err := fn(strconv.FormatUint(uint64(id), 10))
	if err != nil {
		name = ""
	}
	(*m)[id] = name
	return name
}
