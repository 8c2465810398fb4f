package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/seedship/seedship/internal/oid"
)

// Byte layout of a pack file; see the package documentation.
const (
	// Version is the header format version, the first plaintext byte.
	Version = 1
	// VersionSize is the size of the version byte that opens the header.
	VersionSize = 1
	// EntrySize is the size of one header entry.
	EntrySize = 42
	// TrailerSize is the size of the header length at the end of the file.
	TrailerSize = 4
	// Overhead is the sealing overhead (12-byte nonce + 16-byte tag). It
	// must equal crypto.Overhead; pack does not import crypto.
	Overhead = 28
	// MaxRawLength bounds a blob's plaintext length (and thus a tree's
	// encoded size and a chunk's size).
	MaxRawLength = 64 << 20
	// MinHeaderSize is the sealed size of a header with no entries.
	MinHeaderSize = Overhead + VersionSize
	// MinSize is the size of the smallest valid pack: no blobs, empty header.
	MinSize = MinHeaderSize + TrailerSize

	// Field offsets inside an entry.
	entryType      = 0
	entryFlags     = 1
	entryLength    = 2
	entryRawLength = 6
	entryID        = 10

	flagCompressed = 1 << 0
	knownFlags     = flagCompressed
)

// BlobType says what a blob holds.
type BlobType uint8

// Blob types, as stored in the header's type byte.
const (
	DataBlob BlobType = 0 // a chunk of file content
	TreeBlob BlobType = 1 // an encoded directory tree
)

// String returns "data" or "tree".
func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("BlobType(%d)", uint8(t))
}

// Blob describes one stored blob and where it lies in its pack.
type Blob struct {
	Type       BlobType
	ID         oid.ID
	Offset     uint32 // from the start of the pack file
	Length     uint32 // stored length, including the sealing overhead
	RawLength  uint32 // plaintext length
	Compressed bool
}

// End returns the offset just past the blob.
func (b Blob) End() uint64 { return uint64(b.Offset) + uint64(b.Length) }

// ErrFormat reports a malformed pack file or header. Errors that wrap it say
// what is wrong.
var ErrFormat = errors.New("malformed pack")

// formatError is an ErrFormat whose message is only the specific problem, so
// a wrapped error reads "pack data/ab/…: header length 9 exceeds file size 3".
type formatError string

func (e formatError) Error() string        { return string(e) }
func (e formatError) Is(target error) bool { return target == ErrFormat }

func errorf(format string, args ...any) error {
	return formatError(fmt.Sprintf(format, args...))
}

// AppendEntry appends b's 42-byte header entry to dst. Offset is not part of
// the entry.
func AppendEntry(dst []byte, b Blob) []byte {
	var e [EntrySize]byte
	e[entryType] = byte(b.Type)
	if b.Compressed {
		e[entryFlags] = flagCompressed
	}
	binary.LittleEndian.PutUint32(e[entryLength:], b.Length)
	binary.LittleEndian.PutUint32(e[entryRawLength:], b.RawLength)
	copy(e[entryID:], b.ID[:])
	return append(dst, e[:]...)
}

// DecodeEntry decodes and validates one 42-byte entry. Offset is left zero.
func DecodeEntry(e []byte) (Blob, error) {
	if len(e) != EntrySize {
		return Blob{}, errorf("entry is %d bytes, want %d", len(e), EntrySize)
	}
	b := Blob{
		Type:       BlobType(e[entryType]),
		Compressed: e[entryFlags]&flagCompressed != 0,
		Length:     binary.LittleEndian.Uint32(e[entryLength:]),
		RawLength:  binary.LittleEndian.Uint32(e[entryRawLength:]),
		ID:         oid.ID(e[entryID:]),
	}
	switch {
	case b.Type != DataBlob && b.Type != TreeBlob:
		return b, errorf("blob %s: unknown type %d", b.ID.Short(), e[entryType])
	case e[entryFlags]&^knownFlags != 0:
		return b, errorf("blob %s: unknown flags %#02x", b.ID.Short(), e[entryFlags])
	case b.Length < Overhead:
		return b, errorf("blob %s: length %d is below the sealing overhead %d", b.ID.Short(), b.Length, Overhead)
	case b.RawLength > MaxRawLength:
		return b, errorf("blob %s: raw length %d exceeds the limit %d", b.ID.Short(), b.RawLength, MaxRawLength)
	}
	return b, nil
}

// EncodeHeader returns the header plaintext for blobs, in their order.
// Offsets are ignored: they are implied by the order and lengths.
func EncodeHeader(blobs []Blob) []byte {
	h := make([]byte, 0, VersionSize+EntrySize*len(blobs))
	h = append(h, Version)
	for _, b := range blobs {
		h = AppendEntry(h, b)
	}
	return h
}

// DecodeHeader parses and validates a header plaintext and computes each
// blob's offset. It checks the version, every entry (known type and flags,
// length >= Overhead, rawLength <= MaxRawLength) and that all blobs end
// below 4 GiB. Whether they end exactly at the sealed header is checked by
// ReadHeader and DecodePack, which know the file size.
func DecodeHeader(plain []byte) ([]Blob, error) {
	if len(plain) < VersionSize {
		return nil, errorf("empty header")
	}
	if plain[0] != Version {
		return nil, errorf("unsupported header version %d", plain[0])
	}
	body := plain[VersionSize:]
	if len(body)%EntrySize != 0 {
		return nil, errorf("header of %d bytes is not %d + %d*n", len(plain), VersionSize, EntrySize)
	}
	blobs := make([]Blob, len(body)/EntrySize)
	var off uint64
	for i := range blobs {
		b, err := DecodeEntry(body[i*EntrySize : (i+1)*EntrySize])
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		b.Offset = uint32(off)
		off += uint64(b.Length)
		if off > math.MaxUint32 {
			return nil, errorf("entry %d: blob %s ends at %d, beyond 4 GiB", i, b.ID.Short(), off)
		}
		blobs[i] = b
	}
	return blobs, nil
}

// ParseTrailer reads the sealed header's length from the last TrailerSize
// bytes of tail (the end of a file of fileSize bytes) and checks it against
// the file size: the header must have room for its version byte and whole
// entries, fit in the file, and not list more blobs than the bytes before it
// could hold.
func ParseTrailer(tail []byte, fileSize int64) (headerLen uint32, err error) {
	if fileSize < MinSize {
		return 0, errorf("file size %d is below the minimum pack size %d", fileSize, MinSize)
	}
	if len(tail) < TrailerSize {
		return 0, errorf("trailer is %d bytes, want %d", len(tail), TrailerSize)
	}
	headerLen = binary.LittleEndian.Uint32(tail[len(tail)-TrailerSize:])
	hl := int64(headerLen)
	switch {
	case hl > fileSize-TrailerSize:
		return 0, errorf("header length %d exceeds file size %d", hl, fileSize)
	case hl < MinHeaderSize:
		return 0, errorf("header length %d is below the minimum %d", hl, MinHeaderSize)
	case (hl-MinHeaderSize)%EntrySize != 0:
		return 0, errorf("header length %d is not %d + %d*n", hl, MinHeaderSize, EntrySize)
	}
	n := (hl - MinHeaderSize) / EntrySize
	if room := fileSize - TrailerSize - hl; n*Overhead > room {
		return 0, errorf("header lists %d blobs but only %d bytes precede it", n, room)
	}
	return headerLen, nil
}

// checkLayout verifies that blobs end exactly where the sealed header of a
// file of fileSize bytes begins.
func checkLayout(blobs []Blob, fileSize int64, headerLen uint32) error {
	start := uint64(fileSize) - TrailerSize - uint64(headerLen)
	var end uint64
	if len(blobs) > 0 {
		end = blobs[len(blobs)-1].End()
	}
	if end != start {
		return errorf("blobs end at %d but the header starts at %d", end, start)
	}
	return nil
}
