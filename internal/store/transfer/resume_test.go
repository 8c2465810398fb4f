package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"
)

// brokenBody delivers n bytes of r, then fails with err.
type brokenBody struct {
	r   io.Reader
	n   int
	err error
}

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, b.err
	}
	p = p[:min(len(p), b.n)]
	n, err := b.r.Read(p)
	b.n -= n
	return n, err
}

func (b *brokenBody) Close() error { return nil }

func testRetrier() *Retrier {
	return &Retrier{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond,
		Transient: func(err error) (bool, time.Duration) { return TransientNetError(err), 0 }}
}

func TestResumeReader(t *testing.T) {
	object := []byte("0123456789abcdefghij")
	var opened []string
	open := func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		opened = append(opened, fmt.Sprintf("%d+%d", off, n))
		// Every reopened body breaks after 3 bytes, the last one ends early.
		return &brokenBody{r: bytes.NewReader(object[off : off+n]), n: 3, err: io.EOF}, nil
	}
	first := &brokenBody{r: bytes.NewReader(object[2:]), n: 4, err: syscall.ECONNRESET}
	r := NewResumeReader(t.Context(), Download{Name: "obj", Body: first, Offset: 2, Length: 12,
		Open: open, Retry: testRetrier(), Fail: func(off int64, err error) error { return err }})
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, object[2:14]) {
		t.Fatalf("ReadAll = %q, %v; want %q", got, err, object[2:14])
	}
	want := []string{"6+8", "9+5", "12+2"}
	if fmt.Sprint(opened) != fmt.Sprint(want) {
		t.Errorf("reopened ranges %v, want %v", opened, want)
	}
}

func TestResumeReaderFails(t *testing.T) {
	open := func(ctx context.Context, off, n int64) (io.ReadCloser, error) { return nil, ErrChanged }
	var failedAt int64 = -1
	first := &brokenBody{r: bytes.NewReader([]byte("abcdef")), n: 2, err: syscall.ECONNRESET}
	r := NewResumeReader(t.Context(), Download{Name: "obj", Body: first, Offset: 10, Length: 6, Open: open,
		Retry: testRetrier(), Fail: func(off int64, err error) error { failedAt = off; return err }})
	got, err := io.ReadAll(r)
	if !errors.Is(err, ErrChanged) || string(got) != "ab" || failedAt != 12 {
		t.Errorf("ReadAll = %q, %v, failed at %d; want ab, ErrChanged, failed at 12", got, err, failedAt)
	}
}

func TestResumeReaderClose(t *testing.T) {
	body := &brokenBody{r: bytes.NewReader([]byte("abcdef")), n: 6}
	r := NewResumeReader(t.Context(), Download{Name: "obj", Body: body, Length: 6, Retry: testRetrier()})
	if n, err := r.Read(make([]byte, 2)); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v; want 2, nil", n, err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read after Close = %d, %v; want 0, EOF", n, err)
	}
}
