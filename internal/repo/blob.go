package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/store"
)

// maxRawLength bounds a blob's plaintext: chunks are at most 4 MiB; a tree
// (one directory's listing, about 400 bytes an entry) may reach the pack
// format's limit, about 170,000 entries.
const maxRawLength = pack.MaxRawLength

// Errors about blobs.
var (
	ErrBlobNotFound = errors.New("blob not in index")
	ErrBlobTooLarge = errors.New("blob too large")
	ErrCorrupt      = errors.New("data is corrupted")
)

// PackName returns the object name of the pack with the given ID.
func PackName(id oid.ID) string {
	h := id.String()
	return "data/" + h[:2] + "/" + h
}

// SaveBlob stores plain as a blob of type t unless the repository already
// has it. It returns the blob's ID and whether it was added. Compression
// and encryption run in the caller's goroutine, so callers get parallelism
// by calling SaveBlob from several goroutines.
func (r *Repository) SaveBlob(ctx context.Context, t pack.BlobType, plain []byte) (oid.ID, bool, error) {
	if len(plain) > maxRawLength {
		return oid.ID{}, false, fmt.Errorf("%w: %d bytes (limit %d)", ErrBlobTooLarge, len(plain), maxRawLength)
	}
	id := r.key.BlobID(plain)
	if !r.packs.reserve(t, id) {
		return id, false, nil
	}
	buf := r.packs.getScratch()
	stored, compressed := r.encodeBlob(buf, id, plain)
	err := r.packs.add(ctx, t, id, stored, uint32(len(plain)), compressed)
	r.packs.putScratch(stored)
	if err != nil {
		return oid.ID{}, false, err
	}
	return id, true, nil
}

// SaveStoredBlob adds an already encoded blob (as read from another pack) to
// a new pack without decoding it. Prune uses it to repack.
func (r *Repository) SaveStoredBlob(ctx context.Context, e index.Entry, stored []byte) error {
	if len(stored) != int(e.Length) {
		return fmt.Errorf("blob %s: stored length %d, index says %d", e.ID.Short(), len(stored), e.Length)
	}
	return r.packs.add(ctx, e.Type, e.ID, stored, e.RawLength, e.Compressed)
}

// encodeBlob compresses plain unless that does not make it smaller, then
// seals it with the blob ID as additional data, appending to dst.
func (r *Repository) encodeBlob(dst []byte, id oid.ID, plain []byte) ([]byte, bool) {
	comp := dst[:0]
	if !incompressible(plain) {
		comp = r.enc.EncodeAll(plain, dst[:0])
	}
	compressed := len(comp) > 0 && len(comp) < len(plain)
	body := plain
	if compressed {
		body = comp
	}
	// Seal into the spare capacity after the compressed bytes, then move.
	sealed := r.key.Seal(comp[len(comp):], body, id[:])
	n := copy(dst[:cap(dst)], sealed)
	if n < len(sealed) {
		return append([]byte(nil), sealed...), compressed
	}
	return dst[:n], compressed
}

// LoadBlob reads, decrypts and decompresses one blob, appending it to dst[:0].
func (r *Repository) LoadBlob(ctx context.Context, t pack.BlobType, id oid.ID, dst []byte) ([]byte, error) {
	e, ok := r.idx.Lookup(t, id)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrBlobNotFound, id.Short())
	}
	stored, err := r.ReadStored(ctx, e, nil)
	if err != nil {
		return nil, err
	}
	return r.DecodeBlob(e, stored, dst)
}

// ReadStored reads the stored (encrypted) bytes of one blob.
func (r *Repository) ReadStored(ctx context.Context, e index.Entry, dst []byte) ([]byte, error) {
	rc, err := r.st.Get(ctx, PackName(e.Pack), int64(e.Offset), int64(e.Length))
	if err != nil {
		return nil, fmt.Errorf("read blob %s from pack %s: %w", e.ID.Short(), e.Pack.Short(), err)
	}
	defer rc.Close()
	if cap(dst) < int(e.Length) {
		dst = make([]byte, e.Length)
	}
	dst = dst[:e.Length]
	if _, err := io.ReadFull(rc, dst); err != nil {
		return nil, fmt.Errorf("read blob %s from pack %s: %w", e.ID.Short(), e.Pack.Short(), err)
	}
	return dst, nil
}

// DecodeBlob decrypts and decompresses the stored bytes of the blob e,
// appending the plaintext to dst[:0]. It decrypts in place, overwriting
// stored; for an uncompressed blob dst may be stored[:0].
func (r *Repository) DecodeBlob(e index.Entry, stored, dst []byte) ([]byte, error) {
	if e.RawLength > maxRawLength {
		return nil, fmt.Errorf("blob %s: %w: raw length %d", e.ID.Short(), ErrCorrupt, e.RawLength)
	}
	if !e.Compressed {
		plain, err := r.key.Open(dst[:0], stored, e.ID[:])
		if err != nil {
			return nil, fmt.Errorf("blob %s in pack %s: %w", e.ID.Short(), e.Pack.Short(), err)
		}
		return r.checkLen(e, plain)
	}
	comp, err := r.key.Open(stored[:0], stored, e.ID[:])
	if err != nil {
		return nil, fmt.Errorf("blob %s in pack %s: %w", e.ID.Short(), e.Pack.Short(), err)
	}
	plain, err := r.dec.DecodeAll(comp, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("blob %s in pack %s: decompress: %w: %v", e.ID.Short(), e.Pack.Short(), ErrCorrupt, err)
	}
	return r.checkLen(e, plain)
}

// incompressible reports whether a quick entropy estimate of three samples
// (start, middle, end) says zstd would not shrink plain: already compressed
// or encrypted data, about 40% of a typical server's bytes, then skips the
// compressor, which would spend as long as on text to find nothing.
func incompressible(plain []byte) bool {
	const sample = 16 << 10
	if len(plain) < 4*sample {
		return false
	}
	for _, off := range []int{0, len(plain)/2 - sample/2, len(plain) - sample} {
		if compress.Estimate(plain[off:off+sample]) >= 0.02 {
			return false
		}
	}
	return true
}

func (r *Repository) checkLen(e index.Entry, plain []byte) ([]byte, error) {
	if len(plain) != int(e.RawLength) {
		return nil, fmt.Errorf("blob %s in pack %s: %w: %d bytes, want %d", e.ID.Short(), e.Pack.Short(), ErrCorrupt, len(plain), e.RawLength)
	}
	return plain, nil
}

// Flush finishes and uploads the open packs and writes an index file for
// every pack uploaded since the last one. Call it after the last SaveBlob of
// a backup and before saving the snapshot that refers to the blobs.
func (r *Repository) Flush(ctx context.Context) error {
	if err := r.packs.flush(ctx); err != nil {
		return err
	}
	return r.writeIndex(ctx)
}

// maxUploads is how many full packs may be uploading at once; each holds
// its pack in memory.
const maxUploads = 2

type blobKey struct {
	t  pack.BlobType
	id oid.ID
}

// packer collects blobs into one open pack per blob type and uploads full
// packs. Data and tree blobs go to separate packs so that trees, which
// check and restore read first, sit together.
type packer struct {
	r        *Repository
	mu       sync.Mutex
	open     [2]*pack.Writer
	inflight map[blobKey]struct{}
	uploads  chan struct{} // bounds packs held in memory while uploading
	bufs     chan []byte   // free pack buffers, kept across GCs
	scratch  chan []byte   // free blob encoding buffers
}

func newPacker(r *Repository) *packer {
	return &packer{r: r, inflight: make(map[blobKey]struct{}), uploads: make(chan struct{}, maxUploads),
		bufs: make(chan []byte, maxUploads+1), scratch: make(chan []byte, 8)}
}

// reserve reports whether the caller should store the blob: it is neither
// indexed nor in a pack that is still being written.
func (p *packer) reserve(t pack.BlobType, id oid.ID) bool {
	if p.r.idx.Has(t, id) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := blobKey{t, id}
	if _, ok := p.inflight[k]; ok || p.r.idx.Has(t, id) {
		return false
	}
	p.inflight[k] = struct{}{}
	return true
}

func (p *packer) release(t pack.BlobType, id oid.ID) {
	p.mu.Lock()
	delete(p.inflight, blobKey{t, id})
	p.mu.Unlock()
}

func (p *packer) getScratch() []byte {
	select {
	case b := <-p.scratch:
		return b[:0]
	default:
		return make([]byte, 0, 4<<20+4096)
	}
}

func (p *packer) putScratch(b []byte) {
	if cap(b) < 4<<20 {
		return
	}
	select {
	case p.scratch <- b:
	default:
	}
}

// add appends a stored blob to the open pack of its type and uploads the
// pack when it is full.
func (p *packer) add(ctx context.Context, t pack.BlobType, id oid.ID, stored []byte, raw uint32, compressed bool) error {
	if int(t) >= len(p.open) {
		p.release(t, id)
		return fmt.Errorf("unknown blob type %d", t)
	}
	p.mu.Lock()
	w := p.open[t]
	if w == nil {
		var buf []byte
		if t == pack.DataBlob {
			buf = p.getBuf() // tree packs are small: their buffer grows as needed
		}
		w = pack.NewWriter(buf)
		p.open[t] = w
	}
	w.Add(t, id, stored, raw, compressed)
	full := w.Size() >= p.r.opts.PackSize
	if full {
		p.open[t] = nil
	}
	p.mu.Unlock()
	if !full {
		return nil
	}
	return p.upload(ctx, w)
}

// getBuf returns a pack buffer large enough for a full pack, so appending
// never reallocates.
func (p *packer) getBuf() []byte {
	select {
	case b := <-p.bufs:
		return b[:0]
	default:
		return make([]byte, 0, p.r.opts.PackSize+5<<20)
	}
}

func (p *packer) putBuf(b []byte) {
	select {
	case p.bufs <- b[:0]:
	default:
	}
}

// upload finishes w, stores it, and adds its blobs to the index. Whatever
// happens, its blobs stop being in flight: indexed on success, forgotten
// on failure so that a later SaveBlob stores them again.
func (p *packer) upload(ctx context.Context, w *pack.Writer) error {
	data, id, blobs := w.Finish(p.r.key)
	defer func() {
		p.mu.Lock()
		for _, b := range blobs {
			delete(p.inflight, blobKey{b.Type, b.ID})
		}
		p.mu.Unlock()
	}()
	select {
	case p.uploads <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.uploads }()
	err := putBytes(ctx, p.r.st, PackName(id), data)
	if errors.Is(err, store.ErrExists) {
		err = nil // same name, same bytes: the pack is already stored
	}
	if err != nil {
		return fmt.Errorf("upload pack %s: %w", id.Short(), err)
	}
	p.r.addPack(index.PackEntry{ID: id, Size: int64(len(data)), Blobs: blobs})
	if cap(data) >= p.r.opts.PackSize {
		p.putBuf(data)
	}
	return p.r.maybeWriteIndex(ctx)
}

// flush uploads every open pack; a failed upload does not keep the others
// from being tried.
func (p *packer) flush(ctx context.Context) error {
	p.mu.Lock()
	open := p.open
	p.open = [2]*pack.Writer{}
	p.mu.Unlock()
	var errs []error
	for _, w := range open {
		if w != nil && w.Count() > 0 {
			errs = append(errs, p.upload(ctx, w))
		}
	}
	return errors.Join(errs...)
}

var _ pack.Sealer = (*crypto.Key)(nil)
