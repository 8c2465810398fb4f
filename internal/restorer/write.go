package restorer

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
)

// open opens the file for writing. The first call creates it (replacing an
// existing regular file, never following a symlink) and, when the writes
// may not reach the end, sets its full size, so ranges never written stay
// holes.
func (fj *fileJob) open(root string) (*os.File, error) {
	path := filepath.Join(root, fj.rel)
	fj.mu.Lock()
	defer fj.mu.Unlock()
	if fj.created {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
		return f, wrapPath(fj.rel, err)
	}
	var f *os.File
	err := createReplacing(fj.rel, path, func() (err error) {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, createFileMode)
		return err
	})
	if err != nil {
		return nil, wrapPath(fj.rel, err)
	}
	if fj.extend {
		if err := f.Truncate(fj.size); err != nil {
			f.Close()
			return nil, wrapPath(fj.rel, err)
		}
	}
	fj.created = true
	return f, nil
}

// writeSparse writes data at off, leaving out the sparseBlock-aligned
// blocks that are all zero (the file was sized with holes, so they read
// as zeros). zero is a block of zero bytes.
func writeSparse(f *os.File, data []byte, off int64, zero []byte) error {
	for len(data) > 0 {
		n := blockLen(off, len(data), len(zero))
		if bytes.Equal(data[:n], zero[:n]) {
			data, off = data[n:], off+int64(n)
			continue
		}
		for n < len(data) {
			m := blockLen(off+int64(n), len(data)-n, len(zero))
			if bytes.Equal(data[n:n+m], zero[:m]) {
				break
			}
			n += m
		}
		if _, err := f.WriteAt(data[:n], off); err != nil {
			return err
		}
		data, off = data[n:], off+int64(n)
	}
	return nil
}

// blockLen is the length from off to the next block boundary, at most n.
func blockLen(off int64, n, block int) int {
	return min(n, block-int(off%int64(block)))
}
