package restorer

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// pattern is a compiled include/exclude pattern: its "/"-separated parts,
// where "**" matches any number of path components. A pattern matches a
// path when it matches a run of the path's components that starts at the
// root (pattern starting with "/") or anywhere (relative pattern), and the
// path may continue below it: "/home/u" matches "/home/u/f", "*.go"
// matches "/src/a.go" and "/x.go/y", like restic.
type pattern []string

// compilePattern parses p. Relative patterns get a leading "**", and every
// pattern a trailing "**", so matching is a plain whole-path glob.
func compilePattern(p string) (pattern, error) {
	if p == "" {
		return nil, fmt.Errorf("%w: empty pattern", ErrPattern)
	}
	abs := strings.HasPrefix(p, "/")
	var parts []string
	if clean := strings.Trim(path.Clean("/"+p), "/"); clean != "" {
		parts = strings.Split(clean, "/")
	}
	for _, part := range parts {
		if _, err := filepath.Match(part, ""); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrPattern, p, err)
		}
	}
	pat := make(pattern, 0, len(parts)+2)
	if !abs {
		pat = append(pat, "**")
	}
	pat = append(pat, parts...)
	return append(pat, "**"), nil
}

// match reports whether the pattern matches all of comps.
func (p pattern) match(comps []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			for i := 0; i <= len(comps); i++ {
				if p[1:].match(comps[i:]) {
					return true
				}
			}
			return false
		}
		if len(comps) == 0 || !globPart(p[0], comps[0]) {
			return false
		}
		p, comps = p[1:], comps[1:]
	}
	return len(comps) == 0
}

// childMayMatch reports whether some path below comps could match.
func (p pattern) childMayMatch(comps []string) bool {
	for len(comps) > 0 {
		if len(p) == 0 {
			return false
		}
		if p[0] == "**" {
			return true // "**" absorbs the rest of comps, later parts match below
		}
		if !globPart(p[0], comps[0]) {
			return false
		}
		p, comps = p[1:], comps[1:]
	}
	return true
}

func globPart(pat, name string) bool {
	if !strings.ContainsAny(pat, `*?[\`) {
		return pat == name
	}
	ok, _ := filepath.Match(pat, name) // validated in compilePattern
	return ok
}

// filter decides which snapshot paths are restored.
type filter struct {
	include, exclude []pattern
}

func newFilter(include, exclude []string) (*filter, error) {
	f := &filter{}
	for _, s := range include {
		p, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		f.include = append(f.include, p)
	}
	for _, s := range exclude {
		p, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		f.exclude = append(f.exclude, p)
	}
	return f, nil
}

// selection is the filter's verdict on one path.
type selection struct {
	selected bool // restore this node (and, for a directory, all below)
	descend  bool // a directory whose children may be selected
}

// check decides about the node at comps (the snapshot path split at "/",
// without the empty root part). parentSelected: the parent directory was
// selected, so its whole subtree is, unless excluded.
func (f *filter) check(comps []string, isDir, parentSelected bool) selection {
	for _, p := range f.exclude {
		if p.match(comps) {
			return selection{}
		}
	}
	sel := parentSelected || len(f.include) == 0
	descend := false
	for _, p := range f.include {
		if sel {
			break
		}
		sel = p.match(comps)
		descend = descend || (isDir && p.childMayMatch(comps))
	}
	return selection{selected: sel, descend: isDir && (sel || descend)}
}
