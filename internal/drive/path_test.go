package drive

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		p  string
		ok bool
	}{
		{"config", true}, {"data/ab/" + strings.Repeat("ab", 32), true}, {"keys/x", true},
		{"data/seedship-ok", true}, {".hidden", true}, {"...", true}, {"a/...", true},
		{"", false}, {".", false}, {"..", false}, {"../x", false}, {"a/../b", false}, {"a/..", false},
		{"/abs", false}, {"a//b", false}, {"a/./b", false}, {"./a", false}, {"a/", false},
		{`a\b`, false}, {"a\x00b", false}, {"a b", false}, {"a\tb", false}, {"caf\u00e9", false},
		{ManifestName, false}, {MACName, false}, {MarkerName, false}, {"seedship-x/y", false},
		{"x.partial", false}, {"data/x.partial", false}, {strings.Repeat("a", 1025), false},
	}
	for _, tc := range tests {
		err := CheckPath(tc.p)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPath(%q) = %v, want ok=%v", tc.p, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrPath) {
			t.Errorf("CheckPath(%q) = %v, want ErrPath", tc.p, err)
		}
		got, err := SafeJoin("/mnt/drive", tc.p)
		if tc.ok && (err != nil || got != "/mnt/drive/"+tc.p) {
			t.Errorf("SafeJoin(/mnt/drive, %q) = %q, %v", tc.p, got, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("SafeJoin(/mnt/drive, %q) = %q, want error", tc.p, got)
		}
	}
	if _, err := SafeJoin("", "a"); err == nil {
		t.Error("SafeJoin with empty root succeeded")
	}
}

func TestOpenNoFollow(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644))
	must(os.MkdirAll(filepath.Join(root, "data", "ab"), 0o755))
	must(os.WriteFile(filepath.Join(root, "data", "ab", "ok"), []byte("ok"), 0o644))
	must(os.Symlink(outside, filepath.Join(root, "data", "cd")))                                // linked directory
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "data", "ab", "ln"))) // linked file
	must(os.Symlink(outside, filepath.Join(root, "keys")))                                      // linked top directory
	must(unix.Mkfifo(filepath.Join(root, "data", "ab", "fifo"), 0o644))
	must(os.WriteFile(filepath.Join(root, "file"), nil, 0o644))

	f, err := OpenNoFollow(root, "data/ab/ok")
	if err != nil {
		t.Fatalf("regular file: %v", err)
	}
	f.Close()
	tests := []struct {
		rel  string
		want error
	}{
		{"data/cd/secret", ErrSymlink},
		{"keys/secret", ErrSymlink},
		{"data/ab/ln", ErrSymlink},
		{"file/x", ErrSymlink}, // a file where a directory was expected
		{"data/ab/fifo", ErrNotRegular},
		{"data", ErrNotRegular},
		{"data/ab/missing", fs.ErrNotExist},
		{"../secret", ErrPath},
	}
	for _, tc := range tests {
		f, err := OpenNoFollow(root, tc.rel)
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("OpenNoFollow(%q) = %v, want %v", tc.rel, err, tc.want)
		}
	}
}
