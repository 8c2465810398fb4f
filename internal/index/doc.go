// Package index maps blob IDs to their place in pack files: in memory (Index)
// and in the index files stored under index/ (File).
//
// # In memory
//
// An Index must hold tens of millions of blobs, so it keeps one fixed-size
// 36-byte record per (pack, blob) pair in a slab sorted by ID, plus pack IDs
// in a side table. A record keys the blob by the first PrefixLen (24) bytes
// of its ID: the first two select one of 65536 buckets of a fanout table
// (like a git pack index), the other 22 are stored:
//
//	offset  size  field
//	     0    22  id[2:24]
//	    22     4  pack number, uint32 LE (position in the pack table)
//	    26     4  offset in the pack, uint32 LE
//	    30     3  length, uint24 LE; bit 23 = compressed
//	    33     3  rawLength, uint24 LE; bit 23 = tree blob
//
// Lengths of up to 2^23-2 bytes (8 MiB; chunks are at most 4 MiB) fit the
// record. A larger length or rawLength (big trees: the pack format allows
// 64 MiB) is stored as 2^23-1 in both fields, with the real values in a small
// overflow map keyed by (pack number, offset). So every valid pack.Blob is
// represented exactly; no limit is silently exceeded.
//
// The prefix is a safe key: blob IDs are keyed hashes (HMAC-SHA256), so two
// blobs share a 192-bit prefix with probability about n²/2^193, negligible
// for any n that fits in memory; and every blob read is still checked
// against the full ID, which is the AEAD additional data.
//
// Memory per blob is the 36-byte record plus a share of the pack table (44
// bytes per pack: ID, sorted position, file size) and of the 256 KiB fanout
// table: 38.5 bytes at 1,000,000 blobs in 50,000 packs (see
// TestMemoryPerEntry).
//
// (type, ID) is the key: the same ID may be indexed once as data and once as
// tree. The same blob in several packs gets one record per pack; Lookup
// returns the one added first, LookupAll all of them. Adding a pack that is
// already indexed does nothing.
//
// New records go to an unsorted pending slice with a map for lookups. They
// are sorted and merged into the slab by Finalize, or automatically when the
// pending part grows beyond max(65536, 1/16 of the slab), which keeps the
// total merge cost linear.
//
// # Index files
//
// An index file (the plaintext of an object under index/, sealed with AD =
// nil) lists packs and their blobs. All integers are little endian; counts
// are unsigned varints (encoding/binary, minimal encoding required):
//
//	"SSIX"                       magic, 4 bytes
//	version                      1 byte, = 1
//	uvarint n                    number of superseded index files
//	n × id[32]                   their IDs (names)
//	uvarint m                    number of packs
//	m × pack:
//	    id[32]                   pack ID (SHA-256 of the pack file)
//	    size u64                 pack file size
//	    uvarint k                number of blobs
//	    k × blob (46 bytes):
//	        entry[42]            the blob's pack header entry (see package pack)
//	        offset u32           the blob's offset in the pack file
//
// Nothing may follow. A pack appears at most once per file; its blobs are in
// ascending, non-overlapping offset order and end at least 29+42k+4 bytes
// before the end of the pack (room for a header listing them and the
// trailer). DecodeFile checks every count against the bytes left before it
// allocates.
package index
