package snapshot

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Tree is the content of one directory: its entries sorted by name (byte
// order), each name at most once.
type Tree struct {
	Nodes []Node
}

// treeWire is the encoded form of a Tree, with nodes in their wire form.
type treeWire struct {
	Nodes []nodeJSON `json:"nodes"`
}

func compareNodes(a, b Node) int { return strings.Compare(a.Name, b.Name) }

// Find returns the node called name, or nil.
func (t *Tree) Find(name string) *Node {
	i, ok := slices.BinarySearchFunc(t.Nodes, name, func(n Node, name string) int {
		return strings.Compare(n.Name, name)
	})
	if !ok {
		return nil
	}
	return &t.Nodes[i]
}

// Insert adds n at its sorted place; ErrFormat if the name is taken.
func (t *Tree) Insert(n Node) error {
	i, ok := slices.BinarySearchFunc(t.Nodes, n, compareNodes)
	if ok {
		return fmt.Errorf("%w: duplicate node name %q", ErrFormat, n.Name)
	}
	t.Nodes = slices.Insert(t.Nodes, i, n)
	return nil
}

// Sort puts the nodes (and each node's xattrs) in canonical order.
func (t *Tree) Sort() {
	slices.SortFunc(t.Nodes, compareNodes)
	for i := range t.Nodes {
		slices.SortFunc(t.Nodes[i].Xattrs, func(a, b Xattr) int { return strings.Compare(a.Name, b.Name) })
	}
}

// Validate checks every node and the order and uniqueness of names.
func (t *Tree) Validate() error {
	for i := range t.Nodes {
		if err := t.Nodes[i].Validate(); err != nil {
			return err
		}
		if i > 0 && t.Nodes[i-1].Name >= t.Nodes[i].Name {
			return fmt.Errorf("%w: nodes %q and %q out of order or duplicate", ErrFormat, t.Nodes[i-1].Name, t.Nodes[i].Name)
		}
	}
	return nil
}

// EncodeTree returns the canonical encoding of t: JSON {"nodes":[...]}, names
// in byte order, times in UTC. Equal trees encode to equal bytes, so they
// dedup to one blob. t must be sorted and valid (see Sort and Validate).
func EncodeTree(t *Tree) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("encode tree: %w", err)
	}
	// Encode the wire form of all nodes in one pass: letting encoding/json
	// call Node.MarshalJSON per node costs a nested encoder and a
	// re-validation of its output for every node.
	w := treeWire{Nodes: make([]nodeJSON, len(t.Nodes))}
	for i := range t.Nodes {
		nw, err := t.Nodes[i].wire()
		if err != nil {
			return nil, fmt.Errorf("encode tree: %w", err)
		}
		w.Nodes[i] = nw
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode tree: %w", err)
	}
	return b, nil
}

// DecodeTree parses and validates an encoded tree.
func DecodeTree(b []byte) (*Tree, error) {
	var w treeWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: decode tree: %v", ErrFormat, err)
	}
	if w.Nodes == nil {
		return nil, fmt.Errorf("%w: decode tree: no nodes list", ErrFormat)
	}
	t := &Tree{Nodes: make([]Node, len(w.Nodes))}
	for i := range w.Nodes {
		n, err := w.Nodes[i].node()
		if err != nil {
			return nil, fmt.Errorf("%w: decode tree: node %d: %v", ErrFormat, i, err)
		}
		t.Nodes[i] = n
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("decode tree: %w", err)
	}
	return t, nil
}
