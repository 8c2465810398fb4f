package verify

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzReader: whatever the content and the declared size and hash, the
// Reader delivers the whole content with no error exactly when the
// content matches the declaration, and otherwise fails having delivered
// fewer bytes than declared (a store never sees a complete object). It
// never panics.
func FuzzReader(f *testing.F) {
	good := []byte("pack bytes")
	f.Add(good, int64(10), sum(good), uint8(0))
	f.Add(good, int64(10), sum(good), uint8(3))
	f.Add([]byte("pack bytez"), int64(10), sum(good), uint8(1))
	f.Add(good[:5], int64(10), sum(good), uint8(2))
	f.Add(append(bytes.Clone(good), '!'), int64(10), sum(good), uint8(0))
	f.Add([]byte{}, int64(0), emptySHA256, uint8(0))
	f.Add([]byte{}, int64(0), sum(good), uint8(4))
	f.Add(good, int64(-1), sum(good), uint8(0))
	f.Add(good, int64(1<<62), "", uint8(1))
	f.Fuzz(func(t *testing.T, content []byte, size int64, sha string, how uint8) {
		var src io.Reader = bytes.NewReader(content)
		switch how % 5 {
		case 1:
			src = iotest.OneByteReader(src)
		case 2:
			src = iotest.HalfReader(src)
		case 3:
			src = iotest.DataErrReader(src)
		case 4:
			src = &zeroFirst{r: src}
		}
		match := size == int64(len(content)) && sha == sum(content)
		v := NewReader(src, size, sha)
		got, err := io.ReadAll(v)
		switch {
		case match && (err != nil || !bytes.Equal(got, content) || !v.Done()):
			t.Fatalf("matching content: ReadAll = %d bytes, %v", len(got), err)
		case !match && (err == nil || v.Done()):
			t.Fatalf("mismatching content (%d bytes, declared %d, %q) accepted", len(content), size, sha)
		case !match && !errors.Is(err, ErrMismatch):
			t.Fatalf("mismatch error %v does not match ErrMismatch", err)
		case !bytes.HasPrefix(content, got) || !match && int64(len(got)) >= max(size, 1):
			t.Fatalf("delivered %d bytes of %d, declared %d, match %v", len(got), len(content), size, match)
		}
	})
}
