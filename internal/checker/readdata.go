package checker

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/repo"
)

// readData reads the packs chosen by the options in full.
func (c *checker) readData(ctx context.Context) error {
	ids := c.packsToRead()
	return c.forEach(ctx, "read data", 0, len(ids), len(ids), func(i int) {
		c.readPack(ctx, ids[i])
	})
}

// packsToRead returns all present packs for ReadData, a seeded random
// subset for ReadDataSubset, or none.
func (c *checker) packsToRead() []oid.ID {
	all := c.present
	switch {
	case c.o.ReadData:
		return all
	case c.o.ReadDataSubset <= 0 || len(all) == 0:
		return nil
	}
	k := min(len(all), int(math.Ceil(c.o.ReadDataSubset*float64(len(all)))))
	ids := slices.Clone(all)
	rng := rand.New(rand.NewPCG(c.o.Seed, 0x5eed5eed5eed5eed))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:k]
	slices.SortFunc(ids, compareIDs)
	return ids
}

// readPack streams one pack through SHA-256 into a buffer of its size,
// compares the hash with its name, and decodes every indexed blob from the
// buffer, checking that it hashes to its ID. A pack whose hash is wrong is
// still decoded, to tell which blobs are damaged.
func (c *checker) readPack(ctx context.Context, id oid.ID) {
	info := c.packs[id]
	name := repo.PackName(id)
	data, err := c.readWhole(ctx, name, info.size)
	defer c.putBuf(data)
	switch {
	case errors.Is(err, ErrPackHash):
		c.addError("pack "+name, err) // go on to find the damaged blobs
	case err != nil:
		c.addError("pack "+name, fmt.Errorf("%w: %w", ErrPackRead, err))
		return
	}
	c.mu.Lock()
	c.rep.PacksRead++
	c.rep.BytesRead += int64(len(data))
	c.mu.Unlock()
	var plain []byte
	for _, b := range info.blobs {
		if b.End() > uint64(len(data)) {
			continue // reported as ErrOverlap by the index check
		}
		e := index.Entry{Pack: id, Blob: b}
		plain, err = c.r.DecodeBlob(e, data[b.Offset:b.End()], plain)
		if err != nil {
			c.addError("pack "+name, fmt.Errorf("%w: %s blob %s: %w", ErrBlob, b.Type, b.ID.Short(), err))
			continue
		}
		if got := c.r.Key().BlobID(plain); got != b.ID {
			c.errorf("pack "+name, ErrBlob, "%s blob %s: content hashes to %s", b.Type, b.ID.Short(), got.Short())
		}
	}
}

// readWhole reads name (size bytes) into a pooled buffer, hashing as it
// reads. Its errors wrap ErrPackHash when the hash is not the pack's name.
func (c *checker) readWhole(ctx context.Context, name string, size int64) ([]byte, error) {
	rc, err := c.r.Store().Get(ctx, name, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := c.getBuf(size)
	h := sha256.New()
	if _, err := io.ReadFull(io.TeeReader(rc, h), data); err != nil {
		return data, err
	}
	if n, _ := io.Copy(io.Discard, rc); n > 0 {
		return data, fmt.Errorf("%d bytes more than the %d the index records", n, size)
	}
	id, _ := repo.PackIDFromName(name)
	if got := oid.ID(h.Sum(nil)); got != id {
		return data, fmt.Errorf("%w: content hashes to %s", ErrPackHash, got)
	}
	return data, nil
}

func (c *checker) getBuf(size int64) []byte {
	if b, ok := c.bufs.Get().(*[]byte); ok && int64(cap(*b)) >= size {
		return (*b)[:size]
	}
	return make([]byte, size)
}

func (c *checker) putBuf(b []byte) {
	if b != nil {
		c.bufs.Put(&b)
	}
}
