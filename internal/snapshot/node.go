package snapshot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seedship/seedship/internal/oid"
)

// NodeType says what kind of file system object a Node describes.
type NodeType string

// The node types. Only files have content and only directories a subtree;
// the others are recorded as metadata alone.
const (
	TypeFile    NodeType = "file"
	TypeDir     NodeType = "dir"
	TypeSymlink NodeType = "symlink"
	TypeDev     NodeType = "dev"     // block device
	TypeCharDev NodeType = "chardev" // character device
	TypeFIFO    NodeType = "fifo"
	TypeSocket  NodeType = "socket"
)

// Valid reports whether t is one of the known node types.
func (t NodeType) Valid() bool {
	switch t {
	case TypeFile, TypeDir, TypeSymlink, TypeDev, TypeCharDev, TypeFIFO, TypeSocket:
		return true
	}
	return false
}

// Xattr is one extended attribute. Name and Value are kept byte for byte.
type Xattr struct {
	Name  string
	Value []byte
}

// Node is one entry of a Tree: a file, directory, link or special file with
// its metadata. Strings hold raw bytes: names that are not valid UTF-8 are
// kept exactly (they are encoded as base64 "*_raw" fields).
type Node struct {
	Name       string
	Type       NodeType
	Mode       os.FileMode // permission bits plus os.FileMode type and setuid/setgid/sticky bits
	UID, GID   uint32
	User       string // owner name at backup time, "" when unknown
	Group      string
	Size       uint64 // content length; regular files only
	ModTime    time.Time
	AccessTime time.Time
	ChangeTime time.Time
	Inode      uint64
	DeviceID   uint64 // st_dev of the file system holding the node
	Links      uint64 // st_nlink; with Inode and DeviceID it identifies hard links
	LinkTarget string // symlinks only
	Rdev       uint64 // device number of block and character devices
	Xattrs     []Xattr
	Content    []oid.ID // data blob IDs, in order; files only
	Subtree    *oid.ID  // tree blob ID; directories only
	Sparse     bool     // hint: the file had holes; the restorer may leave zero runs unwritten
}

// nodeJSON is the wire form of Node (see the package documentation).
type nodeJSON struct {
	Name          string      `json:"name,omitempty"`
	NameRaw       []byte      `json:"name_raw,omitempty"`
	Type          NodeType    `json:"type"`
	Mode          os.FileMode `json:"mode"`
	UID           uint32      `json:"uid"`
	GID           uint32      `json:"gid"`
	User          string      `json:"user,omitempty"`
	UserRaw       []byte      `json:"user_raw,omitempty"`
	Group         string      `json:"group,omitempty"`
	GroupRaw      []byte      `json:"group_raw,omitempty"`
	Size          uint64      `json:"size,omitempty"`
	ModTime       string      `json:"mtime,omitempty"`
	AccessTime    string      `json:"atime,omitempty"`
	ChangeTime    string      `json:"ctime,omitempty"`
	Inode         uint64      `json:"inode,omitempty"`
	DeviceID      uint64      `json:"device_id,omitempty"`
	Links         uint64      `json:"links,omitempty"`
	LinkTarget    string      `json:"link_target,omitempty"`
	LinkTargetRaw []byte      `json:"link_target_raw,omitempty"`
	Rdev          uint64      `json:"rdev,omitempty"`
	Xattrs        []xattrJSON `json:"xattrs,omitempty"`
	Content       []oid.ID    `json:"content,omitempty"`
	Subtree       *oid.ID     `json:"subtree,omitempty"`
	Sparse        bool        `json:"sparse,omitempty"`
}

type xattrJSON struct {
	Name    string `json:"name,omitempty"`
	NameRaw []byte `json:"name_raw,omitempty"`
	Value   []byte `json:"value"`
}

// MarshalJSON encodes n in the canonical wire form. It does not validate;
// EncodeTree does.
func (n Node) MarshalJSON() ([]byte, error) {
	w, err := n.wire()
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the wire form. It does not validate; DecodeTree does.
func (n *Node) UnmarshalJSON(b []byte) error {
	var w nodeJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v, err := w.node()
	if err != nil {
		return err
	}
	*n = v
	return nil
}

func (n *Node) wire() (nodeJSON, error) {
	w := nodeJSON{
		Type: n.Type, Mode: n.Mode, UID: n.UID, GID: n.GID, Size: n.Size,
		Inode: n.Inode, DeviceID: n.DeviceID, Links: n.Links, Rdev: n.Rdev,
		Content: n.Content, Subtree: n.Subtree, Sparse: n.Sparse,
	}
	w.Name, w.NameRaw = splitRaw(n.Name)
	w.User, w.UserRaw = splitRaw(n.User)
	w.Group, w.GroupRaw = splitRaw(n.Group)
	w.LinkTarget, w.LinkTargetRaw = splitRaw(n.LinkTarget)
	var err error
	for _, p := range []struct {
		dst *string
		t   time.Time
	}{{&w.ModTime, n.ModTime}, {&w.AccessTime, n.AccessTime}, {&w.ChangeTime, n.ChangeTime}} {
		if *p.dst, err = formatTime(p.t); err != nil {
			return w, fmt.Errorf("node %q: %w", n.Name, err)
		}
	}
	for _, x := range n.Xattrs {
		xj := xattrJSON{Value: x.Value}
		xj.Name, xj.NameRaw = splitRaw(x.Name)
		if xj.Value == nil {
			xj.Value = []byte{}
		}
		w.Xattrs = append(w.Xattrs, xj)
	}
	return w, nil
}

func (w *nodeJSON) node() (Node, error) {
	n := Node{
		Type: w.Type, Mode: w.Mode, UID: w.UID, GID: w.GID, Size: w.Size,
		Inode: w.Inode, DeviceID: w.DeviceID, Links: w.Links, Rdev: w.Rdev,
		Content: w.Content, Subtree: w.Subtree, Sparse: w.Sparse,
	}
	if len(n.Content) == 0 {
		n.Content = nil // one canonical form of "no content"
	}
	var err error
	fields := []struct {
		what string
		dst  *string
		s    string
		raw  []byte
	}{
		{"name", &n.Name, w.Name, w.NameRaw},
		{"user", &n.User, w.User, w.UserRaw},
		{"group", &n.Group, w.Group, w.GroupRaw},
		{"link_target", &n.LinkTarget, w.LinkTarget, w.LinkTargetRaw},
	}
	for _, f := range fields {
		if *f.dst, err = joinRaw(f.what, f.s, f.raw); err != nil {
			return n, err
		}
	}
	if err := w.times(&n); err != nil {
		return n, err
	}
	for _, xj := range w.Xattrs {
		name, err := joinRaw("xattr name", xj.Name, xj.NameRaw)
		if err != nil {
			return n, err
		}
		x := Xattr{Name: name, Value: xj.Value}
		if len(x.Value) == 0 {
			x.Value = nil // one canonical form of an empty value
		}
		n.Xattrs = append(n.Xattrs, x)
	}
	return n, nil
}

func (w *nodeJSON) times(n *Node) error {
	var err error
	if n.ModTime, err = parseTime("mtime", w.ModTime); err != nil {
		return err
	}
	if n.AccessTime, err = parseTime("atime", w.AccessTime); err != nil {
		return err
	}
	n.ChangeTime, err = parseTime("ctime", w.ChangeTime)
	return err
}

// splitRaw returns s as a JSON string when it is valid UTF-8, else as raw
// bytes, so that no byte is lost to JSON's replacement of invalid sequences.
func splitRaw(s string) (string, []byte) {
	if utf8.ValidString(s) {
		return s, nil
	}
	return "", []byte(s)
}

func joinRaw(what, s string, raw []byte) (string, error) {
	if s != "" && len(raw) > 0 {
		return "", fmt.Errorf("%w: both %s and %s_raw set", ErrFormat, what, what)
	}
	if len(raw) > 0 {
		return string(raw), nil
	}
	return s, nil
}

// formatTime writes t in UTC so that identical metadata encodes identically
// whatever the machine's time zone; the zero time is omitted.
func formatTime(t time.Time) (string, error) {
	if t.IsZero() {
		return "", nil
	}
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("%w: time %v outside years 0-9999", ErrFormat, t)
	}
	return u.Format(time.RFC3339Nano), nil
}

func parseTime(what, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q: %v", ErrFormat, what, s, err)
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("%w: %s %q out of range", ErrFormat, what, s)
	}
	return t, nil
}

// Validate checks the rules every stored node obeys: a safe non-empty name
// (no '/', no NUL, not "." or ".."), a known type, content only on files, a
// subtree exactly on directories, and xattrs sorted by unique name.
func (n *Node) Validate() error {
	if err := ValidName(n.Name); err != nil {
		return err
	}
	if !n.Type.Valid() {
		return fmt.Errorf("%w: node %q: unknown type %q", ErrFormat, n.Name, n.Type)
	}
	if n.Type != TypeFile && len(n.Content) > 0 {
		return fmt.Errorf("%w: node %q: %s has content", ErrFormat, n.Name, n.Type)
	}
	if (n.Type == TypeDir) != (n.Subtree != nil) {
		return fmt.Errorf("%w: node %q: subtree must be set on directories only", ErrFormat, n.Name)
	}
	for i, x := range n.Xattrs {
		if x.Name == "" || strings.Contains(x.Name, "\x00") {
			return fmt.Errorf("%w: node %q: invalid xattr name %q", ErrFormat, n.Name, x.Name)
		}
		if i > 0 && n.Xattrs[i-1].Name >= x.Name {
			return fmt.Errorf("%w: node %q: xattrs not sorted by unique name", ErrFormat, n.Name)
		}
	}
	return nil
}

// ValidName reports whether name may be a node name: non-empty, not "." or
// "..", without '/' or NUL. A restorer relies on this to stay inside its target.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: invalid node name %q", ErrFormat, name)
	}
	return nil
}

// Equal reports whether n and o hold the same metadata and content, so they
// encode to the same bytes.
func (n *Node) Equal(o *Node) bool {
	return n.Name == o.Name && n.Type == o.Type && n.Mode == o.Mode && n.UID == o.UID && n.GID == o.GID &&
		n.User == o.User && n.Group == o.Group && n.Size == o.Size &&
		n.ModTime.Equal(o.ModTime) && n.AccessTime.Equal(o.AccessTime) && n.ChangeTime.Equal(o.ChangeTime) &&
		n.Inode == o.Inode && n.DeviceID == o.DeviceID && n.Links == o.Links && n.LinkTarget == o.LinkTarget &&
		n.Rdev == o.Rdev && n.Sparse == o.Sparse && slices.Equal(n.Content, o.Content) &&
		((n.Subtree == nil) == (o.Subtree == nil)) && (n.Subtree == nil || *n.Subtree == *o.Subtree) &&
		slices.EqualFunc(n.Xattrs, o.Xattrs, func(a, b Xattr) bool { return a.Name == b.Name && bytes.Equal(a.Value, b.Value) })
}
