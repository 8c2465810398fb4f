// Package crypto seals repository data and derives keys from passwords.
//
// Everything stored in a repository except key files is sealed with
// AES-256-GCM under the master [Key]: nonce (12 random bytes) || ciphertext ||
// tag (16 bytes). Chunk (blob) IDs are HMAC-SHA256 of the plaintext under a
// separate MAC key, so the storage side learns nothing from them. The master
// key itself is stored in [KeyFile]s, each sealed under a key derived from a
// password with argon2id.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/seedship/seedship/internal/oid"
)

// Overhead is the number of bytes Seal adds: a 12-byte nonce and a 16-byte tag.
const Overhead = 28

// keySize is the length of the encryption key and of the MAC key.
const keySize = 32

// masterKeySize is the length of a marshalled Key: encryption key || MAC key.
const masterKeySize = 2 * keySize

var (
	// ErrWrongPassword is returned when a password does not unlock a key file.
	ErrWrongPassword = errors.New("wrong password")
	// ErrAuth is returned when sealed data fails authentication: it was
	// damaged, tampered with, sealed under another key or with other
	// additional data.
	ErrAuth = errors.New("ciphertext failed authentication")
	// ErrKeyFile is returned for a malformed key file or master key.
	ErrKeyFile = errors.New("malformed key file")
)

// Key is a master key: an AES-256 key for sealing and an HMAC-SHA256 key for
// blob IDs. Its methods are safe for concurrent use. The zero Key is not
// usable: obtain one from NewRandomKey or UnmarshalBinary.
type Key struct {
	encKey [keySize]byte
	macKey [keySize]byte
	aead   cipher.AEAD
	// macs pools HMAC states: hmac.New costs two SHA-256 blocks and several
	// allocations, and a reset HMAC restores its precomputed pad state.
	macs *sync.Pool
}

// macState is one pooled HMAC with a buffer for its sum, so BlobID does not
// allocate.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewRandomKey returns a master key made of fresh random bytes.
func NewRandomKey() (*Key, error) {
	var b [masterKeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	k := new(Key)
	if err := k.UnmarshalBinary(b[:]); err != nil {
		return nil, err
	}
	return k, nil
}

// BlobID returns HMAC-SHA256(macKey, plaintext), the ID of a chunk or tree.
func (k *Key) BlobID(plaintext []byte) oid.ID {
	m := k.macs.Get().(*macState)
	m.h.Reset()
	m.h.Write(plaintext)
	id := oid.ID(m.h.Sum(m.sum[:0]))
	k.macs.Put(m)
	return id
}

// Seal encrypts and authenticates plaintext and ad, and appends
// nonce || ciphertext || tag to dst. Use plaintext[:0] as dst to seal in place
// (plaintext needs Overhead bytes of spare capacity to avoid a reallocation);
// otherwise dst and plaintext must not overlap.
func (k *Key) Seal(dst, plaintext, ad []byte) []byte {
	return k.aead.Seal(dst, nil, plaintext, ad)
}

// Open authenticates sealed and ad, and appends the plaintext to dst. It
// returns an error wrapping ErrAuth if sealed is too short, damaged, or was
// sealed under another key or with other additional data. Use sealed[:0] as
// dst to open in place; otherwise dst and sealed must not overlap.
func (k *Key) Open(dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("open %d sealed bytes, shorter than the %d-byte overhead: %w", len(sealed), Overhead, ErrAuth)
	}
	out, err := k.aead.Open(dst, nil, sealed, ad)
	if err != nil {
		return nil, fmt.Errorf("open %d sealed bytes: %w", len(sealed), ErrAuth)
	}
	return out, nil
}

// MarshalBinary returns the 64-byte master key: encryption key || MAC key.
func (k *Key) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, masterKeySize)
	b = append(b, k.encKey[:]...)
	return append(b, k.macKey[:]...), nil
}

// UnmarshalBinary sets k from the 64 bytes returned by MarshalBinary. It must
// not be called while k is in use by other goroutines.
func (k *Key) UnmarshalBinary(b []byte) error {
	if len(b) != masterKeySize {
		return fmt.Errorf("%w: master key has %d bytes, want %d", ErrKeyFile, len(b), masterKeySize)
	}
	copy(k.encKey[:], b[:keySize])
	copy(k.macKey[:], b[keySize:])
	aead, err := newAEAD(k.encKey[:])
	if err != nil {
		return err
	}
	k.aead = aead
	macKey := k.macKey
	k.macs = &sync.Pool{New: func() any {
		return &macState{h: hmac.New(sha256.New, macKey[:])}
	}}
	return nil
}

// newAEAD returns AES-256-GCM that generates the nonce and prepends it.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("create GCM: %w", err)
	}
	return aead, nil
}
