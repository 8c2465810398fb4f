package s3

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	requireS3(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t, testConfig(t)) })
}

// TestConformanceMultipart runs the suite with the smallest parts and no
// single-request shortcut, so that multipart uploads go through every case.
func TestConformanceMultipart(t *testing.T) {
	requireS3(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		cfg := testConfig(t)
		cfg.PartSize, cfg.SinglePutMax, cfg.Concurrency = minPartSize, -1, 3
		return newTestStore(t, cfg)
	})
}

func TestMultipart(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartSize = minPartSize
	s := newTestStore(t, cfg)
	const size = 3*minPartSize + 12345
	data, _ := io.ReadAll(storetest.GenReader(1, size))
	if err := s.Put(t.Context(), "data/ab/big", storetest.OnlyReader(bytes.NewReader(data)), -1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for _, r := range [][2]int64{{0, -1}, {minPartSize - 10, 20}, {2 * minPartSize, minPartSize}, {size - 1, 1}} {
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
}

// TestMultipartCompleteCreateOnly: the completion itself carries
// If-None-Match, so an object created while the parts went up is not
// overwritten.
func TestMultipartCompleteCreateOnly(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartSize = minPartSize
	s := newTestStore(t, cfg)
	const name = "index/raced"
	other := []byte("created meanwhile")
	r := &hookReader{r: storetest.GenReader(4, 2*minPartSize+1), at: minPartSize + 1, hook: func() {
		if err := s.Put(t.Context(), name, bytes.NewReader(other), int64(len(other))); err != nil {
			t.Errorf("competing Put: %v", err)
		}
	}}
	if err := s.Put(t.Context(), name, r, -1); !errors.Is(err, store.ErrExists) {
		t.Fatalf("multipart Put over an object created meanwhile = %v, want ErrExists", err)
	}
	got, err := store.ReadAll(t.Context(), s, name)
	if err != nil || !bytes.Equal(got, other) {
		t.Fatalf("object = %q, %v; want %q", got, err, other)
	}
}

// hookReader calls hook once, when at bytes have been read.
type hookReader struct {
	r    io.Reader
	at   int64
	hook func()
	off  int64
}

func (h *hookReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.off < h.at && h.off+int64(n) >= h.at {
		h.hook()
	}
	h.off += int64(n)
	return n, err
}

// TestTransientRetried: 503s and connection resets are retried (the body
// rewound), and minio-go does not retry on its own.
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
			return status(req, http.StatusServiceUnavailable, "SlowDown"), nil
		case 2:
			return nil, syscall.ECONNRESET
		}
		return next.RoundTrip(req)
	})
	cfg.Transport = ft
	cfg.MaxAttempts = 3
	cfg.PartSize = minPartSize
	s := newTestStore(t, cfg)
	for _, size := range []int{15, 2*minPartSize + 7} {
		data, _ := io.ReadAll(storetest.GenReader(5, int64(size)))
		name := fmt.Sprintf("keys/k%d", size)
		if err := s.Put(t.Context(), name, storetest.OnlyReader(bytes.NewReader(data)), int64(len(data))); err != nil {
			t.Fatalf("Put(%d bytes): %v", size, err)
		}
		got, err := store.ReadAll(t.Context(), s, name)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(data))
		}
		if err := s.Delete(t.Context(), name); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if err := s.List(t.Context(), "", func(fi store.Info) error { return fmt.Errorf("left over: %s", fi.Name) }); err != nil {
		t.Fatalf("List: %v", err)
	}
}

// TestRetriesBounded: a server that always fails sees exactly MaxAttempts
// requests (no minio-go retries on top), and the error says what failed.
func TestRetriesBounded(t *testing.T) {
	for _, tc := range []struct {
		code     int
		errCode  string
		requests int
		is       error
		msg      string
	}{
		{http.StatusServiceUnavailable, "SlowDown", 4, nil, "HTTP 503"},
		{http.StatusInternalServerError, "InternalError", 4, nil, "HTTP 500"},
		{http.StatusForbidden, "InvalidAccessKeyId", 1, store.ErrPermission, "authentication failed"},
		{http.StatusForbidden, "AccessDenied", 1, store.ErrPermission, "access denied to bucket"},
		{http.StatusForbidden, "RequestTimeTooSkewed", 1, store.ErrPermission, "clock"},
		{http.StatusBadRequest, "InvalidArgument", 1, nil, "HTTP 400"},
		{http.StatusNotFound, "NoSuchBucket", 1, store.ErrNotFound, "run seedship init"},
	} {
		cfg := testConfig(t)
		cfg.MaxAttempts = 4
		ft := newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
			return status(req, tc.code, tc.errCode), nil
		})
		cfg.Transport = ft
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(t.Context(), "keys/k", 0, -1)
		if got := ft.Requests(); got != tc.requests {
			t.Errorf("HTTP %d %s: %d requests, want %d", tc.code, tc.errCode, got, tc.requests)
		}
		if err == nil || tc.is != nil && !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("HTTP %d %s: Get = %v, want %v containing %q", tc.code, tc.errCode, err, tc.is, tc.msg)
		}
		var er minio.ErrorResponse
		if errors.As(err, &er) {
			t.Errorf("HTTP %d: minio-go's error type leaked: %T", tc.code, er)
		}
	}
}

// TestLostCreateAnswer: the first create reaches the server but its answer
// is lost; the retry finds the object with our token and reports success.
func TestLostCreateAnswer(t *testing.T) {
	for _, multipart := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.PartSize = minPartSize
		lost := false
		ft := newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			q := req.URL.Query()
			commit := multipart && req.Method == http.MethodPost && q.Has("uploadId") ||
				!multipart && req.Method == http.MethodPut && len(q) == 0
			if err == nil && commit && !lost && resp.StatusCode == http.StatusOK {
				lost = true
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return nil, syscall.ECONNRESET
			}
			return resp, err
		})
		cfg.Transport = ft
		s := newTestStore(t, cfg)
		data, _ := io.ReadAll(storetest.GenReader(2, 2*minPartSize+1))
		var r io.Reader = bytes.NewReader(data)
		if multipart {
			r = storetest.OnlyReader(r)
		}
		if err := s.Put(t.Context(), "index/x", r, int64(len(data))); err != nil || !lost {
			t.Fatalf("multipart=%v: Put after a lost answer = %v (answer lost: %v), want success", multipart, err, lost)
		}
		err := s.Put(t.Context(), "index/x", bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("multipart=%v: second Put = %v, want ErrExists", multipart, err)
		}
	}
}

// TestResumedRead: a download cut short is resumed from where it broke.
func TestResumedRead(t *testing.T) {
	cfg := testConfig(t)
	var ranges []string
	ft := newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil || req.Method != http.MethodGet || len(req.URL.Query()) != 0 {
			return resp, err
		}
		ranges = append(ranges, req.Header.Get("Range")+" if-match="+req.Header.Get("If-Match"))
		if len(ranges) <= 2 {
			resp.Body = storetest.CutBody(resp.Body, 100<<10)
		}
		return resp, err
	})
	cfg.Transport = ft
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

func TestOpenMissingBucket(t *testing.T) {
	cfg := testConfig(t)
	t.Setenv(EnvRegion, "us-east-1")
	loc := cfg.Location.String()
	_, err := Open(t.Context(), loc)
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "seedship init") {
		t.Fatalf("Open(%s) of a missing bucket = %v, want ErrNotFound advising seedship init", loc, err)
	}
	s, err := Create(t.Context(), loc)
	if err != nil {
		t.Fatalf("Create(%s): %v", loc, err)
	}
	t.Cleanup(func() { s.DeleteBucket(t.Context()) })
	if _, err := Create(t.Context(), loc); err != nil {
		t.Fatalf("second Create(%s): %v", loc, err)
	}
	if _, err := Open(t.Context(), loc); err != nil {
		t.Fatalf("Open(%s) after Create: %v", loc, err)
	}
}

// TestCredentials: a profile from a shared credentials file works, and a
// wrong secret is reported as an authentication failure naming what to check.
func TestCredentials(t *testing.T) {
	base := testConfig(t)
	s0 := newTestStore(t, base)
	file := filepath.Join(t.TempDir(), "credentials")
	ini := fmt.Sprintf("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[seedship]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		base.AccessKey, base.SecretKey)
	if err := os.WriteFile(file, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvProfile: "seedship", EnvCredentialsFile: file, EnvRegion: "us-east-1"}
	cfg, err := ConfigFromEnv(s0.String(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "keys/profile", strings.NewReader("x"), 1); err != nil {
		t.Errorf("Put with profile credentials: %v", err)
	}
	bad := base
	bad.SecretKey = "not-the-secret"
	s, err = New(bad)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check(t.Context())
	if !errors.Is(err, store.ErrPermission) || !strings.Contains(err.Error(), "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") {
		t.Errorf("Check with a wrong secret = %v, want ErrPermission advising to check the keys", err)
	}
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
