package s3

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/store/storetest"
)

// putBytes creates name in st with content b.
func putBytes(t *testing.T, st store.Store, name string, b []byte) {
	t.Helper()
	if err := st.Put(t.Context(), name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// reading is a check that keeps what it read.
func reading(seen *[]byte) func(io.Reader) error {
	return func(r io.Reader) error {
		var err error
		*seen, err = io.ReadAll(r)
		return err
	}
}

// isCopy reports whether req is a CopyObject request.
func isCopy(req *http.Request) bool {
	return req.Method == http.MethodPut && storetest.Header(req, "x-amz-copy-source") != ""
}

func TestCopy(t *testing.T) {
	var copies atomic.Int32
	cfg := testConfig(t)
	cfg.Transport = newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
		if isCopy(req) {
			copies.Add(1)
		}
		return next.RoundTrip(req)
	})
	dst := newTestStore(t, cfg)
	src := newTestStore(t, testConfig(t)) // another bucket
	ctx := t.Context()
	data, _ := io.ReadAll(storetest.GenReader(3, 1<<20+17))
	putBytes(t, src, "c/data/ab/one", data)
	for _, tc := range []struct {
		name string
		from *Store
		to   string
	}{
		{"other bucket", src, "data/ab/one"},
		{"same bucket", dst, "data/ab/again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []byte
			from := "c/data/ab/one"
			if tc.from == dst {
				from = "data/ab/one"
			}
			if err := dst.Copy(ctx, tc.to, tc.from, from, reading(&seen)); err != nil {
				t.Fatalf("Copy = %v", err)
			}
			if !bytes.Equal(seen, data) {
				t.Errorf("check saw %d bytes, want the %d of the source", len(seen), len(data))
			}
			if got, err := store.ReadAll(ctx, dst, tc.to); err != nil || !bytes.Equal(got, data) {
				t.Errorf("copy = %d bytes, %v; want the source's %d", len(got), err, len(data))
			}
		})
	}
	if err := dst.Copy(ctx, "data/ab/nocheck", src, "c/data/ab/one", nil); err != nil {
		t.Errorf("Copy without check = %v", err)
	}
	if got := copies.Load(); got != 3 {
		t.Errorf("%d CopyObject requests, want 3: the bytes went through this process", got)
	}
}

func TestCopyRefused(t *testing.T) {
	dst := newTestStore(t, testConfig(t))
	src := newTestStore(t, testConfig(t))
	ctx := t.Context()
	putBytes(t, src, "a", []byte("source"))
	putBytes(t, dst, "exists", []byte("existing"))
	otherCfg := testConfig(t)
	otherCfg.AccessKey += "x"
	otherCreds, err := New(otherCfg)
	if err != nil {
		t.Fatal(err)
	}
	otherHostCfg := testConfig(t)
	otherHostCfg.Location.Endpoint = "127.0.0.1:1"
	otherHost, err := New(otherHostCfg)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	check := func(io.Reader) error { called = true; return nil }
	for _, tc := range []struct {
		name      string
		src       store.Store
		dst, from string
		want      error
	}{
		{"dst exists", src, "exists", "a", store.ErrExists},
		{"missing source", src, "new", "missing", store.ErrNotFound},
		{"other credentials", otherCreds, "new", "a", store.ErrNotSupported},
		{"other endpoint", otherHost, "new", "a", store.ErrNotSupported},
		{"not an S3 store", mem.New(), "new", "a", store.ErrNotSupported},
		{"invalid dst", src, "/new", "a", store.ErrInvalidName},
	} {
		called = false
		if err := dst.Copy(ctx, tc.dst, tc.src, tc.from, check); !errors.Is(err, tc.want) {
			t.Errorf("%s: Copy = %v, want %v", tc.name, err, tc.want)
		}
		if called {
			t.Errorf("%s: check was called", tc.name)
		}
	}
	if got, _ := store.ReadAll(ctx, dst, "exists"); string(got) != "existing" {
		t.Errorf("dst = %q after a refused copy, want it untouched", got)
	}
	if _, err := dst.Stat(ctx, "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(new) after refused copies = %v, want ErrNotFound", err)
	}
}

func TestCopyCheckFails(t *testing.T) {
	dst := newTestStore(t, testConfig(t))
	ctx := t.Context()
	putBytes(t, dst, "src", []byte("damaged"))
	bad := errors.New("checksum mismatch")
	err := dst.Copy(ctx, "dst", dst, "src", func(r io.Reader) error { return bad })
	if !errors.Is(err, bad) {
		t.Errorf("Copy = %v, want the check's error", err)
	}
	if _, err := dst.Stat(ctx, "dst"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(dst) after a failed check = %v, want ErrNotFound", err)
	}
}

// A source replaced after check read it is not copied.
func TestCopySourceChanged(t *testing.T) {
	dst := newTestStore(t, testConfig(t))
	ctx := t.Context()
	putBytes(t, dst, "src", []byte("checked"))
	err := dst.Copy(ctx, "dst", dst, "src", func(r io.Reader) error {
		io.Copy(io.Discard, r)
		if err := dst.Delete(ctx, "src"); err != nil {
			return err
		}
		return dst.Put(ctx, "src", bytes.NewReader([]byte("swapped")), 7)
	})
	if !errors.Is(err, errSourceChanged) {
		t.Errorf("Copy of a swapped source = %v, want errSourceChanged", err)
	}
	if _, err := dst.Stat(ctx, "dst"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(dst) = %v, want ErrNotFound", err)
	}
}

// The answer to the copy is lost; the retry still reports success.
func TestCopyLostAnswer(t *testing.T) {
	cfg := testConfig(t)
	var lost atomic.Bool
	cfg.Transport = newFaultTransport(func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err == nil && isCopy(req) && lost.CompareAndSwap(false, true) {
			resp.Body.Close()
			return status(req, http.StatusServiceUnavailable, "SlowDown"), nil
		}
		return resp, err
	})
	dst := newTestStore(t, cfg)
	ctx := t.Context()
	putBytes(t, dst, "src", []byte("data"))
	if err := dst.Copy(ctx, "dst", dst, "src", nil); err != nil {
		t.Errorf("Copy after a lost answer = %v", err)
	}
	if !lost.Load() {
		t.Errorf("no answer was lost")
	}
	if got, err := store.ReadAll(ctx, dst, "dst"); err != nil || string(got) != "data" {
		t.Errorf("copy = %q, %v; want %q", got, err, "data")
	}
}
