package archiver

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// pattern is one compiled exclude pattern (rules in the package documentation).
type pattern struct {
	parts    []string
	anchored bool
	dirOnly  bool
}

// matcher decides which paths are excluded; the zero value excludes nothing.
type matcher struct {
	pats []pattern
}

// ErrBadPattern is returned by New for an exclude pattern that cannot be parsed.
var ErrBadPattern = errors.New("bad exclude pattern")

func compileExcludes(list []string) (*matcher, error) {
	m := &matcher{}
	for _, s := range list {
		p, err := compilePattern(s)
		if err != nil {
			return nil, err
		}
		m.pats = append(m.pats, p)
	}
	return m, nil
}

func compilePattern(s string) (pattern, error) {
	p := pattern{anchored: strings.HasPrefix(s, "/"), dirOnly: strings.HasSuffix(s, "/")}
	for _, part := range strings.Split(s, "/") {
		if part == "" || part == "." {
			continue
		}
		if _, err := path.Match(part, ""); err != nil {
			return p, fmt.Errorf("%w %q: %v", ErrBadPattern, s, err)
		}
		p.parts = append(p.parts, part)
	}
	if len(p.parts) == 0 {
		return p, fmt.Errorf("%w %q: matches nothing", ErrBadPattern, s)
	}
	return p, nil
}

// excluded reports whether the absolute, cleaned path is excluded.
func (m *matcher) excluded(abs string, isDir bool) bool {
	if len(m.pats) == 0 {
		return false
	}
	comps := strings.Split(strings.TrimPrefix(abs, "/"), "/")
	if abs == "/" {
		comps = nil
	}
	for _, p := range m.pats {
		if p.dirOnly && !isDir {
			continue
		}
		if p.matches(comps) {
			return true
		}
	}
	return false
}

func (p *pattern) matches(comps []string) bool {
	if p.anchored {
		return matchParts(p.parts, comps)
	}
	for i := range comps {
		if matchParts(p.parts, comps[i:]) {
			return true
		}
	}
	return false
}

// matchParts reports whether the pattern components match all of comps.
func matchParts(parts, comps []string) bool {
	for len(parts) > 0 {
		if parts[0] == "**" {
			return matchGlobstar(parts[1:], comps)
		}
		if len(comps) == 0 {
			return false
		}
		if ok, _ := path.Match(parts[0], comps[0]); !ok {
			return false
		}
		parts, comps = parts[1:], comps[1:]
	}
	return len(comps) == 0
}

// matchGlobstar matches "**" followed by rest against comps.
func matchGlobstar(rest, comps []string) bool {
	if len(rest) == 0 {
		return len(comps) > 0 // trailing "**": something inside
	}
	for i := 0; i <= len(comps); i++ {
		if matchParts(rest, comps[i:]) {
			return true
		}
	}
	return false
}
