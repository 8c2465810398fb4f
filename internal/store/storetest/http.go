package storetest

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// FaultTransport passes requests to Base through Fn, which may fail them,
// answer them itself, or damage the answer. Fn gets the 1-based number of
// the request; a nil Fn passes every request to Base unchanged.
type FaultTransport struct {
	Base http.RoundTripper
	Fn   func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error)
	n    atomic.Int32
}

// RoundTrip implements http.RoundTripper.
func (f *FaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := int(f.n.Add(1))
	if f.Fn == nil {
		return f.Base.RoundTrip(req)
	}
	return f.Fn(n, req, f.Base)
}

// Requests is the number of requests made through f so far.
func (f *FaultTransport) Requests() int { return int(f.n.Load()) }

// CutBody returns rc ending with io.ErrUnexpectedEOF after n bytes.
func CutBody(rc io.ReadCloser, n int) io.ReadCloser { return &cutBody{rc: rc, left: n} }

type cutBody struct {
	rc   io.ReadCloser
	left int
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= n
	return n, err
}

func (c *cutBody) Close() error { return c.rc.Close() }

// Header returns the first value of req's header name, however the client
// spelled the name.
func Header(req *http.Request, name string) string {
	for k, v := range req.Header {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
