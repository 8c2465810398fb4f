package index

import (
	"fmt"
	"sort"
	"sync"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

// minMerge is the least number of pending records that triggers a merge.
const minMerge = 1 << 16

// Entry says where a blob is stored.
type Entry struct {
	Pack oid.ID // the pack file's ID
	pack.Blob
}

// Index is the in-memory map from (type, blob ID) to pack locations. It is
// safe for concurrent use: many readers and writers, which serialize.
type Index struct {
	mu sync.RWMutex

	main []rec    // sorted by (ID prefix, type), ties in insertion order
	fan  []uint32 // fanoutSize+1 bounds into main per bucket; nil when main is empty

	pend      []prec         // records added since the last merge, unsorted
	pendFirst map[pkey]int32 // first pend position per key

	big map[uint64][2]uint32 // bigKey -> length, rawLength of records holding maxField

	packs      []oid.ID          // pack number -> pack ID
	packSizes  []int64           // pack number -> pack file size, -1 when unknown
	packSorted []uint32          // numbers of packs[:len(packSorted)], sorted by ID
	packPend   map[oid.ID]uint32 // packs added since the last merge
}

// New returns an empty Index.
func New() *Index { return &Index{} }

// AddPack records the blobs of pack packID, with their offsets; the pack's
// size stays unknown (see AddPackEntry). It does nothing if packID is already
// indexed. It panics on a blob type other than pack.DataBlob and
// pack.TreeBlob, which no decoder returns.
func (x *Index) AddPack(packID oid.ID, blobs []pack.Blob) {
	x.addPack(packID, -1, blobs)
}

// AddPackEntry records a pack as an index file describes it: its blobs, as
// AddPack does, and its file size, which PackSize returns.
func (x *Index) AddPackEntry(pe PackEntry) {
	x.addPack(pe.ID, pe.Size, pe.Blobs)
}

func (x *Index) addPack(packID oid.ID, size int64, blobs []pack.Blob) {
	for i := range blobs {
		if t := blobs[i].Type; t != pack.DataBlob && t != pack.TreeBlob {
			panic(fmt.Sprintf("index: AddPack %s: blob %s has unknown type %d", packID.Short(), blobs[i].ID.Short(), t))
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.packNumber(packID); ok {
		return
	}
	no := uint32(len(x.packs)) // 2^32 packs would be 64 PiB at 16 MiB each
	x.packs = append(x.packs, packID)
	x.packSizes = append(x.packSizes, size)
	if x.packPend == nil {
		x.packPend = make(map[oid.ID]uint32)
	}
	x.packPend[packID] = no
	for i := range blobs {
		x.addBlob(no, &blobs[i])
	}
	if len(x.pend) > max(minMerge, len(x.main)/16) {
		x.merge()
	}
}

// Reset empties the index, keeping it usable: whoever holds it sees the
// packs added afterwards. A repository reloads its index this way after
// dropping packs from it.
func (x *Index) Reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.main, x.fan, x.pend, x.pendFirst, x.big = nil, nil, nil, nil, nil
	x.packs, x.packSizes, x.packSorted, x.packPend = nil, nil, nil, nil
}

func (x *Index) addBlob(packNo uint32, b *pack.Blob) {
	r, overflow := makeRec(packNo, b)
	if overflow {
		if x.big == nil {
			x.big = make(map[uint64][2]uint32)
		}
		x.big[r.bigKey()] = [2]uint32{b.Length, b.RawLength}
	}
	k := makePkey(b.Type, &b.ID)
	if x.pendFirst == nil {
		x.pendFirst = make(map[pkey]int32)
	}
	if _, ok := x.pendFirst[k]; !ok {
		x.pendFirst[k] = int32(len(x.pend))
	}
	x.pend = append(x.pend, prec{bucket: uint16(bucketOf(&b.ID)), r: r})
}

// packNumber returns the number of an indexed pack.
func (x *Index) packNumber(id oid.ID) (uint32, bool) {
	if no, ok := x.packPend[id]; ok {
		return no, true
	}
	i := sort.Search(len(x.packSorted), func(i int) bool {
		return string(x.packs[x.packSorted[i]][:]) >= string(id[:])
	})
	if i < len(x.packSorted) && x.packs[x.packSorted[i]] == id {
		return x.packSorted[i], true
	}
	return 0, false
}

// Finalize merges all pending records into the sorted slab and releases the
// memory used for them. Call it after loading; Lookup works without it.
func (x *Index) Finalize() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.merge()
}

// Has reports whether a blob of type t and ID id is indexed.
func (x *Index) Has(t pack.BlobType, id oid.ID) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.find(t, &id)
	return ok
}

// Lookup returns where the blob of type t and ID id is stored. If it is in
// several packs, Lookup returns the one indexed first.
func (x *Index) Lookup(t pack.BlobType, id oid.ID) (Entry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.find(t, &id)
	if !ok {
		return Entry{}, false
	}
	return x.entry(&r, id), true
}

// LookupAll returns every place the blob of type t and ID id is stored, in
// the order they were indexed. It merges pending records first.
func (x *Index) LookupAll(t pack.BlobType, id oid.ID) []Entry {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.merge()
	var out []Entry
	for i := x.search(t, &id); i < len(x.main) && x.matches(i, t, &id); i++ {
		out = append(out, x.entry(&x.main[i], id))
	}
	return out
}

// find returns the first record of (t, id): in the slab, else pending.
func (x *Index) find(t pack.BlobType, id *oid.ID) (rec, bool) {
	if i := x.search(t, id); i < len(x.main) && x.matches(i, t, id) {
		return x.main[i], true
	}
	if j, ok := x.pendFirst[makePkey(t, id)]; ok {
		return x.pend[j].r, true
	}
	return rec{}, false
}

// search returns the position of the first slab record >= (t, id), or
// len(x.main) if there is none in id's bucket.
func (x *Index) search(t pack.BlobType, id *oid.ID) int {
	if x.fan == nil {
		return len(x.main)
	}
	b := bucketOf(id)
	lo, hi := int(x.fan[b]), int(x.fan[b+1])
	key := id[fanoutBytes:PrefixLen]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if compareKey(&x.main[mid], key, t) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == int(x.fan[b+1]) {
		return len(x.main)
	}
	return lo
}

// matches reports whether slab record i is (t, id).
func (x *Index) matches(i int, t pack.BlobType, id *oid.ID) bool {
	return int(x.fan[bucketOf(id)+1]) > i && compareKey(&x.main[i], id[fanoutBytes:PrefixLen], t) == 0
}

// entry expands a record; id supplies the ID bytes the record lacks.
func (x *Index) entry(r *rec, id oid.ID) Entry {
	e := Entry{Pack: x.packs[r.packNo()], Blob: pack.Blob{
		Type:       r.typ(),
		ID:         id,
		Offset:     r.offset(),
		Length:     r.length(),
		RawLength:  r.raw(),
		Compressed: r.compressed(),
	}}
	if e.Length == maxField {
		l := x.big[r.bigKey()]
		e.Length, e.RawLength = l[0], l[1]
	}
	return e
}

// Len returns the number of indexed (pack, blob) pairs; a blob stored in two
// packs counts twice.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.main) + len(x.pend)
}

// Packs returns the IDs of all indexed packs, in the order they were added.
func (x *Index) Packs() []oid.ID {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return append([]oid.ID(nil), x.packs...)
}

// PackSize returns the file size of pack id as AddPackEntry recorded it;
// ok is false when the pack is not indexed or was added by AddPack, without
// a size.
func (x *Index) PackSize(id oid.ID) (size int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	no, found := x.packNumber(id)
	if !found || x.packSizes[no] < 0 {
		return 0, false
	}
	return x.packSizes[no], true
}

// HasPack reports whether pack id is indexed.
func (x *Index) HasPack(id oid.ID) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.packNumber(id)
	return ok
}

// Each calls fn for every indexed (pack, blob) pair until fn returns false:
// first the merged records, sorted by ID, then pending ones in insertion
// order. The index keeps only PrefixLen bytes of each ID, so Entry.ID has
// its last oid.Size-PrefixLen bytes zero: compare IDs with SamePrefix, or
// read full IDs from index files or pack headers. Each holds a read lock
// while it runs, so fn must not call methods of x.
func (x *Index) Each(fn func(Entry) bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var id oid.ID
	for b := 0; x.fan != nil && b < fanoutSize; b++ {
		id[0], id[1] = byte(b>>8), byte(b)
		for i := x.fan[b]; i < x.fan[b+1]; i++ {
			r := &x.main[i]
			copy(id[fanoutBytes:], r[recKey:recPack])
			if !fn(x.entry(r, id)) {
				return
			}
		}
	}
	for i := range x.pend {
		p := &x.pend[i]
		id[0], id[1] = byte(p.bucket>>8), byte(p.bucket)
		copy(id[fanoutBytes:], p.r[recKey:recPack])
		if !fn(x.entry(&p.r, id)) {
			return
		}
	}
}

// SamePrefix reports whether two IDs agree in the PrefixLen bytes the index
// keeps, as Each's IDs do with the full ones.
func SamePrefix(a, b oid.ID) bool { return [PrefixLen]byte(a[:]) == [PrefixLen]byte(b[:]) }
