package storetest

import "io"

// GenReader returns a reader of size deterministic pseudo-random bytes that
// does not hold them: a 1 MiB block derived from seed, each copy stamped
// with its index. Two readers with the same seed and size yield the same
// bytes.
func GenReader(seed byte, size int64) io.Reader {
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i*7+int(seed)) ^ byte(i>>8*13)
	}
	return &genReader{block: block, size: size}
}

type genReader struct {
	block []byte
	off   int64
	size  int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.size-g.off)]
	n := 0
	for n < len(p) {
		i := int(g.off % int64(len(g.block)))
		c := copy(p[n:], g.block[i:])
		if i < 8 { // stamp the block index into its first bytes
			idx := g.off / int64(len(g.block))
			for j := i; j < 8 && j-i < c; j++ {
				p[n+j-i] ^= byte(idx >> (8 * j))
			}
		}
		n += c
		g.off += int64(c)
	}
	return n, nil
}

// OnlyReader hides io.Seeker, io.WriterTo and friends of r, so that a
// store must read it in parts.
func OnlyReader(r io.Reader) io.Reader { return onlyReader{r} }
