package checker

import (
	"context"
	"fmt"
	"slices"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/store"
)

// checkPacks compares the packs in the store with the packs in the index:
// every indexed pack must exist with the recorded size and its header must
// list exactly the indexed blobs; a stored pack no index lists is a
// warning.
func (c *checker) checkPacks(ctx context.Context) error {
	stored, err := c.listPacks(ctx)
	if err != nil {
		return err
	}
	var toRead []oid.ID
	c.missing = make(map[oid.ID]bool)
	for _, id := range sortedKeys(c.packs) {
		info := c.packs[id]
		size, ok := stored[id]
		switch {
		case !ok:
			c.errorf("pack "+repo.PackName(id), ErrMissingPack, "listed by index %s", info.file)
			c.missing[id] = true
		case size != info.size:
			c.errorf("pack "+repo.PackName(id), ErrPackSize, "%d bytes in the store, index %s says %d", size, info.file, info.size)
		default:
			toRead = append(toRead, id)
		}
	}
	for _, id := range sortedKeys(stored) {
		if _, ok := c.packs[id]; !ok {
			c.warnf("pack "+repo.PackName(id), ErrUnreferencedPack, "")
		}
	}
	c.present = toRead
	return c.checkHeaders(ctx, toRead)
}

// listPacks returns the size of every pack in the store, warning about
// objects under data/ that are not named like packs.
func (c *checker) listPacks(ctx context.Context) (map[oid.ID]int64, error) {
	stored := make(map[oid.ID]int64)
	err := c.r.Store().List(ctx, "data/", func(fi store.Info) error {
		id, err := repo.PackIDFromName(fi.Name)
		if err != nil {
			c.warnf(fi.Name, ErrStrayObject, "not a pack name")
			return nil
		}
		stored[id] = fi.Size
		return nil
	})
	return stored, err
}

// checkHeaders reads the header of every pack in ids with ranged reads and
// compares it with the index.
func (c *checker) checkHeaders(ctx context.Context, ids []oid.ID) error {
	return c.forEach(ctx, "packs", 0, len(ids), len(ids), func(i int) {
		id := ids[i]
		info := c.packs[id]
		name := repo.PackName(id)
		blobs, err := pack.ReadHeader(ctx, c.r.Store(), name, info.size, c.r.Key())
		if err != nil {
			c.addError("pack "+name, fmt.Errorf("%w: %w", ErrPackHeader, err))
			return
		}
		if msg := diffBlobs(info.blobs, blobs); msg != "" {
			c.errorf("pack "+name, ErrHeaderMismatch, "index %s: %s", info.file, msg)
		}
	})
}

// diffBlobs describes the first difference between the index's blobs and
// the header's (both in offset order), or returns "".
func diffBlobs(indexed, header []pack.Blob) string {
	for i := range min(len(indexed), len(header)) {
		if a, b := indexed[i], header[i]; a != b {
			return fmt.Sprintf("entry %d: index has %s, header has %s", i, describe(a), describe(b))
		}
	}
	switch {
	case len(indexed) > len(header):
		return "index lists " + describe(indexed[len(header)]) + ", which the header lacks"
	case len(header) > len(indexed):
		return "header lists " + describe(header[len(indexed)]) + ", which the index lacks"
	}
	return ""
}

func describe(b pack.Blob) string {
	return fmt.Sprintf("%s blob %s at %d+%d (raw %d, compressed %v)", b.Type, b.ID.Short(), b.Offset, b.Length, b.RawLength, b.Compressed)
}

func sortedKeys[V any](m map[oid.ID]V) []oid.ID {
	keys := make([]oid.ID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareIDs)
	return keys
}
