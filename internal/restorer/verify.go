package restorer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"syscall"

	"github.com/seedship/seedship/internal/pack"
)

// verify re-reads every planned file and compares each chunk's ID with the
// snapshot; mismatches go to res.Mismatches.
func (ru *run) verify(ctx context.Context) {
	files := make(chan *fileJob)
	var wg sync.WaitGroup
	for range min(ru.r.opt.Workers, max(len(ru.files), 1)) {
		wg.Go(func() {
			var buf []byte
			for fj := range files {
				err := ru.verifyFile(fj, &buf)
				switch {
				case errors.Is(err, fs.ErrPermission):
					// A mode like 0000 restored as non-root: not a mismatch.
					ru.warn("file not verified", fj.rel, err)
				case err != nil:
					ru.mismatch(fj.rel, err)
				}
			}
		})
	}
	for _, fj := range ru.files {
		if ctx.Err() != nil {
			break
		}
		files <- fj
	}
	close(files)
	wg.Wait()
	slices.Sort(ru.res.Mismatches)
}

func (ru *run) mismatch(rel string, err error) {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	ru.res.Mismatches = append(ru.res.Mismatches, rel+": "+err.Error())
}

// verifyFile reads the file chunk by chunk and checks the chunk IDs, then
// that nothing follows but the recorded size.
func (ru *run) verifyFile(fj *fileJob, buf *[]byte) error {
	f, err := openNoATime(ru.path(fj.rel))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != fj.size {
		return fmt.Errorf("%v of %d bytes, want a file of %d bytes", fi.Mode().Type(), fi.Size(), fj.size)
	}
	var off int64
	for i, id := range fj.content {
		e, ok := ru.r.repo.Index().Lookup(pack.DataBlob, id)
		if !ok || e.RawLength > maxBlobSize {
			return fmt.Errorf("chunk %d (%s): %w", i, id.Short(), ErrBlobNotFound)
		}
		*buf = grow(*buf, int(e.RawLength))
		if _, err := io.ReadFull(f, *buf); err != nil {
			return fmt.Errorf("chunk %d at offset %d: %w", i, off, err)
		}
		if ru.r.repo.Key().BlobID(*buf) != id {
			return fmt.Errorf("chunk %d at offset %d differs", i, off)
		}
		off += int64(e.RawLength)
	}
	if err := checkZeros(f, fj.size-off, ru.zero); err != nil {
		return fmt.Errorf("after the last chunk: %w", err)
	}
	ru.mu.Lock()
	ru.res.Verified++
	ru.mu.Unlock()
	return nil
}

// openNoATime opens path for reading without updating its atime where the
// kernel allows (owner or root), and without following a symlink.
func openNoATime(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NOATIME, 0)
	if errors.Is(err, syscall.EPERM) {
		f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	}
	return f, err
}

// checkZeros reads n bytes from r and checks they are all zero (a trailing
// hole of a sparse file).
func checkZeros(r io.Reader, n int64, zero []byte) error {
	buf := make([]byte, len(zero))
	for n > 0 {
		m := int(min(n, int64(len(buf))))
		if _, err := io.ReadFull(r, buf[:m]); err != nil {
			return err
		}
		if !bytes.Equal(buf[:m], zero[:m]) {
			return fmt.Errorf("non-zero data where a hole was recorded")
		}
		n -= int64(m)
	}
	return nil
}
