package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store/storetest"
	"github.com/seedship/seedship/internal/store/transfer"
)

// requireS3 fails the test when the S3 settings are missing, unless the
// run explicitly opted out of the service tests.
func requireS3(t testing.TB) {
	t.Helper()
	if os.Getenv("SEEDSHIP_TEST_NO_SERVICES") == "1" {
		t.Skip("SEEDSHIP_TEST_NO_SERVICES=1: not testing against an S3 server")
	}
	for _, v := range []string{"SEEDSHIP_TEST_S3_ENDPOINT", EnvAccessKey, EnvSecretKey} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set: start the test services with\n\teval \"$(scripts/services.sh up)\"\n"+
				"(or set SEEDSHIP_TEST_NO_SERVICES=1 to skip the tests that need them)", v)
		}
	}
}

// testConfig is a config for a fresh, randomly named bucket on the test
// server.
func testConfig(t testing.TB) Config {
	requireS3(t)
	u, err := url.Parse(os.Getenv("SEEDSHIP_TEST_S3_ENDPOINT"))
	if err != nil {
		t.Fatalf("SEEDSHIP_TEST_S3_ENDPOINT: %v", err)
	}
	var b [8]byte
	rand.Read(b[:])
	return Config{
		Location: Location{Endpoint: u.Host, Insecure: u.Scheme == "http",
			Bucket: "seedship-test-" + hex.EncodeToString(b[:]), Prefix: "repo"},
		AccessKey: os.Getenv(EnvAccessKey),
		SecretKey: os.Getenv(EnvSecretKey),
		Region:    os.Getenv(EnvRegion),
		Tuning:    transfer.Tuning{RetryBase: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond},
	}
}

// newTestStore creates the bucket of cfg and deletes it after the test.
func newTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		clean, err := New(Config{Location: cfg.Location, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey, Region: cfg.Region})
		if err == nil {
			err = clean.DeleteBucket(ctx)
		}
		if err != nil {
			t.Errorf("deleting test bucket %s: %v", cfg.Location.Bucket, err)
		}
	})
	return s
}

// newFaultTransport is a storetest.FaultTransport over a real transport.
func newFaultTransport(fn func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error)) *storetest.FaultTransport {
	return &storetest.FaultTransport{Base: transfer.NewTransport(4), Fn: fn}
}

// status answers req with an S3 error document.
func status(req *http.Request, code int, errorCode string) *http.Response {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	body := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>injected</Message></Error>", errorCode)
	h := http.Header{"Content-Type": {"application/xml"}}
	return &http.Response{StatusCode: code, Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req, ProtoMajor: 1, ProtoMinor: 1}
}
