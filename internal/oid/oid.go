// Package oid defines the 32-byte identifiers used throughout a repository:
// chunk IDs (a keyed hash of the plaintext) and file IDs (the SHA-256 of a
// stored object's bytes).
package oid

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Size is the length of an ID in bytes.
const Size = 32

// ID identifies a chunk, tree, pack, index or snapshot.
type ID [Size]byte

// ErrInvalid is returned when a string is not a hex-encoded ID.
var ErrInvalid = errors.New("invalid ID")

// Hash returns the SHA-256 of data as an ID.
func Hash(data []byte) ID { return ID(sha256.Sum256(data)) }

// String returns the full lower-case hex form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, for messages.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsNull reports whether id is all zero bytes.
func (id ID) IsNull() bool { return id == ID{} }

// Parse decodes a 64-digit hex string.
func Parse(s string) (ID, error) {
	var id ID
	if len(s) != 2*Size {
		return id, fmt.Errorf("%w: %q has %d characters, want %d", ErrInvalid, s, len(s), 2*Size)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: %q: %v", ErrInvalid, s, err)
	}
	return id, nil
}

// MarshalText encodes the ID as hex, so IDs are hex strings in JSON.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes a hex ID.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
