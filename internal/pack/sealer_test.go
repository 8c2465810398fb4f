package pack

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/store"
)

// errTestAuth is the test sealer's authentication failure.
var errTestAuth = errors.New("test sealer: authentication failed")

// testSealer is AES-256-GCM with a fixed key and a counter as nonce source,
// so packs are byte-for-byte reproducible. Never do this outside tests.
type testSealer struct {
	aead  cipher.AEAD
	nonce uint64
}

func newTestSealer(t testing.TB) *testSealer {
	t.Helper()
	var key [32]byte
	for i := range key {
		key[i] = byte(i)
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead: aead}
}

func (s *testSealer) Seal(dst, plaintext, ad []byte) []byte {
	var nonce [12]byte
	s.nonce++
	binary.LittleEndian.PutUint64(nonce[:], s.nonce)
	dst = append(dst, nonce[:]...)
	return s.aead.Seal(dst, nonce[:], plaintext, ad)
}

func (s *testSealer) Open(dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, errTestAuth
	}
	out, err := s.aead.Open(dst, sealed[:12], sealed[12:], ad)
	if err != nil {
		return nil, errTestAuth
	}
	return out, nil
}

// nullSealer adds Overhead zero bytes around the plaintext and checks them
// on Open: it lets fuzzing reach the layout checks behind authentication.
type nullSealer struct{}

func (nullSealer) Seal(dst, plaintext, ad []byte) []byte {
	dst = append(dst, make([]byte, 12)...)
	dst = append(dst, plaintext...)
	return append(dst, make([]byte, 16)...)
}

func (nullSealer) Open(dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, errTestAuth
	}
	pt := sealed[12 : len(sealed)-16]
	for _, c := range append(sealed[:12:12], sealed[len(sealed)-16:]...) {
		if c != 0 {
			return nil, errTestAuth
		}
	}
	return append(dst, pt...), nil
}

// memGetter serves ranged reads from byte slices and counts Gets.
type memGetter struct {
	files map[string][]byte
	gets  int
}

func (m *memGetter) Get(_ context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	m.gets++
	b, ok := m.files[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, store.ErrNotFound)
	}
	if length < 0 {
		length = int64(len(b)) - offset
	}
	if offset < 0 || offset+length > int64(len(b)) {
		return nil, fmt.Errorf("%s: range %d+%d past end %d", name, offset, length, len(b))
	}
	return io.NopCloser(bytes.NewReader(b[offset : offset+length])), nil
}

// testBlob returns deterministic sealed content for blob i of size n.
func testBlob(s Sealer, i, n int) (oid.ID, []byte) {
	plain := bytes.Repeat([]byte{byte(i)}, n)
	id := oid.Hash(plain)
	return id, s.Seal(nil, plain, id[:])
}

// buildPack writes n blobs of varying sizes and types.
func buildPack(t testing.TB, s Sealer, n int) ([]byte, oid.ID, []Blob) {
	t.Helper()
	w := NewWriter(nil)
	for i := range n {
		id, stored := testBlob(s, i, 10+i*7)
		w.Add(BlobType(i%2), id, stored, uint32(10+i*7), false)
	}
	return w.Finish(s)
}

func packName(id oid.ID) string {
	h := id.String()
	return "data/" + h[:2] + "/" + h
}
