package azure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	requireAzurite(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t, testConfig(t)) })
}

// TestConformanceStaged runs the suite with tiny blocks and no single-request
// shortcut, so that multi-block uploads go through every case.
func TestConformanceStaged(t *testing.T) {
	requireAzurite(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		cfg := testConfig(t)
		cfg.PartSize, cfg.SinglePutMax, cfg.Concurrency = 1<<20, -1, 3
		return newTestStore(t, cfg)
	})
}

func TestStagedBlocks(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartSize = 1 << 20
	s := newTestStore(t, cfg)
	const size = 5<<20 + 12345
	data, _ := io.ReadAll(storetest.GenReader(1, size))
	if err := s.Put(t.Context(), "data/ab/big", storetest.OnlyReader(bytes.NewReader(data)), -1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for _, r := range [][2]int64{{0, -1}, {1<<20 - 10, 20}, {3 << 20, 2 << 20}, {size - 1, 1}} {
		rc, err := s.Get(t.Context(), "data/ab/big", r[0], r[1])
		if err != nil {
			t.Fatalf("Get(%d, %d): %v", r[0], r[1], err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		want := data[r[0]:]
		if r[1] >= 0 {
			want = want[:r[1]]
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Get(%d, %d) = %d bytes, %v; want %d bytes", r[0], r[1], len(got), err, len(want))
		}
	}
	err := s.Put(t.Context(), "data/ab/big", storetest.OnlyReader(bytes.NewReader(data)), size)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("second staged Put = %v, want ErrExists", err)
	}
}

// TestTransientRetried: 503s and connection resets are retried (the body
// rewound), and the SDK does not retry on its own.
func TestTransientRetried(t *testing.T) {
	cfg := testConfig(t)
	// Every distinct request fails twice (503, then a reset) before it
	// gets through.
	var mu sync.Mutex
	seen := map[string]int{}
	ft := newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
		key := req.Method + " " + req.URL.String() + " " + storetest.Header(req, "Range") + storetest.Header(req, "x-ms-range")
		mu.Lock()
		seen[key]++
		k := seen[key]
		mu.Unlock()
		switch k {
		case 1:
			return status(req, http.StatusServiceUnavailable, "ServerBusy"), nil
		case 2:
			return nil, syscall.ECONNRESET
		}
		return next.RoundTrip(req)
	})
	cfg.HTTPClient = &http.Client{Transport: ft}
	cfg.MaxAttempts = 3
	s := newTestStore(t, cfg)
	data := []byte("retried content")
	if err := s.Put(t.Context(), "keys/k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := store.ReadAll(t.Context(), s, "keys/k")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %q, %v; want %q", got, err, data)
	}
	if _, err := s.Stat(t.Context(), "keys/k"); err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if err := s.Delete(t.Context(), "keys/k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(t.Context(), "keys/k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat after Delete = %v, want ErrNotFound", err)
	}
}

// TestRetriesBounded: a server that always fails sees exactly MaxAttempts
// requests (no SDK retries on top), and the error says what failed.
func TestRetriesBounded(t *testing.T) {
	for _, tc := range []struct {
		code     int
		errCode  string
		requests int
		is       error
		msg      string
	}{
		{http.StatusServiceUnavailable, "ServerBusy", 4, nil, "HTTP 503"},
		{http.StatusTooManyRequests, "", 4, nil, "HTTP 429"},
		{http.StatusForbidden, "AuthenticationFailed", 1, store.ErrPermission, "authentication failed for account devstoreaccount1: check AZURE_STORAGE_CONNECTION_STRING"},
		{http.StatusForbidden, "AuthorizationPermissionMismatch", 1, store.ErrPermission, "access denied"},
		{http.StatusBadRequest, "InvalidHeaderValue", 1, nil, "HTTP 400"},
		{http.StatusNotFound, "BlobNotFound", 1, store.ErrNotFound, "stat keys/k"},
	} {
		cfg := testConfig(t)
		cfg.MaxAttempts = 4
		ft := newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
			return status(req, tc.code, tc.errCode), nil
		})
		cfg.HTTPClient = &http.Client{Transport: ft}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Stat(t.Context(), "keys/k")
		if got := ft.Requests(); got != tc.requests {
			t.Errorf("HTTP %d: %d requests, want %d", tc.code, got, tc.requests)
		}
		if err == nil || tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("HTTP %d %s: Stat = %v, want %v containing %q", tc.code, tc.errCode, err, tc.is, tc.msg)
		}
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			t.Errorf("HTTP %d: the SDK's error type leaked: %T", tc.code, re)
		}
	}
}

// TestLostCreateAnswer: the first create reaches the service but its answer
// is lost; the retry finds the blob with our token and reports success.
func TestLostCreateAnswer(t *testing.T) {
	for _, staged := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.PartSize = 1 << 20
		lost := false
		ft := newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			commit := req.Method == http.MethodPut && (staged && strings.Contains(req.URL.RawQuery, "comp=blocklist") ||
				!staged && req.URL.RawQuery == "")
			if err == nil && commit && !lost {
				lost = true
				resp.Body.Close()
				return nil, syscall.ECONNRESET
			}
			return resp, err
		})
		cfg.HTTPClient = &http.Client{Transport: ft}
		s := newTestStore(t, cfg)
		data, _ := io.ReadAll(storetest.GenReader(2, 3<<20))
		var r io.Reader = bytes.NewReader(data)
		if staged {
			r = storetest.OnlyReader(r)
		}
		if err := s.Put(t.Context(), "index/x", r, int64(len(data))); err != nil || !lost {
			t.Fatalf("staged=%v: Put after a lost answer = %v (answer lost: %v), want success", staged, err, lost)
		}
		// A different writer still gets ErrExists.
		err := s.Put(t.Context(), "index/x", bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("staged=%v: second Put = %v, want ErrExists", staged, err)
		}
	}
}

// TestResumedRead: a download cut short is resumed from where it broke.
func TestResumedRead(t *testing.T) {
	cfg := testConfig(t)
	var ranges []string
	ft := newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil || req.Method != http.MethodGet || req.URL.RawQuery != "" {
			return resp, err
		}
		ranges = append(ranges, storetest.Header(req, "x-ms-range")+" if-match="+storetest.Header(req, "If-Match"))
		if len(ranges) <= 2 {
			resp.Body = storetest.CutBody(resp.Body, 100<<10)
		}
		return resp, err
	})
	cfg.HTTPClient = &http.Client{Transport: ft}
	s := newTestStore(t, cfg)
	data, _ := io.ReadAll(storetest.GenReader(3, 1<<20))
	if err := s.Put(t.Context(), "data/00/r", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(t.Context(), "data/00/r", 1000, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data[1000:]) {
		t.Fatalf("read %d bytes, %v; want %d bytes", len(got), err, len(data)-1000)
	}
	if len(ranges) != 3 || !strings.HasPrefix(ranges[1], "bytes=103400-") || strings.HasSuffix(ranges[1], "if-match=") {
		t.Errorf("requests = %q, want 3 with the second resuming at 103400 pinned by If-Match", ranges)
	}
}

func TestOpenMissingContainer(t *testing.T) {
	cfg := testConfig(t)
	t.Setenv(EnvConnectionString, cfg.ConnectionString)
	loc := cfg.Location.String()
	_, err := Open(t.Context(), loc)
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "seedship init") {
		t.Fatalf("Open(%s) of a missing container = %v, want ErrNotFound advising seedship init", loc, err)
	}
	s, err := Create(t.Context(), loc)
	if err != nil {
		t.Fatalf("Create(%s): %v", loc, err)
	}
	t.Cleanup(func() { s.DeleteContainer(t.Context()) })
	if _, err := Create(t.Context(), loc); err != nil {
		t.Fatalf("second Create(%s): %v", loc, err)
	}
	if _, err := Open(t.Context(), loc); err != nil {
		t.Fatalf("Open(%s) after Create: %v", loc, err)
	}
}

// TestCredentials: account with key, account with SAS token, and a wrong key.
func TestCredentials(t *testing.T) {
	base := testConfig(t)
	s0 := newTestStore(t, base)
	parsed := parseConnString(base.ConnectionString)
	account, key, endpoint := parsed["AccountName"], parsed["AccountKey"], parsed["BlobEndpoint"]
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.AccountSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions:   (&sas.AccountPermissions{Read: true, Write: true, Create: true, List: true, Delete: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	for i, env := range []map[string]string{
		{EnvAccount: account, EnvKey: key, EnvEndpoint: endpoint},
		{EnvAccount: account, EnvSASToken: "?" + q.Encode(), EnvEndpoint: endpoint},
	} {
		cfg, err := ConfigFromEnv(base.Location.String(), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("snapshots/cred%d", i)
		if err := s.Put(t.Context(), name, strings.NewReader("x"), 1); err != nil {
			t.Errorf("Put with %v: %v", keys(env), err)
		}
		if _, err := s0.Stat(t.Context(), name); err != nil {
			t.Errorf("Stat of object put with %v: %v", keys(env), err)
		}
	}
	bad := base
	bad.ConnectionString = ""
	bad.Account, bad.Key, bad.Endpoint = account, "AAAA"+key[4:], endpoint
	s, _ := New(bad)
	err = s.Check(t.Context())
	if !errors.Is(err, store.ErrPermission) || !strings.Contains(err.Error(), "check AZURE_STORAGE_KEY") {
		t.Errorf("Check with a wrong key = %v, want ErrPermission advising to check AZURE_STORAGE_KEY", err)
	}
}

func parseConnString(cs string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		if k, v, ok := strings.Cut(part, "="); ok {
			m[k] = v
		}
	}
	return m
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestPipeBody: an *os.File pipe claims io.Seeker but cannot seek; Put
// streams it instead of failing.
func TestPipeBody(t *testing.T) {
	s := newTestStore(t, testConfig(t))
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("pipe"), 1000)
	go func() {
		pw.Write(data)
		pw.Close()
	}()
	defer pr.Close()
	if err := s.Put(t.Context(), "index/pipe", pr, int64(len(data))); err != nil {
		t.Fatalf("Put from a pipe: %v", err)
	}
	got, err := store.ReadAll(t.Context(), s, "index/pipe")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
}
