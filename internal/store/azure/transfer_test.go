package azure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests cover the transfer machinery without a server.

func TestRetrier(t *testing.T) {
	errTransient, errPermanent := errors.New("transient"), errors.New("permanent")
	r := &retrier{attempts: 4, base: time.Millisecond, max: 2 * time.Millisecond,
		transient: func(err error) (bool, time.Duration) { return errors.Is(err, errTransient), 0 }}
	for _, tc := range []struct {
		fails    []error // errors of the first attempts, then success
		attempts int
		want     error
	}{
		{nil, 1, nil},
		{[]error{errTransient, errTransient}, 3, nil},
		{[]error{errTransient, errTransient, errTransient, errTransient}, 4, errTransient},
		{[]error{errPermanent}, 1, errPermanent},
		{[]error{errTransient, errPermanent}, 2, errPermanent},
	} {
		calls := 0
		err := r.do(t.Context(), "op", func(attempt int) error {
			calls++
			if attempt != calls {
				t.Errorf("attempt %d on call %d", attempt, calls)
			}
			if calls <= len(tc.fails) {
				return tc.fails[calls-1]
			}
			return nil
		})
		if !errors.Is(err, tc.want) || calls != tc.attempts {
			t.Errorf("fails %v: do = %v after %d calls, want %v after %d", tc.fails, err, calls, tc.want, tc.attempts)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.do(ctx, "op", func(int) error { return errTransient }); !errors.Is(err, context.Canceled) {
		t.Errorf("do with a canceled context = %v, want context.Canceled", err)
	}
}

func TestBackoff(t *testing.T) {
	r := &retrier{base: 100 * time.Millisecond, max: time.Second}
	for attempt := 1; attempt < 70; attempt++ {
		ceiling := min(r.base<<min(attempt-1, 20), r.max)
		if d := r.backoff(attempt, 0); d <= 0 || d > ceiling+time.Millisecond {
			t.Errorf("backoff(%d) = %v, want in (0, %v]", attempt, d, ceiling)
		}
	}
	if d := r.backoff(1, 5*time.Second); d != time.Second {
		t.Errorf("backoff with a 5s hint = %v, want the 1s maximum", d)
	}
}

func TestTransientNetError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.ECONNRESET, true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{errors.New("x509: certificate signed by unknown authority"), false},
	} {
		if got := transientNetError(tc.err); got != tc.want {
			t.Errorf("transientNetError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestUploadParts(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 1000))
	const part = 64
	var mu sync.Mutex
	got := map[int][]byte{}
	n, total, err := uploadParts(t.Context(), bytes.NewReader(data[part:]), bytes.Clone(data[:part]), 3,
		func(ctx context.Context, n int, p []byte) error {
			mu.Lock()
			got[n] = bytes.Clone(p)
			mu.Unlock()
			return nil
		})
	if err != nil || total != int64(len(data)) || n != (len(data)+part-1)/part {
		t.Fatalf("uploadParts = %d parts, %d bytes, %v; want %d parts, %d bytes", n, total, err, (len(data)+part-1)/part, len(data))
	}
	var joined []byte
	for i := 1; i <= n; i++ {
		joined = append(joined, got[i]...)
	}
	if !bytes.Equal(joined, data) {
		t.Error("parts joined in order differ from the body")
	}
	boom := errors.New("boom")
	_, _, err = uploadParts(t.Context(), bytes.NewReader(data), make([]byte, part), 2,
		func(ctx context.Context, n int, p []byte) error {
			if n == 3 {
				return boom
			}
			return nil
		})
	if !errors.Is(err, boom) {
		t.Errorf("uploadParts with a failing part = %v, want boom", err)
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
		buf, full, err := readUpTo(onlyReader{bytes.NewReader(data)}, tc.limit, tc.known)
		if err != nil || full != tc.full || !bytes.Equal(buf, data[:min(tc.n, tc.limit)]) {
			t.Errorf("readUpTo(%d bytes, %d) = %d bytes, full %v, %v; want full %v", tc.n, tc.limit, len(buf), full, err, tc.full)
		}
	}
}

func TestSection(t *testing.T) {
	r := bytes.NewReader([]byte("xxhello"))
	r.Seek(2, io.SeekStart)
	sec, err := newSection(r, 5)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // read, rewind, read again
		if _, err := sec.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(sec); err != nil || string(b) != "hello" {
			t.Fatalf("section read %q, %v; want hello", b, err)
		}
	}
	if _, err := newSection(bytes.NewReader([]byte("abc")), 5); err == nil || errors.Is(err, errUnseekable) {
		t.Errorf("newSection of a 3-byte body with size 5 = %v, want a size error", err)
	}
}
