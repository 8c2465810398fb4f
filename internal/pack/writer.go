package pack

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/seedship/seedship/internal/oid"
)

// Sealer seals and opens with an AEAD whose overhead is Overhead bytes;
// *crypto.Key implements it.
type Sealer interface {
	// Seal appends nonce||ciphertext||tag of plaintext to dst.
	Seal(dst, plaintext, ad []byte) []byte
	// Open appends the plaintext of sealed to dst, or fails authentication.
	Open(dst, sealed, ad []byte) ([]byte, error)
}

// Writer builds one pack file in memory. It is not safe for concurrent use.
type Writer struct {
	buf   []byte
	blobs []Blob
}

// NewWriter returns a Writer that reuses buf's capacity for the pack bytes.
func NewWriter(buf []byte) *Writer {
	return &Writer{buf: buf[:0]}
}

// Add appends an already sealed blob. stored is copied. rawLength is the
// plaintext length and compressed says whether the plaintext was compressed
// before sealing.
//
// Add panics when the blob breaks the format (unknown type, stored shorter
// than Overhead, rawLength above MaxRawLength) or the pack would grow past
// 4 GiB: those are bugs in the caller, which decides when to Finish.
func (w *Writer) Add(t BlobType, id oid.ID, stored []byte, rawLength uint32, compressed bool) {
	switch {
	case t != DataBlob && t != TreeBlob:
		panic(fmt.Sprintf("pack: Add blob %s: unknown type %d", id.Short(), t))
	case len(stored) < Overhead:
		panic(fmt.Sprintf("pack: Add blob %s: %d stored bytes, below the overhead %d", id.Short(), len(stored), Overhead))
	case rawLength > MaxRawLength:
		panic(fmt.Sprintf("pack: Add blob %s: raw length %d exceeds %d", id.Short(), rawLength, MaxRawLength))
	case uint64(len(w.buf))+uint64(len(stored)) > math.MaxUint32:
		panic(fmt.Sprintf("pack: Add blob %s: pack would exceed 4 GiB", id.Short()))
	}
	w.blobs = append(w.blobs, Blob{
		Type:       t,
		ID:         id,
		Offset:     uint32(len(w.buf)),
		Length:     uint32(len(stored)),
		RawLength:  rawLength,
		Compressed: compressed,
	})
	w.buf = append(w.buf, stored...)
}

// Size returns the size the pack file would have if finished now.
func (w *Writer) Size() int {
	return len(w.buf) + MinHeaderSize + EntrySize*len(w.blobs) + TrailerSize
}

// Count returns the number of blobs added.
func (w *Writer) Count() int { return len(w.blobs) }

// Finish seals the header with s (AD = nil), appends it and its length, and
// returns the whole file, its ID (the SHA-256 of data, which names the pack)
// and the blobs with their offsets. data shares the buffer given to
// NewWriter. The Writer is left empty, without a buffer; to reuse the memory
// once data is stored, call NewWriter(data).
func (w *Writer) Finish(s Sealer) (data []byte, id oid.ID, blobs []Blob) {
	start := len(w.buf)
	data = s.Seal(w.buf, EncodeHeader(w.blobs), nil)
	data = binary.LittleEndian.AppendUint32(data, uint32(len(data)-start))
	blobs = w.blobs
	w.buf, w.blobs = nil, nil
	return data, oid.Hash(data), blobs
}

// Blobs returns the blobs added so far (offsets relative to the pack start).
func (w *Writer) Blobs() []Blob { return w.blobs }
