package restorer

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
)

const (
	// maxGap: needed blobs of a pack closer than this are read with one
	// ranged Get, skipping the bytes between them.
	maxGap = 1 << 20
	// maxBlobSize bounds the buffers a (malicious) index can make us allocate.
	maxBlobSize = 64 << 20
)

// packName is the store name of a pack file.
func packName(id oid.ID) string {
	h := id.String()
	return "data/" + h[:2] + "/" + h
}

// fetch is the content step: Workers goroutines each take a pack, read its
// needed blobs and write them out.
func (ru *run) fetch(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err })
		cancel()
	}
	jobs := make(chan *packJob)
	for range min(ru.r.opt.Workers, max(len(ru.packList), 1)) {
		wg.Go(func() {
			w := &worker{ru: ru}
			defer func() {
				if err := w.closeFile(); err != nil {
					fail(err)
				}
			}()
			for pj := range jobs {
				if err := w.pack(ctx, pj); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	feed(ctx, jobs, ru.packList)
	wg.Wait()
	ru.packList = nil
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func feed(ctx context.Context, jobs chan<- *packJob, list []*packJob) {
	defer close(jobs)
	for _, pj := range list {
		select {
		case jobs <- pj:
		case <-ctx.Done():
			return
		}
	}
}

// worker reads, decodes and writes blobs; its buffers are reused.
type worker struct {
	ru     *run
	stored []byte
	plain  []byte
	cur    *fileJob // file held open in f
	f      *os.File
}

// pack reads the needed blobs of one pack, in runs of nearby blobs.
func (w *worker) pack(ctx context.Context, pj *packJob) error {
	slices.SortFunc(pj.blobs, func(a, b *blobJob) int { return cmp.Compare(a.entry.Offset, b.entry.Offset) })
	for start := 0; start < len(pj.blobs); {
		end := runEnd(pj.blobs, start)
		if err := w.readRun(ctx, pj.id, pj.blobs[start:end]); err != nil {
			return fmt.Errorf("pack %s: %w", pj.id.Short(), err)
		}
		start = end
	}
	w.ru.packs.Add(1)
	return nil
}

// runEnd returns the end of the run of blobs starting at start that one
// ranged read covers: increasing offsets with gaps below maxGap.
func runEnd(blobs []*blobJob, start int) int {
	end := blobEnd(blobs[start])
	i := start + 1
	for ; i < len(blobs); i++ {
		off := int64(blobs[i].entry.Offset)
		if off < end || off-end > maxGap {
			break
		}
		end = blobEnd(blobs[i])
	}
	return i
}

func blobEnd(b *blobJob) int64 { return int64(b.entry.Offset) + int64(b.entry.Length) }

// readRun streams one range of a pack and handles each blob in it.
func (w *worker) readRun(ctx context.Context, packID oid.ID, blobs []*blobJob) error {
	start := int64(blobs[0].entry.Offset)
	rc, err := w.ru.r.repo.Store().Get(ctx, packName(packID), start, blobEnd(blobs[len(blobs)-1])-start)
	if err != nil {
		return err
	}
	defer rc.Close()
	pos := start
	for _, bj := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, rc, int64(bj.entry.Offset)-pos); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if err := w.blob(rc, bj); err != nil {
			return err
		}
		pos = blobEnd(bj)
	}
	return nil
}

// blob reads one stored blob from r, decodes it and writes it everywhere.
func (w *worker) blob(r io.Reader, bj *blobJob) error {
	e := bj.entry
	if e.Length > maxBlobSize || e.RawLength > maxBlobSize {
		return fmt.Errorf("blob %s: length %d/%d too large: %w", e.ID.Short(), e.Length, e.RawLength, ErrCorrupt)
	}
	w.stored = grow(w.stored, int(e.Length))
	if _, err := io.ReadFull(r, w.stored); err != nil {
		return fmt.Errorf("read blob %s: %w", e.ID.Short(), err)
	}
	plain, err := w.decode(e)
	if err != nil {
		return fmt.Errorf("blob %s: %w", e.ID.Short(), err)
	}
	if len(plain) != int(e.RawLength) {
		return fmt.Errorf("blob %s: %d bytes, index says %d: %w", e.ID.Short(), len(plain), e.RawLength, ErrCorrupt)
	}
	for _, t := range bj.targets {
		if err := w.write(t, plain); err != nil {
			return err
		}
	}
	return nil
}

// decode decodes w.stored. Uncompressed blobs are opened in place, which
// keeps one buffer per worker hot in the CPU cache.
func (w *worker) decode(e index.Entry) ([]byte, error) {
	if !e.Compressed {
		return w.ru.r.repo.DecodeBlob(e, w.stored, w.stored[:0])
	}
	plain, err := w.ru.r.repo.DecodeBlob(e, w.stored, w.plain[:0])
	if err == nil {
		w.plain = plain
	}
	return plain, err
}

// grow returns b resized to n bytes, reallocating only when too small.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// write puts data at t, keeping the file open for the next write to it.
func (w *worker) write(t target, data []byte) error {
	if w.cur != t.file {
		if err := w.closeFile(); err != nil {
			return err
		}
		f, err := t.file.open(w.ru.target)
		if err != nil {
			return err
		}
		w.cur, w.f = t.file, f
	}
	var err error
	if t.file.sparse {
		err = writeSparse(w.f, data, t.off, w.ru.zero)
	} else {
		_, err = w.f.WriteAt(data, t.off)
	}
	if err != nil {
		return wrapPath(t.file.rel, err)
	}
	var done int64
	if t.file.pending.Add(-1) == 0 {
		done = 1
		if err := w.closeFile(); err != nil {
			return err
		}
		if err := w.ru.fileDone(t.file); err != nil {
			return err
		}
	}
	w.ru.report(int64(len(data)), done)
	return nil
}

func (w *worker) closeFile() error {
	if w.cur == nil {
		return nil
	}
	rel := w.cur.rel
	err := w.f.Close()
	w.cur, w.f = nil, nil
	return wrapPath(rel, err)
}
