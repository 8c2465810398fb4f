package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/verify"
)

// handDrive writes a drive by hand: files, then a manifest listing the
// given entries verbatim (no validation) and its MAC.
func handDrive(t *testing.T, key []byte, id string, files map[string]string, entries []drive.File) (string, drive.DriveResult) {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"format":1,"job":"seed-x","drive_id":%q,"seq":1,"created":"2025-03-01T12:00:00Z","files":[`, id)
	for i, f := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n"+`{"path":%q,"size":%d,"sha256":%q}`, f.Path, f.Size, f.SHA256)
	}
	b.WriteString("\n]}\n")
	mac, err := drive.ComputeMAC(b.Bytes(), key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, drive.ManifestName), b.Bytes(), 0o644)
	os.WriteFile(filepath.Join(root, drive.MACName), []byte(mac+"\n"), 0o644)
	return root, drive.DriveResult{ID: id, Seq: 1, Path: root, ManifestHash: drive.ManifestHash(b.Bytes()), Files: len(entries)}
}

func entry(p, content string) drive.File {
	return drive.File{Path: p, Size: int64(len(content)), SHA256: hexSum([]byte(content))}
}

// TestMaliciousDrive: a drive whose manifest (authentic: the attacker holds
// the job key) points through a symbolic link, at a FIFO, and whose disk
// holds files the manifest does not list, imports only what it may and
// writes nothing outside the container.
func TestMaliciousDrive(t *testing.T) {
	e := newEnv(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("outside"), 0o644)
	files := map[string]string{"config": "cfg", "extra/not-listed": "x", "data/real/ok": "ok"}
	root, d := handDrive(t, make([]byte, 32), strings.Repeat("a1", 16), files, []drive.File{
		entry("config", "cfg"), entry("data/ab/secret", "outside"), entry("data/real/ok", "ok"), entry("fifo", ""),
		entry("keys/link", "outside"),
	})
	if err := os.Symlink(outside, filepath.Join(root, "data", "ab")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "keys"), 0o755)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "keys", "link"))
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	j := &testJob{name: "seed-x", container: "c-x", key: make([]byte, 32)}
	e.register(j, func(int) drive.DriveResult { return d }, 1)
	im := e.importer("st1")
	receiveAll(t, im, &testJob{name: j.name, drives: []drive.DriveResult{d}})
	res, err := im.Import(context.Background(), testAccount, j.name, root)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != importjob.DriveCompletedMoreInfo || res.FilesCopied != 2 || res.FilesFailed != 3 {
		t.Errorf("result %+v, want 2 copied, 3 failed", res)
	}
	mustContain(t, "errors.log", e.readObject(res.ErrorLog), "data/ab/secret", "symbolic link", "fifo", "not a regular file", "keys/link")
	mustContain(t, "copy.log", e.readObject(res.CopyLog), "ignored extra/not-listed (file", "ignored data/ab (symbolic link")
	objs := e.objects("")
	for name := range objs {
		if !strings.HasPrefix(name, "c-x/") {
			t.Errorf("object %s outside the container", name)
		}
	}
	for _, name := range []string{"c-x/config", "c-x/data/real/ok"} {
		if _, ok := objs[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("outside dir has %d entries, want the one it had", len(entries))
	}
}

// TestInvalidManifestPaths: an authentic manifest with an escaping,
// absolute or repeated path is invalid as a whole: the drive fails.
func TestInvalidManifestPaths(t *testing.T) {
	for i, entries := range [][]drive.File{
		{entry("../escape", "x")},
		{entry("/etc/passwd", "x")},
		{entry("config", "x"), entry("config", "x")},
		{entry("seedship-import-logs/x", "x")},
	} {
		t.Run(entries[0].Path, func(t *testing.T) {
			e := newEnv(t)
			root, d := handDrive(t, make([]byte, 32), fmt.Sprintf("%032x", i+1), map[string]string{"config": "x"}, entries)
			j := &testJob{name: "seed-x", container: "c-x", key: make([]byte, 32)}
			e.register(j, func(int) drive.DriveResult { return d }, 1)
			_, err := e.importer("st1").Receive(context.Background(), testAccount, j.name, root)
			if !errors.Is(err, ErrDriveFailed) || !strings.Contains(err.Error(), "invalid drive manifest") {
				t.Errorf("Receive = %v, want ErrDriveFailed: invalid drive manifest", err)
			}
			if objs := e.objects(""); len(objs) != 0 {
				t.Errorf("objects stored: %v", objs)
			}
		})
	}
}

func TestVerifyReader(t *testing.T) {
	const content = "hello, drive"
	f := entry("data/x", content)
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"good", content, true},
		{"flipped", "hellO, drive", false},
		{"short", content[:5], false},
		{"long", content + "!", false},
	} {
		st := mem.New()
		v := verify.NewReader(strings.NewReader(tc.data), f.Size, f.SHA256)
		err := st.Put(context.Background(), "c/data/x", v, f.Size)
		_, serr := st.Stat(context.Background(), "c/data/x")
		if tc.ok != (err == nil) || tc.ok != (serr == nil) || !tc.ok && !errors.Is(driveErr(f, v.Err()), errMismatch) {
			t.Errorf("%s: Put = %v, stat %v, reader %v; want ok=%v", tc.name, err, serr, v.Err(), tc.ok)
		}
	}
	// A store that reads exactly size bytes never sees the last piece of a
	// mismatching file.
	v := verify.NewReader(strings.NewReader("hellO, drive"), f.Size, f.SHA256)
	got, err := io.ReadAll(io.LimitReader(v, f.Size))
	if err == nil || len(got) == len(content) {
		t.Errorf("exact-size read of a bad file = %d bytes, %v; want an error before the end", len(got), err)
	}
}

// TestDriveErr: a mismatch names the file and the manifest; an error of
// the drive names the file and the drive.
func TestDriveErr(t *testing.T) {
	f := entry("data/x", "hello, drive")
	_, mism := io.ReadAll(verify.NewReader(strings.NewReader("hello"), f.Size, f.SHA256))
	boom := errors.New("boom")
	for _, tc := range []struct {
		err  error
		want string
		is   error
	}{
		{mism, "differs from the manifest: file data/x ends after 5 bytes, expected 12", errMismatch},
		{boom, "read data/x from the drive: boom", boom},
	} {
		err := driveErr(f, tc.err)
		if err.Error() != tc.want || !errors.Is(err, tc.is) {
			t.Errorf("driveErr(%v) = %q, want %q", tc.err, err, tc.want)
		}
	}
}

func TestLogNumbering(t *testing.T) {
	st := mem.New()
	ctx := context.Background()
	for i, want := range []string{"p/copy.log", "p/copy-2.log", "p/copy-3.log"} {
		l, err := newLogFile(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		l.printf("attempt %d", i+1)
		name, err := l.publish(ctx, st, "p", "copy")
		l.close()
		if err != nil || name != want {
			t.Errorf("publish %d = %q, %v; want %q", i+1, name, err, want)
		}
		if b, _ := store.ReadAll(ctx, st, name); string(b) != fmt.Sprintf("attempt %d\n", i+1) {
			t.Errorf("%s = %q", name, b)
		}
	}
}
