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

// HasBlob reports whether the index lists a blob of type t and ID id: one
// in-memory lookup, no I/O.
func (r *Repository) HasBlob(t pack.BlobType, id oid.ID) bool { return r.idx.Has(t, id) }

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
const maxUploads = 1

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
	bufs     chan []byte   // data pack buffers: maxUploads+1 of them, nil until first used
	scratch  chan []byte   // free blob encoding buffers

	running sync.WaitGroup // uploads in the background
	errMu   sync.Mutex
	err     error // first failed background upload, reported by add and flush
}

func newPacker(r *Repository) *packer {
	p := &packer{r: r, inflight: make(map[blobKey]struct{}), uploads: make(chan struct{}, maxUploads),
		bufs: make(chan []byte, maxUploads+1), scratch: make(chan []byte, 8)}
	for range maxUploads + 1 {
		p.bufs <- nil
	}
	return p
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
	if err := p.failed(); err != nil {
		p.release(t, id)
		return err
	}
	p.mu.Lock()
	w := p.open[t]
	if w == nil && t == pack.DataBlob {
		// A data pack needs one of the few pack buffers; wait for one
		// without holding the lock, which uploads need to finish.
		p.mu.Unlock()
		buf, err := p.getBuf(ctx)
		if err != nil {
			p.release(t, id)
			return err
		}
		p.mu.Lock()
		if w = p.open[t]; w == nil {
			w = pack.NewWriter(buf)
			p.open[t] = w
		} else {
			p.putBuf(buf)
		}
	}
	if w == nil {
		w = pack.NewWriter(nil) // tree packs are small: their buffer grows as needed
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
	return p.enqueue(ctx, t, w)
}

// enqueue uploads a full pack in the background, so the saver goes on
// compressing and encrypting while the pack is written (and fsynced). At
// most maxUploads packs are uploading; beyond that enqueue waits.
func (p *packer) enqueue(ctx context.Context, t pack.BlobType, w *pack.Writer) error {
	select {
	case p.uploads <- struct{}{}:
	case <-ctx.Done():
		p.forget(w.Blobs())
		if t == pack.DataBlob {
			p.bufs <- nil // the buffer is dropped; a new one is made when needed
		}
		return ctx.Err()
	}
	// The upload outlives the call that filled the pack (the archiver's
	// context ends with its walk, before Flush): it is bounded in size and
	// flush waits for it.
	uctx := context.WithoutCancel(ctx)
	p.running.Go(func() {
		defer func() { <-p.uploads }()
		if err := p.upload(uctx, t, w); err != nil {
			p.errMu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.errMu.Unlock()
		}
	})
	return nil
}

// failed returns the error of a failed background upload.
func (p *packer) failed() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// forget takes blobs out of flight, so a later SaveBlob stores them again.
func (p *packer) forget(blobs []pack.Blob) {
	p.mu.Lock()
	for _, b := range blobs {
		delete(p.inflight, blobKey{b.Type, b.ID})
	}
	p.mu.Unlock()
}

// getBuf waits for a free data pack buffer, large enough for a full pack
// so appending never reallocates. There are maxUploads+1 of them: one
// filling, the others uploading; that bounds the memory of a backup.
func (p *packer) getBuf(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.bufs:
		if b == nil {
			b = make([]byte, 0, p.r.opts.PackSize+5<<20)
		}
		return b[:0], nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// putBuf returns a data pack buffer.
func (p *packer) putBuf(b []byte) { p.bufs <- b[:0] }

// upload finishes w, stores it, and adds its blobs to the index. Whatever
// happens, its blobs stop being in flight: indexed on success, forgotten
// on failure so that a later SaveBlob stores them again.
func (p *packer) upload(ctx context.Context, t pack.BlobType, w *pack.Writer) error {
	data, id, blobs := w.Finish(p.r.key)
	defer p.forget(blobs)
	if t == pack.DataBlob {
		defer p.putBuf(data) // after the put: the store has read data by then
	}
	err := putBytes(ctx, p.r.st, PackName(id), data)
	if errors.Is(err, store.ErrExists) {
		err = nil // same name, same bytes: the pack is already stored
	}
	if err != nil {
		return fmt.Errorf("upload pack %s: %w", id.Short(), err)
	}
	p.r.addPack(index.PackEntry{ID: id, Size: int64(len(data)), Blobs: blobs})
	return p.r.maybeWriteIndex(ctx)
}

// flush uploads every open pack and waits for all uploads; a failed upload
// does not keep the others from being tried. The error of a failed upload
// is reported once: afterwards the packer is usable again, and the blobs of
// the failed pack will be stored by the next SaveBlob of them.
func (p *packer) flush(ctx context.Context) error {
	p.mu.Lock()
	open := p.open
	p.open = [2]*pack.Writer{}
	p.mu.Unlock()
	var errs []error
	for t, w := range open {
		switch {
		case w != nil && w.Count() > 0:
			errs = append(errs, p.enqueue(ctx, pack.BlobType(t), w))
		case w != nil && pack.BlobType(t) == pack.DataBlob:
			p.bufs <- nil // an empty pack's buffer; made anew when needed
		}
	}
	p.running.Wait()
	p.errMu.Lock()
	errs = append(errs, p.err)
	p.err = nil
	p.errMu.Unlock()
	return errors.Join(errs...)
}

var _ pack.Sealer = (*crypto.Key)(nil)
