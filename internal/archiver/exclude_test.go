package archiver

import (
	"errors"
	"slices"
	"testing"
)

func TestExcludeMatch(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		isDir   bool
		want    bool
	}{
		{"*.log", "/var/log/syslog.log", false, true},
		{"*.log", "/var/log/syslog", false, false},
		{"*.log", "/x.log/inner", false, false}, // the dir itself matches when walked
		{"*.log", "/x.log", true, true},
		{"/tmp", "/tmp", true, true},
		{"/tmp", "/home/tmp", true, false},
		{"tmp", "/home/tmp", true, true},
		{"/home/*/.cache", "/home/ann/.cache", true, true},
		{"/home/*/.cache", "/home/ann/x/.cache", true, false},
		{"/home/**/.cache", "/home/ann/x/.cache", true, true},
		{"/home/**/.cache", "/home/.cache", true, true},
		{"node_modules/", "/src/node_modules", true, true},
		{"node_modules/", "/src/node_modules", false, false},
		{"build/**", "/src/build", true, false},
		{"build/**", "/src/build/out.o", false, true},
		{"build/**", "/src/build/a/b", false, true},
		{"src/*.go", "/home/src/main.go", false, true},
		{"src/*.go", "/home/src/sub/main.go", false, false},
		{"f?o", "/a/foo", false, true},
		{"[ab].txt", "/a/b.txt", false, true},
		{"[ab].txt", "/a/c.txt", false, false},
		{`\*`, "/a/*", false, true},
		{`\*`, "/a/x", false, false},
		{"*", "/anything", false, true},
		{"/", "/", true, false},
	}
	for _, tt := range tests {
		m, err := compileExcludes([]string{tt.pattern})
		if tt.pattern == "/" {
			if !errors.Is(err, ErrBadPattern) {
				t.Errorf("compile %q: err = %v, want ErrBadPattern", tt.pattern, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("compile %q: %v", tt.pattern, err)
		}
		if got := m.excluded(tt.path, tt.isDir); got != tt.want {
			t.Errorf("pattern %q excludes %q (dir %v) = %v, want %v", tt.pattern, tt.path, tt.isDir, got, tt.want)
		}
	}
	if _, err := New(newFakeRepo(), Options{Excludes: []string{"a[", "ok"}}); !errors.Is(err, ErrBadPattern) {
		t.Errorf("New with pattern a[: err = %v, want ErrBadPattern", err)
	}
}

func TestExcludes(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"keep.txt": nil, "drop.log": nil, "cache/x": nil, "sub/keep": nil, "sub/drop.log": nil,
		"build/out.o": nil, "data/": nil, "skipme/a": nil, "skipme/.nobackup": nil,
	})
	repo := newFakeRepo()
	s, res := backup(t, newArchiver(t, repo, Options{
		Excludes:         []string{"*.log", "cache/", dir + "/build/**", dir + "/data"},
		ExcludeIfPresent: []string{".nobackup"},
	}), dir)
	if got, want := names(t, repo, s.Tree, dir), []string{"build", "keep.txt", "sub"}; !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
	if got := names(t, repo, s.Tree, dir+"/sub"); !slices.Equal(got, []string{"keep"}) {
		t.Errorf("sub entries = %q, want [keep]", got)
	}
	if got := names(t, repo, s.Tree, dir+"/build"); len(got) != 0 {
		t.Errorf("build entries = %q, want none", got)
	}
	if len(res.Errors) != 0 {
		t.Errorf("errors: %v", res.Errors)
	}
	if !slices.Equal(s.Excludes, []string{"*.log", "cache/", dir + "/build/**", dir + "/data"}) {
		t.Errorf("snapshot excludes = %q", s.Excludes)
	}
}
