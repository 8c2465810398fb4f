package s3

import (
	"net/http"
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/storetest"
)

// isCopy reports whether req is a CopyObject request.
func isCopy(req *http.Request) bool {
	return req.Method == http.MethodPut && storetest.Header(req, "x-amz-copy-source") != ""
}

// TestCopier runs the Copier suite on two buckets of the test server.
func TestCopier(t *testing.T) {
	requireS3(t)
	storetest.RunCopier(t, storetest.CopierBackend{
		NewPair: func(t *testing.T, fn storetest.FaultFunc) (store.Store, store.Store) {
			cfg := testConfig(t)
			cfg.Transport = newFaultTransport(fn)
			return newTestStore(t, cfg), newTestStore(t, testConfig(t))
		},
		IsCopy: isCopy,
		Busy: func(req *http.Request) *http.Response {
			return status(req, http.StatusServiceUnavailable, "SlowDown")
		},
		Refused: func(t *testing.T, src store.Store) map[string]store.Store {
			otherCreds := src.(*Store).cfg
			otherCreds.AccessKey += "x"
			otherHost := src.(*Store).cfg
			otherHost.Location.Endpoint = "127.0.0.1:1"
			return map[string]store.Store{"other credentials": mustNew(t, otherCreds), "other endpoint": mustNew(t, otherHost)}
		},
		ErrSourceChanged: errSourceChanged,
	})
}

// mustNew returns New(cfg).
func mustNew(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
