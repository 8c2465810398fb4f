package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

// Byte layout of an index file; see the package documentation.
const (
	// FileMagic opens every index file.
	FileMagic = "SSIX"
	// FileVersion is the index file format version.
	FileVersion = 1

	fileBlobSize = pack.EntrySize + 4 // header entry, offset u32
	minPackSize  = oid.Size + 8 + 1   // id, size u64, blob count >= 1 byte
	headerSize   = len(FileMagic) + 1 // magic, version
)

// ErrFormat reports a malformed index file. Errors that wrap it say what is
// wrong.
var ErrFormat = errors.New("malformed index file")

type formatError string

func (e formatError) Error() string        { return string(e) }
func (e formatError) Is(target error) bool { return target == ErrFormat }

func errorf(format string, args ...any) error {
	return formatError("index file: " + fmt.Sprintf(format, args...))
}

// File is the content of an index file: the packs it describes and the
// index files it replaces (those may be deleted once this one is stored).
type File struct {
	Supersedes []oid.ID
	Packs      []PackEntry
}

// PackEntry describes one pack in an index file.
type PackEntry struct {
	ID    oid.ID
	Size  int64 // pack file size in bytes
	Blobs []pack.Blob
}

// Encode returns the binary form of f. Blobs must be valid (as DecodeHeader
// returns them), in ascending offset order.
func (f *File) Encode() []byte {
	n := headerSize + 2*binary.MaxVarintLen64 + oid.Size*len(f.Supersedes)
	for _, p := range f.Packs {
		n += minPackSize + binary.MaxVarintLen64 + fileBlobSize*len(p.Blobs)
	}
	b := make([]byte, 0, n)
	b = append(b, FileMagic...)
	b = append(b, FileVersion)
	b = binary.AppendUvarint(b, uint64(len(f.Supersedes)))
	for _, id := range f.Supersedes {
		b = append(b, id[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Packs)))
	for _, p := range f.Packs {
		b = append(b, p.ID[:]...)
		b = binary.LittleEndian.AppendUint64(b, uint64(p.Size))
		b = binary.AppendUvarint(b, uint64(len(p.Blobs)))
		for _, bl := range p.Blobs {
			b = pack.AppendEntry(b, bl)
			b = binary.LittleEndian.AppendUint32(b, bl.Offset)
		}
	}
	return b
}

// DecodeFile parses and validates an index file. Every count is checked
// against the bytes that remain before anything is allocated for it.
func DecodeFile(b []byte) (*File, error) {
	if len(b) < headerSize || string(b[:len(FileMagic)]) != FileMagic {
		return nil, errorf("missing magic %q", FileMagic)
	}
	if v := b[len(FileMagic)]; v != FileVersion {
		return nil, errorf("unsupported version %d", v)
	}
	d := decoder{b: b[headerSize:]}
	f := new(File)
	if n := d.count("superseded files", oid.Size); n > 0 {
		f.Supersedes = make([]oid.ID, n)
		for i := range f.Supersedes {
			f.Supersedes[i] = oid.ID(d.take(oid.Size))
		}
	}
	if n := d.count("packs", minPackSize); n > 0 && d.err == nil {
		f.Packs = make([]PackEntry, n)
		seen := make(map[oid.ID]bool, n)
		for i := 0; i < n && d.err == nil; i++ {
			f.Packs[i] = d.pack()
			if id := f.Packs[i].ID; seen[id] && d.err == nil {
				d.err = errorf("pack %s listed twice", id)
			}
			seen[f.Packs[i].ID] = true
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = errorf("%d bytes of trailing data", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return f, nil
}

// decoder consumes an index file; after the first error it returns zero
// values and keeps the error.
type decoder struct {
	b   []byte
	err error
}

// take returns the next n bytes, or zeros past the end.
func (d *decoder) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		if d.err == nil {
			d.err = errorf("truncated")
		}
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// count reads a minimal uvarint count of items of at least itemSize bytes
// each and checks that the remaining bytes can hold them.
func (d *decoder) count(what string, itemSize int) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n <= 0:
		d.err = errorf("bad count of %s", what)
	case n != len(binary.AppendUvarint(nil, v)):
		d.err = errorf("count of %s is not minimally encoded", what)
	case v > uint64(len(d.b)-n)/uint64(itemSize):
		d.err = errorf("%d %s do not fit in the remaining %d bytes", v, what, len(d.b)-n)
	}
	if d.err != nil {
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

// pack reads one pack and its blobs.
func (d *decoder) pack() PackEntry {
	p := PackEntry{ID: oid.ID(d.take(oid.Size))}
	size := binary.LittleEndian.Uint64(d.take(8))
	if d.err == nil && (size < pack.MinSize || size > math.MaxInt64) {
		d.err = errorf("pack %s: size %d is out of range", p.ID.Short(), size)
	}
	p.Size = int64(size)
	n := d.count("blobs", fileBlobSize)
	if n > 0 {
		p.Blobs = make([]pack.Blob, n)
	}
	var end uint64
	for i := 0; i < n && d.err == nil; i++ {
		p.Blobs[i] = d.blob(p.ID, i, end)
		end = p.Blobs[i].End()
	}
	if need := end + pack.MinSize + pack.EntrySize*uint64(n); d.err == nil && need > size {
		d.err = errorf("pack %s: blobs end at %d, leaving no room for the header in %d bytes", p.ID.Short(), end, size)
	}
	return p
}

// blob reads blob i of pack id, which must start at or after end.
func (d *decoder) blob(id oid.ID, i int, end uint64) pack.Blob {
	e := d.take(pack.EntrySize)
	off := binary.LittleEndian.Uint32(d.take(4))
	if d.err != nil {
		return pack.Blob{}
	}
	b, err := pack.DecodeEntry(e)
	b.Offset = off
	switch {
	case err != nil:
		d.err = errorf("pack %s: entry %d: %v", id.Short(), i, err)
	case uint64(off) < end:
		d.err = errorf("pack %s: blob %d at %d overlaps the previous one, which ends at %d", id.Short(), i, off, end)
	}
	return b
}
