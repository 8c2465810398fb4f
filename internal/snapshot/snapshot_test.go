package snapshot

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seedship/seedship/internal/oid"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testID(s string) oid.ID { return oid.Hash([]byte(s)) }

func testIDPtr(s string) *oid.ID { id := testID(s); return &id }

func sampleTree() *Tree {
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	return &Tree{Nodes: []Node{
		{Name: "a\nnewline", Type: TypeFile, Mode: 0o644, UID: 1000, GID: 1000, User: "ann", Group: "staff",
			Size: 5, ModTime: mtime, AccessTime: mtime, ChangeTime: mtime.Add(time.Second),
			Inode: 42, DeviceID: 2049, Links: 2, Content: []oid.ID{testID("c1"), testID("c2")}, Sparse: true,
			Xattrs: []Xattr{{Name: "user.a", Value: []byte{0, 1, 2}}, {Name: "user.b\xff"}}},
		{Name: "dir", Type: TypeDir, Mode: os.ModeDir | 0o755, ModTime: mtime, Subtree: testIDPtr("sub"), Links: 3},
		{Name: "dev", Type: TypeDev, Mode: os.ModeDevice | 0o660, Rdev: 0x0801},
		{Name: "fifo", Type: TypeFIFO, Mode: os.ModeNamedPipe | 0o600},
		{Name: "link", Type: TypeSymlink, Mode: os.ModeSymlink | 0o777, LinkTarget: "../t\xfe\xfarget"},
		{Name: "tty", Type: TypeCharDev, Mode: os.ModeDevice | os.ModeCharDevice | 0o620, Rdev: 0x0400},
		{Name: "x<&>", Type: TypeSocket, Mode: os.ModeSocket | 0o755, User: "u\xc3", Group: "g\xc3"},
		{Name: "\xff\xfeinvalid", Type: TypeFile, Mode: 0o600 | os.ModeSetuid},
	}}
}

func sampleSnapshot() *Snapshot {
	start := time.Date(2024, 5, 6, 7, 8, 9, 5, time.UTC)
	return &Snapshot{
		Time: start, Hostname: "host", Username: "root", UID: 0, GID: 0,
		Paths: []string{"/home/x", "/srv/\xffraw"}, Tree: testID("root"), Parent: testIDPtr("parent"),
		Tags: []string{"daily"}, Excludes: []string{"*.log"}, ProgramVersion: "seedship 0.1",
		Summary: &Summary{BackupStart: start, BackupEnd: start.Add(time.Minute), FilesNew: 1, FilesChanged: 2,
			FilesUnmodified: 3, Dirs: 4, DirsNew: 1, DirsChanged: 1, DirsUnmodified: 2, Others: 7,
			DataBlobs: 5, DataAdded: 6, FilesProcessed: 6, BytesProcessed: 100, Errors: 1},
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding differs from %s:\ngot  %s\nwant %s", path, got, want)
	}
}

func TestTreeGolden(t *testing.T) {
	tr := sampleTree()
	tr.Sort()
	b, err := EncodeTree(tr)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "tree.golden.json", b)
	got, err := DecodeTree(b)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleTree()
	want.Sort()
	for i := range want.Nodes { // times decode as UTC
		n := &want.Nodes[i]
		n.ModTime, n.AccessTime, n.ChangeTime = utc(n.ModTime), utc(n.AccessTime), utc(n.ChangeTime)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeTree(EncodeTree(t)) differs (-want +got):\n%s", diff)
	}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func TestTreeDeterministic(t *testing.T) {
	a, b := sampleTree(), sampleTree()
	for i := range b.Nodes { // another time zone, same instants
		n := &b.Nodes[i]
		n.ModTime = n.ModTime.In(time.FixedZone("Y", -7*3600))
	}
	a.Sort()
	b.Sort()
	ea, _ := EncodeTree(a)
	eb, _ := EncodeTree(b)
	if !bytes.Equal(ea, eb) {
		t.Errorf("same tree in two time zones encodes differently:\n%s\n%s", ea, eb)
	}
}

func TestEncodeTreeEmpty(t *testing.T) {
	b, err := EncodeTree(&Tree{})
	if err != nil || string(b) != `{"nodes":[]}` {
		t.Errorf("EncodeTree(empty) = %s, %v", b, err)
	}
}

func TestTreeInvalid(t *testing.T) {
	sub := testIDPtr("s")
	tests := []struct {
		name  string
		nodes []Node
	}{
		{"empty name", []Node{{Name: "", Type: TypeFile}}},
		{"dot", []Node{{Name: ".", Type: TypeFile}}},
		{"dotdot", []Node{{Name: "..", Type: TypeDir, Subtree: sub}}},
		{"slash", []Node{{Name: "a/b", Type: TypeFile}}},
		{"nul", []Node{{Name: "a\x00", Type: TypeFile}}},
		{"bad type", []Node{{Name: "a", Type: "door"}}},
		{"dir without subtree", []Node{{Name: "a", Type: TypeDir}}},
		{"file with subtree", []Node{{Name: "a", Type: TypeFile, Subtree: sub}}},
		{"symlink with content", []Node{{Name: "a", Type: TypeSymlink, Content: []oid.ID{{}}}}},
		{"unsorted", []Node{{Name: "b", Type: TypeFile}, {Name: "a", Type: TypeFile}}},
		{"duplicate", []Node{{Name: "a", Type: TypeFile}, {Name: "a", Type: TypeFile}}},
		{"xattrs unsorted", []Node{{Name: "a", Type: TypeFile, Xattrs: []Xattr{{Name: "b"}, {Name: "a"}}}}},
		{"time range", []Node{{Name: "a", Type: TypeFile, ModTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}},
	}
	for _, tt := range tests {
		if _, err := EncodeTree(&Tree{Nodes: tt.nodes}); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: EncodeTree error = %v, want ErrFormat", tt.name, err)
		}
	}
}

func TestDecodeTreeInvalid(t *testing.T) {
	tests := []string{
		``, `null`, `{"nodes":{}}`, `{"nodes":[{"name":"a","type":"file","mode":-1}]}`,
		`{"nodes":[{"name":"a","name_raw":"YQ==","type":"file"}]}`,
		`{"nodes":[{"name_raw":"!!","type":"file"}]}`,
		`{"nodes":[{"name":"a","type":"file","mtime":"yesterday"}]}`,
		`{"nodes":[{"name":"a","type":"file","content":["zz"]}]}`,
		`{"nodes":[{"name":"x","type":"dir"}]}`,
		`{"nodes":[{"name":"b","type":"file"},{"name":"a","type":"file"}]}`,
	}
	for _, in := range tests {
		if _, err := DecodeTree([]byte(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("DecodeTree(%s) error = %v, want ErrFormat", in, err)
		}
	}
}

func TestTreeFindInsert(t *testing.T) {
	var tr Tree
	for _, name := range []string{"m", "a", "z", "b"} {
		if err := tr.Insert(Node{Name: name, Type: TypeFile}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Insert(Node{Name: "b", Type: TypeFile}); !errors.Is(err, ErrFormat) {
		t.Errorf("Insert(duplicate) = %v, want ErrFormat", err)
	}
	var names []string
	for _, n := range tr.Nodes {
		names = append(names, n.Name)
	}
	if got := strings.Join(names, ","); got != "a,b,m,z" {
		t.Errorf("names = %s, want a,b,m,z", got)
	}
	if n := tr.Find("m"); n == nil || n.Name != "m" {
		t.Errorf("Find(m) = %v", n)
	}
	if n := tr.Find("c"); n != nil {
		t.Errorf("Find(c) = %v, want nil", n)
	}
}

func TestSnapshotGolden(t *testing.T) {
	s := sampleSnapshot()
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "snapshot.golden.json", b)
	got, err := ParseSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("ParseSnapshot(Marshal(s)) differs (-want +got):\n%s", diff)
	}
}

func TestSnapshotInvalid(t *testing.T) {
	for _, mut := range []func(*Snapshot){
		func(s *Snapshot) { s.Time = time.Time{} },
		func(s *Snapshot) { s.Tree = oid.ID{} },
		func(s *Snapshot) { s.Paths = nil },
		func(s *Snapshot) { s.Hostname = "\xff" },
		func(s *Snapshot) { s.Tags = []string{"\xff"} },
	} {
		s := sampleSnapshot()
		mut(s)
		if _, err := s.Marshal(); !errors.Is(err, ErrFormat) {
			t.Errorf("Marshal(%+v) error = %v, want ErrFormat", s, err)
		}
	}
	for _, in := range []string{``, `{}`, `{"time":"2024-01-01T00:00:00Z","tree":"00"}`,
		`{"time":"2024-01-01T00:00:00Z","paths":["/"],"paths_raw":["Lw=="],"tree":"` + testID("x").String() + `"}`} {
		if _, err := ParseSnapshot([]byte(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseSnapshot(%s) error = %v, want ErrFormat", in, err)
		}
	}
}
