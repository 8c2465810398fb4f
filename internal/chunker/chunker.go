// Package chunker splits a stream into content-defined chunks with FastCDC
// (Xia et al., USENIX ATC 2016), so that an insertion or deletion changes only
// the chunks around it and the rest still deduplicate.
//
// A gear hash rolls over the data: h = h<<1 + gear[b]. A chunk ends after the
// byte at which the masked bits of h are all zero. Normalized chunking
// (level 2) uses a mask of log2(AvgSize)+2 bits before the normal size and one
// of log2(AvgSize)-2 bits after it, which narrows the size distribution. The
// first MinSize bytes of a chunk are not hashed at all.
//
// The gear table is derived from a per-repository seed, so chunk boundaries,
// and therefore the sizes of stored chunks, do not fingerprint a known file
// across repositories. Boundaries are part of the repository format: the table
// derivation, the masks and normalSize must never change.
package chunker

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"slices"
)

// Chunk size bounds. Every chunk but the last of a stream is longer than
// MinSize and at most MaxSize; the mean over random data is AvgSize.
const (
	MinSize = 256 << 10
	AvgSize = 1 << 20
	MaxSize = 4 << 20
)

const (
	// normalSize is where the strict mask gives way to the loose one. FastCDC
	// puts it at AvgSize, which with the MinSize skip makes the mean chunk
	// 1.14 MiB; at 843 KiB the mean is AvgSize (see TestExpectedMean).
	normalSize = 843 << 10

	// The masks select bits 62 and below: with h = h<<1 + gear[b], bit i
	// depends on the last i+1 bytes, so high bits see the widest window.
	// Bit 63 is left out so that a loop hashing two bytes per step (with a
	// table of gear<<1) can test the same bits shifted left by one.
	bitsStrict = 22 // log2(AvgSize) + 2
	bitsLoose  = 18 // log2(AvgSize) - 2
	maskStrict = (1<<bitsStrict - 1) << (63 - bitsStrict)
	maskLoose  = (1<<bitsLoose - 1) << (63 - bitsLoose)

	// readSize is the largest single Read. Bytes read past a boundary are
	// copied out and back in, so smaller reads copy less but call Read more.
	readSize = 256 << 10

	// maxEmptyReads is how many (0, nil) reads in a row mean a broken reader.
	maxEmptyReads = 100
)

// gearLabel separates the gear table derivation from any other use of SHA-256.
const gearLabel = "seedship chunker gear table v1"

// Chunker splits one stream at a time into chunks. It is not safe for
// concurrent use; use one Chunker per goroutine.
type Chunker struct {
	gear  [256]uint64
	gear2 [256]uint64 // gear << 1, for roll
	r     io.Reader
	carry []byte // bytes read past the last boundary: the next chunk's start
	err   error  // first error from r; io.EOF once r is drained
	empty int    // consecutive (0, nil) reads
}

// New returns a Chunker that reads from r with the gear table derived from
// seed.
func New(r io.Reader, seed uint64) *Chunker {
	c := &Chunker{gear: gearTable(seed)}
	for i, g := range c.gear {
		c.gear2[i] = g << 1
	}
	c.Reset(r)
	return c
}

// Reset makes c read a new stream from r, keeping its seed and buffers.
func (c *Chunker) Reset(r io.Reader) {
	c.r = r
	c.carry = c.carry[:0]
	c.err = nil
	c.empty = 0
}

// Next reads the next chunk, appends it to dst[:0] and returns it. Pass the
// previous chunk's buffer as dst to avoid allocation: its capacity grows to at
// most MaxSize. After the last chunk Next returns io.EOF; an error from the
// reader is returned as is, and again on every later call.
func (c *Chunker) Next(dst []byte) ([]byte, error) {
	buf := append(dst[:0], c.carry...)
	c.carry = c.carry[:0]
	var h uint64
	hashed := MinSize // the first MinSize bytes are never hashed
	for {
		if len(buf) > hashed {
			var cut int
			cut, h = c.find(buf, hashed, h)
			if cut > 0 {
				return c.split(buf, cut), nil
			}
			hashed = len(buf)
		}
		if len(buf) >= MaxSize {
			return c.split(buf, MaxSize), nil
		}
		if c.err != nil {
			return c.end(buf)
		}
		buf = c.fill(buf)
	}
}

// split keeps buf[cut:] for the next chunk and returns buf[:cut].
func (c *Chunker) split(buf []byte, cut int) []byte {
	c.carry = append(c.carry, buf[cut:]...)
	return buf[:cut]
}

// end returns what is left once the reader has failed or is drained.
func (c *Chunker) end(buf []byte) ([]byte, error) {
	if c.err != io.EOF {
		return buf[:0], c.err
	}
	if len(buf) == 0 {
		return buf, io.EOF
	}
	return buf, nil
}

// fill reads once from the reader into buf, never past MaxSize, and records
// the reader's error.
func (c *Chunker) fill(buf []byte) []byte {
	n := readSize
	if len(buf) < MinSize {
		n = MinSize - len(buf) // will not be hashed: read it in one go
	}
	n = min(n, MaxSize-len(buf))
	buf = slices.Grow(buf, n)
	got, err := c.r.Read(buf[len(buf) : len(buf)+n])
	buf = buf[:len(buf)+got]
	switch {
	case err != nil:
		c.err = err
	case got > 0:
		c.empty = 0
	default:
		c.empty++
		if c.empty >= maxEmptyReads {
			c.err = io.ErrNoProgress
		}
	}
	return buf
}

// find hashes buf[start:min(len(buf), MaxSize)] continuing from h, and
// returns the end of the chunk (the index after the byte whose hash matched
// the mask), or -1 and the hash so far if no boundary was found.
func (c *Chunker) find(buf []byte, start int, h uint64) (int, uint64) {
	end := min(len(buf), MaxSize)
	if start < normalSize {
		stop := min(end, normalSize)
		n, h2 := roll(&c.gear, &c.gear2, buf[start:stop], h, maskStrict)
		if n >= 0 {
			return start + n, h2
		}
		h, start = h2, stop
	}
	n, h := roll(&c.gear, &c.gear2, buf[start:end], h, maskLoose)
	if n >= 0 {
		return start + n, h
	}
	return -1, h
}

// roll continues the gear hash h over s and returns the index after the
// first byte at which h&mask == 0, or -1 and the hash of all of s. It hashes
// two bytes per step (FastCDC 2020): with gear2 = gear<<1,
// h<<2 + gear2[a] is the hash after byte a shifted left by one, tested
// against mask<<1, which loses nothing because mask leaves bit 63 clear.
func roll(gear, gear2 *[256]uint64, s []byte, h, mask uint64) (int, uint64) {
	i := 0
	for ; i < len(s)-1; i += 2 { // this form proves s[i+1] in bounds
		h = h<<2 + gear2[s[i]]
		if h&(mask<<1) == 0 {
			return i + 1, h
		}
		h += gear[s[i+1]]
		if h&mask == 0 {
			return i + 2, h
		}
	}
	if i < len(s) {
		h = h<<1 + gear[s[i]]
		if h&mask == 0 {
			return i + 1, h
		}
	}
	return -1, h
}

// gearTable derives the 256 gear values from seed: block j of SHA-256 in
// counter mode, SHA-256(gearLabel || seed (8 bytes LE) || j (4 bytes LE)),
// gives values 4j..4j+3 as little-endian uint64s.
func gearTable(seed uint64) [256]uint64 {
	var g [256]uint64
	in := make([]byte, 0, len(gearLabel)+12)
	in = append(in, gearLabel...)
	in = binary.LittleEndian.AppendUint64(in, seed)
	for j := range len(g) / 4 {
		sum := sha256.Sum256(binary.LittleEndian.AppendUint32(in, uint32(j)))
		for k := range 4 {
			g[4*j+k] = binary.LittleEndian.Uint64(sum[8*k:])
		}
	}
	return g
}
