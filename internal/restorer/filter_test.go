package restorer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		match, child  bool
	}{
		{"/home/u", "/home/u", true, true},
		{"/home/u", "/home/u/f", true, true},
		{"/home/u", "/home", false, true},
		{"/home/u", "/home/v", false, false},
		{"/home/u", "/x/home/u", false, false},
		{"home/u", "/x/home/u/f", true, true},
		{"*.go", "/src/a.go", true, true},
		{"*.go", "/src/a.go.txt", false, true},
		{"*.go", "/x.go/y", true, true},
		{"/src/*.go", "/src/a.go", true, true},
		{"/src/*.go", "/src/sub/a.go", false, false},
		{"/src/**/*.go", "/src/sub/deep/a.go", true, true},
		{"/src/**/*.go", "/src/a.go", true, true},
		{"/src/**/*.go", "/lib/a.go", false, false},
		{"/src/**", "/src", true, true},
		{"/", "/anything", true, true},
		{"/a/[bc]", "/a/c", true, true},
		{"/a/b?", "/a/bx", true, true},
		{"./rel", "/x/rel", true, true},
	}
	for _, tt := range tests {
		p, err := compilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("compilePattern(%q): %v", tt.pattern, err)
		}
		comps := strings.Split(strings.Trim(tt.path, "/"), "/")
		if got := p.match(comps); got != tt.match {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.match)
		}
		if got := p.childMayMatch(comps); got != tt.child {
			t.Errorf("childMayMatch(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.child)
		}
	}
}

func TestBadPattern(t *testing.T) {
	for _, p := range []string{"", "/a/[", `x\`} {
		if _, err := New(newFakeRepo(t), Options{Exclude: []string{p}}); !errors.Is(err, ErrPattern) {
			t.Errorf("pattern %q: err = %v, want ErrPattern", p, err)
		}
	}
}

func TestRestoreIncludeExclude(t *testing.T) { forEachRepo(t, testRestoreIncludeExclude) }

func testRestoreIncludeExclude(t *testing.T, f testRepo) {
	snap := f.snapshot(
		f.dir("home",
			f.dir("u", f.file("a.go", []byte("a"), 8), f.file("b.txt", []byte("b"), 8),
				f.dir("cache", f.file("c.go", []byte("c"), 8))),
			f.dir("v", f.file("d.txt", []byte("d"), 8)),
		),
		f.dir("etc", f.file("e.conf", []byte("e"), 8)),
	)
	tests := []struct {
		include, exclude []string
		want             []string
	}{
		{nil, nil, []string{"etc", "etc/e.conf", "home", "home/u", "home/u/a.go", "home/u/b.txt",
			"home/u/cache", "home/u/cache/c.go", "home/v", "home/v/d.txt"}},
		{[]string{"/home/u"}, nil, []string{"home", "home/u", "home/u/a.go", "home/u/b.txt",
			"home/u/cache", "home/u/cache/c.go"}},
		{[]string{"*.go"}, nil, []string{"home", "home/u", "home/u/a.go", "home/u/cache", "home/u/cache/c.go"}},
		{[]string{"/home/u"}, []string{"cache"}, []string{"home", "home/u", "home/u/a.go", "home/u/b.txt"}},
		{nil, []string{"/home", "*.conf"}, []string{"etc"}},
		{[]string{"/home/v/d.txt", "/etc"}, nil, []string{"etc", "etc/e.conf", "home", "home/v", "home/v/d.txt"}},
		{[]string{"/nothing"}, nil, nil},
	}
	for _, tt := range tests {
		target, _, err := restoreTo(t, f, snap, Options{Include: tt.include, Exclude: tt.exclude})
		if err != nil {
			t.Fatalf("include %q exclude %q: %v", tt.include, tt.exclude, err)
		}
		if got := listDir(t, target); !slices.Equal(got, tt.want) {
			t.Errorf("include %q exclude %q: restored %q, want %q", tt.include, tt.exclude, got, tt.want)
		}
	}
}

func listDir(t *testing.T, root string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// FuzzPattern checks that compiling never panics and that a path matching
// a pattern is announced by childMayMatch on each of its parents.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"/home/u", "*.go", "/src/**/x", "a/**/b/**", "[", "/a/b?/c", "**"} {
		f.Add(s, "/home/u/src/x")
	}
	f.Fuzz(func(t *testing.T, pat, path string) {
		p, err := compilePattern(pat)
		if err != nil || len(p) > 12 {
			return
		}
		comps := strings.Split(strings.Trim(path, "/"), "/")
		if len(comps) > 12 || !p.match(comps) {
			return
		}
		for i := range comps {
			if !p.childMayMatch(comps[:i]) {
				t.Fatalf("%q matches %q but childMayMatch(%q) = false", pat, path, comps[:i])
			}
		}
	})
}
