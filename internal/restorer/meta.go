package restorer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/seedship/seedship/internal/snapshot"
	"golang.org/x/sys/unix"
)

// nodeMeta is the metadata of a restored node, kept from pass 1 until it
// is applied: when a file's last write is done, when a symlink or special
// file is created, and for directories at the end, children first.
type nodeMeta struct {
	symlink  bool
	mode     fs.FileMode // permissions and set-id/sticky bits
	uid, gid int         // resolved (see ownerCache)
	times    []unix.Timespec
	xattrs   []snapshot.Xattr
}

// dirMeta is a created directory waiting for its metadata.
type dirMeta struct {
	rel  string
	meta *nodeMeta
}

// metaOf extracts what applyMeta needs from n.
func (ru *run) metaOf(n *snapshot.Node) *nodeMeta {
	m := &nodeMeta{
		symlink: n.Type == snapshot.TypeSymlink,
		mode:    n.Mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
		xattrs:  n.Xattrs,
	}
	m.uid, m.gid = ru.owner.resolve(n)
	if !n.ModTime.IsZero() {
		at := n.AccessTime
		if at.IsZero() {
			at = n.ModTime
		}
		m.times = []unix.Timespec{timespec(at), timespec(n.ModTime)}
	}
	return m
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// finish applies the directories' metadata, children before parents (the
// list is in walk post-order), so creating entries no longer moves their
// mtimes and read-only modes come last.
func (ru *run) finish() error {
	for _, d := range ru.dirs {
		if err := ru.applyMeta(d.rel, d.meta); err != nil {
			return err
		}
	}
	return nil
}

// applyMeta sets owner, xattrs, mode and times, in that order: chown clears
// set-id bits and file capabilities, and a read-only mode would forbid
// setting xattrs as a non-root owner. Symlinks are never followed.
func (ru *run) applyMeta(rel string, m *nodeMeta) error {
	path := ru.path(rel)
	if err := ru.chown(rel, path, m); err != nil {
		return wrapPath(rel, err)
	}
	if err := ru.setXattrs(rel, path, m); err != nil {
		return wrapPath(rel, err)
	}
	if !m.symlink {
		if err := os.Chmod(path, m.mode); err != nil {
			return wrapPath(rel, err)
		}
	}
	if m.times == nil {
		return nil
	}
	return wrapPath(rel, unix.UtimesNanoAt(unix.AT_FDCWD, path, m.times, unix.AT_SYMLINK_NOFOLLOW))
}

func (ru *run) chown(rel, path string, m *nodeMeta) error {
	err := os.Lchown(path, m.uid, m.gid)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
		// Not root, root squashed, or an id outside this user namespace.
		ru.warn("owner not restored (not permitted)", rel, err)
		return nil
	}
	return err
}

// setXattrs sets the recorded extended attributes. A file system without
// xattr support, or one refusing a namespace (user.* on symlinks,
// trusted.* without root), is a warning, not an error.
func (ru *run) setXattrs(rel, path string, m *nodeMeta) error {
	for _, x := range m.xattrs {
		err := unix.Lsetxattr(path, x.Name, x.Value, 0)
		switch {
		case err == nil:
		case errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EPERM):
			ru.warn("xattr not restored", rel, fmt.Errorf("%s: %w", x.Name, err))
		default:
			return fmt.Errorf("set xattr %s: %w", x.Name, err)
		}
	}
	return nil
}

// ownerCache maps recorded user and group names to local ids, once each.
// It is used only by pass 1, which is single-threaded.
type ownerCache struct {
	byName bool
	ids    map[string]int // "u:name" / "g:name" -> id, -1 when unknown
}

// resolve returns the uid and gid to restore n with: the numeric ids as
// recorded, or with byName the local ids of the recorded names when those
// exist.
func (c *ownerCache) resolve(n *snapshot.Node) (uid, gid int) {
	uid, gid = int(n.UID), int(n.GID)
	if !c.byName {
		return uid, gid
	}
	if id := c.lookup("u:", n.User); id >= 0 {
		uid = id
	}
	if id := c.lookup("g:", n.Group); id >= 0 {
		gid = id
	}
	return uid, gid
}

func (c *ownerCache) lookup(kind, name string) int {
	if name == "" {
		return -1
	}
	if id, ok := c.ids[kind+name]; ok {
		return id
	}
	var s string
	if kind == "u:" {
		if u, err := user.Lookup(name); err == nil {
			s = u.Uid
		}
	} else if g, err := user.LookupGroup(name); err == nil {
		s = g.Gid
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		id = -1
	}
	c.ids[kind+name] = id
	return id
}
