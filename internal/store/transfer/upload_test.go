package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// onlyReader hides io.Seeker and io.WriterTo.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestUploadParts(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 1000))
	const part = 64
	var mu sync.Mutex
	got := map[int][]byte{}
	n, total, err := UploadParts(t.Context(), bytes.NewReader(data[part:]), bytes.Clone(data[:part]), 3,
		func(ctx context.Context, n int, p []byte) error {
			mu.Lock()
			got[n] = bytes.Clone(p)
			mu.Unlock()
			return nil
		})
	if err != nil || total != int64(len(data)) || n != (len(data)+part-1)/part {
		t.Fatalf("UploadParts = %d parts, %d bytes, %v; want %d parts, %d bytes", n, total, err, (len(data)+part-1)/part, len(data))
	}
	var joined []byte
	for i := 1; i <= n; i++ {
		joined = append(joined, got[i]...)
	}
	if !bytes.Equal(joined, data) {
		t.Error("parts joined in order differ from the body")
	}
	boom := errors.New("boom")
	_, _, err = UploadParts(t.Context(), bytes.NewReader(data), make([]byte, part), 2,
		func(ctx context.Context, n int, p []byte) error {
			if n == 3 {
				return boom
			}
			return nil
		})
	if !errors.Is(err, boom) {
		t.Errorf("UploadParts with a failing part = %v, want boom", err)
	}
}

func TestReadUpTo(t *testing.T) {
	for _, tc := range []struct {
		n, limit int
		known    bool
		full     bool
	}{
		{0, 10, false, false}, {5, 10, false, false}, {10, 10, false, true},
		{300 << 10, 1 << 20, false, false}, {2 << 20, 1 << 20, true, true},
	} {
		data := bytes.Repeat([]byte{7}, tc.n)
		buf, full, err := ReadUpTo(onlyReader{bytes.NewReader(data)}, tc.limit, tc.known)
		if err != nil || full != tc.full || !bytes.Equal(buf, data[:min(tc.n, tc.limit)]) {
			t.Errorf("ReadUpTo(%d bytes, %d) = %d bytes, full %v, %v; want full %v", tc.n, tc.limit, len(buf), full, err, tc.full)
		}
	}
}
