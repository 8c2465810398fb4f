package checker

import (
	"context"
	"fmt"
	"slices"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
)

// packInfo is what the index files say about one pack.
type packInfo struct {
	size  int64
	blobs []pack.Blob // sorted by offset
	file  oid.ID      // the first index file that lists the pack
}

// loadIndex reads every index file, checks each pack entry on its own
// (ranges inside the file, no overlaps) and against the other files that
// list the same pack, and builds the lookup index used by the tree walk.
// A file that another present file supersedes is read (it must decode) and
// reported as a warning, but its packs are not checked: they may have been
// dropped on purpose (repacked by an interrupted prune, or lost and dropped
// by DropPacks), and readers skip the file as check does.
func (c *checker) loadIndex(ctx context.Context) error {
	ids, err := c.r.List(ctx, "index")
	if err != nil {
		return err
	}
	slices.SortFunc(ids, compareIDs)
	files := make([]*index.File, len(ids))
	err = c.forEach(ctx, "index", 0, len(ids), len(ids), func(i int) {
		f, err := c.r.LoadIndexFile(ctx, ids[i])
		if err != nil {
			c.addError("index "+ids[i].String(), fmt.Errorf("%w: %w", ErrIndexFile, err))
			return
		}
		files[i] = f
	})
	if err != nil {
		return err
	}
	c.packs = make(map[oid.ID]*packInfo)
	c.lookup = index.New()
	superseded := index.Superseded(ids, files)
	for i, f := range files {
		if f == nil {
			continue
		}
		c.rep.IndexFiles++
		if by, ok := superseded[ids[i]]; ok {
			c.warnf("index "+ids[i].String(), ErrSuperseded, "superseded by index %s", by)
			continue
		}
		for _, pe := range f.Packs {
			c.addPack(ids[i], pe)
		}
	}
	c.lookup.Finalize()
	return nil
}

// addPack records one pack entry of index file, or compares it with the
// entry an earlier file gave for the same pack.
func (c *checker) addPack(file oid.ID, pe index.PackEntry) {
	name := "pack " + repo.PackName(pe.ID)
	blobs := slices.Clone(pe.Blobs)
	slices.SortFunc(blobs, func(a, b pack.Blob) int { return int(int64(a.Offset) - int64(b.Offset)) })
	if prev, ok := c.packs[pe.ID]; ok {
		if prev.size != pe.Size || !slices.Equal(prev.blobs, blobs) {
			c.errorf(name, ErrIndexConflict, "index %s and index %s list it differently", prev.file, file)
		}
		return
	}
	c.checkRanges(name, file, pe.Size, blobs)
	c.packs[pe.ID] = &packInfo{size: pe.Size, blobs: blobs, file: file}
	c.lookup.AddPack(pe.ID, blobs)
	c.rep.Packs++
	c.rep.Blobs += len(blobs)
}

// checkRanges reports blobs (sorted by offset) that overlap each other or
// reach past the end of a pack of size bytes.
func (c *checker) checkRanges(name string, file oid.ID, size int64, blobs []pack.Blob) {
	var end uint64
	for i, b := range blobs {
		if i > 0 && uint64(b.Offset) < end {
			c.errorf(name, ErrOverlap, "index %s: blob %s at %d overlaps blob %s ending at %d",
				file, b.ID.Short(), b.Offset, blobs[i-1].ID.Short(), end)
		}
		end = max(end, b.End())
	}
	if limit := size - pack.MinSize; int64(end) > limit {
		c.errorf(name, ErrOverlap, "index %s: blobs end at %d, beyond the %d bytes a pack of %d bytes can hold",
			file, end, max(limit, 0), size)
	}
}

func compareIDs(a, b oid.ID) int { return slices.Compare(a[:], b[:]) }
