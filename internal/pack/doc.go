// Package pack reads and writes pack files: the objects under data/ that hold
// sealed blobs (file chunks and trees) followed by a sealed header listing
// them.
//
// A pack file is laid out as
//
//	blob_0 | blob_1 | ... | blob_n-1 | sealed header | header length (uint32 LE)
//
// Every blob is stored exactly as the caller sealed it (nonce, ciphertext,
// tag; AD = blob ID). The header is sealed with AD = nil; its plaintext is
//
//	version (1 byte, = 1) | entry_0 | entry_1 | ... | entry_n-1
//
// and every entry is 42 bytes:
//
//	offset  size  field
//	     0     1  type       0 = data, 1 = tree
//	     1     1  flags      bit 0 = compressed (zstd); other bits must be 0
//	     2     4  length     stored length in the pack, uint32 LE, >= 28
//	     6     4  rawLength  plaintext length, uint32 LE, <= 64 MiB
//	    10    32  id         blob ID
//
// Offsets are not stored: blob i starts where blob i-1 ends, blob 0 at 0,
// and the last blob ends exactly where the sealed header begins. So the
// sealed header is 28+1+42n bytes long, and a file of size S holds
// S = sum(length) + 28+1+42n + 4 bytes. The file's name is the SHA-256 of
// all its bytes, so anyone can verify a pack without the key.
//
// Readers need only two ranged reads (the tail, then, for big headers, the
// rest of the header) and never trust a length before checking it against
// the file size.
package pack
