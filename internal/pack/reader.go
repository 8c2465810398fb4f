package pack

import (
	"context"
	"fmt"
	"io"

	"github.com/seedship/seedship/internal/store"
)

// speculativeEntries is how many header entries ReadHeader's first read
// covers, so that packs of up to this many blobs need a single Get.
const speculativeEntries = 64

// speculativeSize is the length of ReadHeader's first ranged read.
const speculativeSize = TrailerSize + MinHeaderSize + EntrySize*speculativeEntries

// ReadHeader reads, opens and validates the header of the pack file name of
// size bytes using ranged reads only: one Get of the file's tail, and a
// second one only when the header is longer than that tail. Malformed files
// give errors wrapping ErrFormat; a header that fails authentication gives
// the Sealer's error.
func ReadHeader(ctx context.Context, g store.Getter, name string, size int64, s Sealer) ([]Blob, error) {
	if size < MinSize {
		return nil, fmt.Errorf("pack %s: %w", name, errorf("file size %d is below the minimum pack size %d", size, MinSize))
	}
	n := min(size, speculativeSize)
	tail, err := readRange(ctx, g, name, size-n, n)
	if err != nil {
		return nil, err
	}
	hl, err := ParseTrailer(tail, size)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", name, err)
	}
	var sealed []byte
	if need := int64(hl) + TrailerSize; need <= n {
		sealed = tail[n-need : n-TrailerSize]
	} else if sealed, err = readRange(ctx, g, name, size-need, int64(hl)); err != nil {
		return nil, err
	}
	blobs, err := openHeader(sealed, size, hl, s)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", name, err)
	}
	return blobs, nil
}

// DecodePack returns the blobs of a whole pack file held in memory, with the
// same checks as ReadHeader.
func DecodePack(data []byte, s Sealer) ([]Blob, error) {
	size := int64(len(data))
	hl, err := ParseTrailer(data, size)
	if err != nil {
		return nil, err
	}
	return openHeader(data[size-TrailerSize-int64(hl):size-TrailerSize], size, hl, s)
}

// openHeader opens and decodes the sealed header of a file of size bytes
// and checks that the blobs fill the file up to the header.
func openHeader(sealed []byte, size int64, hl uint32, s Sealer) ([]Blob, error) {
	plain, err := s.Open(nil, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("open header: %w", err)
	}
	blobs, err := DecodeHeader(plain)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(blobs, size, hl); err != nil {
		return nil, err
	}
	return blobs, nil
}

// readRange reads exactly length bytes of name from offset on.
func readRange(ctx context.Context, g store.Getter, name string, offset, length int64) ([]byte, error) {
	rc, err := g.Get(ctx, name, offset, length)
	if err != nil {
		return nil, fmt.Errorf("pack %s: read %d bytes at %d: %w", name, length, offset, err)
	}
	defer rc.Close()
	buf := make([]byte, length)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("pack %s: read %d bytes at %d: %w", name, length, offset, err)
	}
	return buf, nil
}
