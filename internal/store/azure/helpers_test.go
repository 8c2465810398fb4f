package azure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store/transfer"
)

// requireAzurite fails the test when Azurite's settings are missing, unless
// the run explicitly opted out of the service tests.
func requireAzurite(t testing.TB) string {
	t.Helper()
	if os.Getenv("SEEDSHIP_TEST_NO_SERVICES") == "1" {
		t.Skip("SEEDSHIP_TEST_NO_SERVICES=1: not testing against Azurite")
	}
	cs := os.Getenv(EnvConnectionString)
	if cs == "" {
		t.Fatalf("%s is not set: start the test services with\n\teval \"$(scripts/services.sh up)\"\n"+
			"(or set SEEDSHIP_TEST_NO_SERVICES=1 to skip the tests that need them)", EnvConnectionString)
	}
	return cs
}

// testConfig is a config for a fresh, randomly named container on Azurite.
func testConfig(t testing.TB) Config {
	cs := requireAzurite(t)
	var b [8]byte
	rand.Read(b[:])
	return Config{
		Location:         Location{Container: "seedship-test-" + hex.EncodeToString(b[:]), Prefix: "repo"},
		ConnectionString: cs,
		RetryBase:        10 * time.Millisecond,
		RetryMax:         100 * time.Millisecond,
	}
}

// newTestStore creates the container of cfg and deletes it after the test.
func newTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.EnsureContainer(t.Context()); err != nil {
		t.Fatalf("EnsureContainer: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		clean, err := New(Config{Location: cfg.Location, ConnectionString: cfg.ConnectionString})
		if err == nil {
			err = clean.DeleteContainer(ctx)
		}
		if err != nil {
			t.Errorf("deleting test container %s: %v", cfg.Location.Container, err)
		}
	})
	return s
}

// faultTransport passes requests to the real transport through fn, which
// may fail them, answer them itself, or damage the answer.
type faultTransport struct {
	base http.RoundTripper
	n    atomic.Int32
	mu   sync.Mutex
	log  []string // method and first path segment... of every request
	fn   func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error)
}

func newFaultTransport(fn func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error)) *faultTransport {
	return &faultTransport{base: transfer.NewTransport(4), fn: fn}
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := int(f.n.Add(1))
	f.mu.Lock()
	f.log = append(f.log, req.Method+" "+req.URL.RawQuery)
	f.mu.Unlock()
	if f.fn == nil {
		return f.base.RoundTrip(req)
	}
	return f.fn(n, req, f.base)
}

func (f *faultTransport) requests() int { return int(f.n.Load()) }

// status answers req with an empty response of the given code.
func status(req *http.Request, code int, errorCode string) *http.Response {
	h := http.Header{}
	if errorCode != "" {
		h.Set("x-ms-error-code", errorCode)
	}
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: h,
		Body: http.NoBody, Request: req, ProtoMajor: 1, ProtoMinor: 1}
}

// cutBody ends a response body with an error after n bytes.
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

// genReader yields size deterministic pseudo-random bytes without holding
// them: a 1 MiB random block, each copy stamped with its index.
type genReader struct {
	block []byte
	off   int64
	size  int64
}

func newGenReader(seed byte, size int64) *genReader {
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i*7+int(seed)) ^ byte(i>>8*13)
	}
	return &genReader{block: block, size: size}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.size-g.off)]
	n := 0
	for n < len(p) {
		i := int(g.off % int64(len(g.block)))
		c := copy(p[n:], g.block[i:])
		if i < 8 { // stamp the block index into its first bytes
			idx := g.off / int64(len(g.block))
			for j := i; j < 8 && j-i < c; j++ {
				p[n+j-i] ^= byte(idx >> (8 * j))
			}
		}
		n += c
		g.off += int64(c)
	}
	return n, nil
}
