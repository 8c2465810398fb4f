package archiver

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// vnode is a directory of the hierarchy that leads from the root to the
// backed-up paths: /home/x and /srv give a root with children "home" (with
// child "x", a target) and "srv" (a target).
type vnode struct {
	target   bool // backed up whole
	children map[string]*vnode
}

func (v *vnode) names() []string { return slices.Sorted(maps.Keys(v.children)) }

// CleanPaths makes paths absolute and clean, sorts them and drops those
// inside another: the Paths a snapshot of them records (useful for finding
// the parent snapshot of the same paths).
func CleanPaths(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no paths given", ErrNoPaths)
	}
	var abs []string
	for _, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("path %q: %w", p, err)
		}
		abs = append(abs, a)
	}
	slices.Sort(abs)
	out := abs[:0]
	for _, p := range abs {
		if slices.ContainsFunc(out, func(dir string) bool { return within(p, dir) }) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// buildVirtual returns the root of the hierarchy for the cleaned targets.
func buildVirtual(targets []string) *vnode {
	root := &vnode{children: map[string]*vnode{}}
	for _, t := range targets {
		v := root
		for _, name := range strings.Split(strings.TrimPrefix(t, "/"), "/") {
			if name == "" {
				continue // "/" itself
			}
			c := v.children[name]
			if c == nil {
				c = &vnode{children: map[string]*vnode{}}
				v.children[name] = c
			}
			v = c
		}
		v.target = true
	}
	return root
}
