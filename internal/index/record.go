package index

import (
	"bytes"
	"encoding/binary"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

// Layout of an in-memory record; see the package documentation.
const (
	// PrefixLen is how many leading bytes of a blob ID the index keeps.
	PrefixLen = 24

	fanoutBytes = 2                      // ID bytes implied by the fanout bucket
	fanoutSize  = 1 << (8 * fanoutBytes) // number of buckets
	keyLen      = PrefixLen - fanoutBytes

	recKey    = 0
	recPack   = recKey + keyLen // 22
	recOffset = recPack + 4     // 26
	recLength = recOffset + 4   // 30: uint24, bit 23 = compressed
	recRaw    = recLength + 3   // 33: uint24, bit 23 = tree
	recSize   = recRaw + 3      // 36

	// maxField is the largest 23-bit value; a record holding it in its
	// length fields keeps the real lengths in the overflow map.
	maxField = 1<<23 - 1
	flagBit  = 1 << 23
)

// rec is one slab record.
type rec [recSize]byte

// prec is a pending record, which carries its fanout bucket.
type prec struct {
	bucket uint16
	r      rec
}

// pkey is the key of the pending map.
type pkey struct {
	prefix [PrefixLen]byte
	t      pack.BlobType
}

func bucketOf(id *oid.ID) int { return int(id[0])<<8 | int(id[1]) }

func makePkey(t pack.BlobType, id *oid.ID) pkey {
	return pkey{prefix: [PrefixLen]byte(id[:PrefixLen]), t: t}
}

// makeRec builds b's record in pack packNo and reports whether its lengths
// need the overflow map.
func makeRec(packNo uint32, b *pack.Blob) (r rec, overflow bool) {
	copy(r[recKey:recPack], b.ID[fanoutBytes:PrefixLen])
	binary.LittleEndian.PutUint32(r[recPack:], packNo)
	binary.LittleEndian.PutUint32(r[recOffset:], b.Offset)
	length, raw := b.Length, b.RawLength
	if length >= maxField || raw >= maxField {
		length, raw, overflow = maxField, maxField, true
	}
	if b.Compressed {
		length |= flagBit
	}
	if b.Type == pack.TreeBlob {
		raw |= flagBit
	}
	put24(r[recLength:], length)
	put24(r[recRaw:], raw)
	return r, overflow
}

func put24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }

func get24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

func (r *rec) packNo() uint32 { return binary.LittleEndian.Uint32(r[recPack:]) }
func (r *rec) offset() uint32 { return binary.LittleEndian.Uint32(r[recOffset:]) }
func (r *rec) length() uint32 { return get24(r[recLength:]) &^ flagBit }
func (r *rec) raw() uint32    { return get24(r[recRaw:]) &^ flagBit }
func (r *rec) compressed() bool {
	return get24(r[recLength:])&flagBit != 0
}

func (r *rec) typ() pack.BlobType {
	if get24(r[recRaw:])&flagBit != 0 {
		return pack.TreeBlob
	}
	return pack.DataBlob
}

// bigKey is the overflow map key of a record.
func (r *rec) bigKey() uint64 { return bigKey(r.packNo(), r.offset()) }

func bigKey(packNo, offset uint32) uint64 { return uint64(packNo)<<32 | uint64(offset) }

// compareKey orders a record against (key, t): by ID bytes, then type.
func compareKey(r *rec, key []byte, t pack.BlobType) int {
	if c := bytes.Compare(r[recKey:recPack], key); c != 0 {
		return c
	}
	return int(r.typ()) - int(t)
}

// comparePending orders pending records by bucket, ID bytes and type.
func comparePending(a, b prec) int {
	if a.bucket != b.bucket {
		return int(a.bucket) - int(b.bucket)
	}
	return compareKey(&a.r, b.r[recKey:recPack], b.r.typ())
}
