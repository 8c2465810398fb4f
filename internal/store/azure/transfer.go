package azure

// This file holds the backend-neutral transfer machinery: one retry loop with
// exponential backoff and full jitter, a reader that resumes a broken ranged
// download, and the parallel part uploader. The azure and s3 packages carry
// identical copies of it (keep them in sync). The SDKs' own retries are
// switched off, so that this is the one place where anything is retried.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// retrier runs operations with retries on transient failures.
type retrier struct {
	attempts  int
	base, max time.Duration
	// transient reports whether err is worth another attempt, and how long
	// the server asked to wait (0 when it did not say).
	transient func(err error) (bool, time.Duration)
	// onRetry is told about every retry (for logging).
	onRetry func(op string, attempt int, wait time.Duration, err error)
}

// do calls fn until it succeeds, fails permanently, or the attempts are used
// up. fn gets the attempt number (1-based) so that it can rewind its input.
func (r *retrier) do(ctx context.Context, op string, fn func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(attempt)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		again, hint := r.transient(err)
		if !again || attempt >= r.attempts {
			return err
		}
		wait := r.backoff(attempt, hint)
		if r.onRetry != nil {
			r.onRetry(op, attempt, wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is full jitter over an exponentially growing ceiling, or the
// server's own hint when it gave one (bounded by max).
func (r *retrier) backoff(attempt int, hint time.Duration) time.Duration {
	if hint > 0 {
		return min(hint, r.max)
	}
	ceiling := r.base << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > r.max {
		ceiling = r.max
	}
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

// transientNetError reports whether err is a network failure that a new
// attempt may not see: timeouts, resets, a connection closed early.
func transientNetError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// transientStatus lists the HTTP statuses worth another attempt.
func transientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// newTransport is an HTTP transport sized for parallel part transfers. It
// stays on HTTP/1.1 (a custom dialer and no ForceAttemptHTTP2): parallel
// parts go faster over several TCP connections than multiplexed on one. It
// never asks for gzip: object bytes and ranges must arrive as stored.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   max(conns*2, 8),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
		DisableCompression:    true,
	}
}

// errChanged is returned by an opener when the object changed between the
// first request and a resumed one.
var errChanged = errors.New("object changed while it was being read")

// rangeOpener opens the bytes [offset, offset+length) of one version of an
// object; length < 0 means to the end.
type rangeOpener func(ctx context.Context, offset, length int64) (io.ReadCloser, error)

// resumeReader reads a ranged download and, when the connection breaks,
// reopens the rest of the range (pinned to the same object version).
type resumeReader struct {
	ctx       context.Context
	name      string
	open      rangeOpener
	retry     *retrier
	fail      func(offset int64, err error) error // renders the final error
	body      io.ReadCloser
	offset    int64 // next object offset to deliver
	remaining int64 // bytes still expected
}

func (r *resumeReader) Read(p []byte) (int, error) {
	if r.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	var n int
	err := r.retry.do(r.ctx, "read "+r.name, func(attempt int) error {
		if r.body == nil {
			body, err := r.open(r.ctx, r.offset, r.remaining)
			if err != nil {
				return err
			}
			r.body = body
		}
		var err error
		n, err = r.body.Read(p)
		if n > 0 {
			return nil
		}
		if err == nil {
			return nil
		}
		r.body.Close()
		r.body = nil
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF // the server sent less than it promised
		}
		return err
	})
	r.offset += int64(n)
	r.remaining -= int64(n)
	if err != nil {
		return n, r.fail(r.offset, err)
	}
	return n, nil
}

func (r *resumeReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	r.remaining = 0
	return err
}

// partFunc uploads part number n (1-based) holding data.
type partFunc func(ctx context.Context, n int, data []byte) error

// uploadParts reads r in parts of len(first) bytes, the first of which is
// already in first, and hands them to upload with at most bufs parts in
// memory (and in flight) at once. It returns the number of parts and bytes.
func uploadParts(ctx context.Context, r io.Reader, first []byte, bufs int, upload partFunc) (int, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	free := make(chan []byte, bufs)
	free <- first
	for range bufs - 1 {
		free <- nil
	}
	parts, total, size := 0, int64(0), len(first)
	for n := 1; ; n++ {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		k := size
		var rerr error
		if n == 1 {
			buf = first
		} else {
			if buf == nil {
				buf = make([]byte, size)
			}
			k, rerr = io.ReadFull(r, buf)
		}
		if k > 0 {
			parts, total = n, total+int64(k)
			wg.Add(1)
			go func(n int, data []byte) {
				defer wg.Done()
				if err := upload(ctx, n, data); err != nil {
					fail(err)
				}
				free <- data[:cap(data)]
			}(n, buf[:k])
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			fail(fmt.Errorf("read body: %w", rerr))
			break
		}
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	return parts, total, nil
}

// readUpTo reads r until EOF or limit bytes. Unless known says the body
// will fill the limit, the buffer starts small and grows (so that small
// bodies of unknown size stay small). full reports that limit bytes were
// read and r may hold more.
func readUpTo(r io.Reader, limit int, known bool) (buf []byte, full bool, err error) {
	buf = make([]byte, 0, min(limit, 64<<10))
	if known {
		buf = make([]byte, 0, limit)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				return buf, true, nil
			}
			grown := make([]byte, len(buf), min(limit, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("read body: %w", err)
		}
	}
}

// section presents bytes [start, start+size) of a seeker as a whole stream
// positioned at 0, so that an attempt can be rewound.
type section struct {
	rs          io.ReadSeeker
	start, size int64
	pos         int64
}

// errUnseekable: the body claims io.Seeker but cannot seek (a pipe).
var errUnseekable = errors.New("body cannot seek")

// newSection checks that rs holds exactly size more bytes from where it is.
// It returns errUnseekable when rs cannot seek at all.
func newSection(rs io.ReadSeeker, size int64) (*section, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, errUnseekable
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, errUnseekable
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek body back: %w", err)
	}
	if end-start != size {
		return nil, fmt.Errorf("body holds %d bytes, size says %d", end-start, size)
	}
	return &section{rs: rs, start: start, size: size}, nil
}

func (s *section) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-s.pos {
		p = p[:s.size-s.pos]
	}
	n, err := s.rs.Read(p)
	s.pos += int64(n)
	if err == io.EOF && s.pos < s.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (s *section) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 || offset > s.size {
		return 0, fmt.Errorf("seek to %d outside [0, %d]", offset, s.size)
	}
	if _, err := s.rs.Seek(s.start+offset, io.SeekStart); err != nil {
		return 0, err
	}
	s.pos = offset
	return offset, nil
}

// Close does nothing: the caller owns the underlying reader.
func (s *section) Close() error { return nil }
