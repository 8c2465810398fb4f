package vault

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
)

// handler is a routed endpoint; p is the authenticated caller (nil for
// routes without authentication). An error is rendered as the JSON error
// body, or aborts the response when its header is already written.
type handler func(w http.ResponseWriter, r *http.Request, p *principal) error

// reqLog collects what the request log line reports besides the basics.
type reqLog struct {
	role  meta.Role
	keyID string
	err   error
	abort bool
}

type reqLogKey struct{}

func withReqLog(ctx context.Context, l *reqLog) context.Context {
	return context.WithValue(ctx, reqLogKey{}, l)
}

func getReqLog(ctx context.Context) *reqLog {
	if l, ok := ctx.Value(reqLogKey{}).(*reqLog); ok {
		return l
	}
	return &reqLog{}
}

// route registers h for pattern with the request bounds of its class;
// unless public, the caller is authenticated first.
func (s *Server) route(pattern string, flags routeFlags, h handler) {
	needsKey := flags&public == 0
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w, r, done := s.bound(w, r, flags)
		defer done()
		var p *principal
		var err error
		if needsKey {
			p, err = s.authenticate(r)
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// bound applies the limits of the request's class: a total timeout and
// body cap for quick and long requests, an idle timeout for streaming ones.
func (s *Server) bound(w http.ResponseWriter, r *http.Request, flags routeFlags) (http.ResponseWriter, *http.Request, func()) {
	lim := s.cfg.Limits
	rc := http.NewResponseController(w)
	if flags&streaming != 0 {
		r.Body = &idleReader{r: http.MaxBytesReader(w, r.Body, lim.MaxObjectSize), rc: rc, idle: lim.IdleTimeout}
		return &idleWriter{ResponseWriter: w, rc: rc, idle: lim.IdleTimeout}, r, func() { rc.SetWriteDeadline(time.Time{}) }
	}
	timeout := lim.RequestTimeout
	if flags&long != 0 {
		timeout = lim.SeedTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	deadline := time.Now().Add(timeout)
	rc.SetReadDeadline(deadline)
	rc.SetWriteDeadline(deadline.Add(time.Second))
	r = r.WithContext(ctx)
	r.Body = http.MaxBytesReader(w, r.Body, lim.MaxBodySize)
	return w, r, func() {
		cancel()
		rc.SetWriteDeadline(time.Time{})
	}
}

// fail renders err, or marks the response for abortion when it has begun.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	l := getReqLog(r.Context())
	l.err = err
	if started(w) {
		l.abort = true
		return
	}
	writeError(w, toAPIError(r.Context(), err))
}

// started reports whether the response header was written.
func started(w http.ResponseWriter) bool {
	for {
		switch v := w.(type) {
		case *countingWriter:
			return v.code != 0
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return false
		}
	}
}

// toAPIError maps an error onto its status and code.
func toAPIError(ctx context.Context, err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return apiErr(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrInvalidName):
		return apiErr(http.StatusBadRequest, CodeInvalidName, "%v", err)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, meta.ErrNotFound):
		return apiErr(http.StatusNotFound, CodeNotFound, "not found")
	case errors.Is(err, store.ErrExists), errors.Is(err, meta.ErrExists):
		return apiErr(http.StatusConflict, CodeExists, "already exists")
	case errors.Is(err, store.ErrPermission):
		return apiErr(http.StatusForbidden, CodeForbidden, "the object store refused the operation")
	case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		return apiErr(http.StatusServiceUnavailable, CodeRequestTimeout, "request timed out")
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return apiErr(http.StatusBadRequest, CodeBadRequest, "request canceled by the client")
	}
	return internalErr(err)
}

// countingWriter records the status and counts body bytes.
type countingWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (c *countingWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) status() int {
	if c.code == 0 {
		return http.StatusOK
	}
	return c.code
}

// countingBody counts request body bytes.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// idleReader keeps pushing the connection's read deadline ahead, so an
// upload may take as long as it needs but may not stall for longer than
// idle. The deadline moves when a quarter of it has passed, not on every
// read: setting it costs a timer update.
type idleReader struct {
	r     io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	moved time.Time
	err   error // first read error other than EOF
}

func (i *idleReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(i.moved) > i.idle/4 {
		i.rc.SetReadDeadline(now.Add(i.idle))
		i.moved = now
	}
	n, err := i.r.Read(p)
	if err != nil && err != io.EOF && i.err == nil {
		i.err = err
	}
	return n, err
}

func (i *idleReader) Close() error { return i.r.Close() }

// idleWriter keeps pushing the connection's write deadline ahead, as
// idleReader does for reads.
type idleWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	idle  time.Duration
	moved time.Time
}

func (i *idleWriter) Write(p []byte) (int, error) {
	if now := time.Now(); now.Sub(i.moved) > i.idle/4 {
		i.rc.SetWriteDeadline(now.Add(i.idle))
		i.moved = now
	}
	return i.ResponseWriter.Write(p)
}

func (i *idleWriter) Unwrap() http.ResponseWriter { return i.ResponseWriter }

// remoteIP is the caller's address without port. Proxies are not trusted:
// X-Forwarded-For is ignored.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
