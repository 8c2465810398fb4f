package azure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store/storetest"
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
		Tuning:           transfer.Tuning{RetryBase: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond},
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

// newFaultTransport is a storetest.FaultTransport over a real transport.
func newFaultTransport(fn func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error)) *storetest.FaultTransport {
	return &storetest.FaultTransport{Base: transfer.NewTransport(4), Fn: fn}
}

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
