package retry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/store/mem"
)

// copier is a memory store whose Copy fails with the errors in fail, one
// per call, then copies through Get and Put.
type copier struct {
	*mem.Store
	fail  []error
	calls int
	srcs  []store.Store
}

func (c *copier) Copy(ctx context.Context, dst string, src store.Store, srcName string, check func(io.Reader) error) error {
	c.calls++
	c.srcs = append(c.srcs, src)
	if len(c.fail) > 0 {
		err := c.fail[0]
		c.fail = c.fail[1:]
		return err
	}
	b, err := store.ReadAll(ctx, src, srcName)
	if err != nil {
		return err
	}
	return c.Put(ctx, dst, bytes.NewReader(b), int64(len(b)))
}

func TestCopyRetried(t *testing.T) {
	ctx := t.Context()
	src := mem.New()
	if err := src.Put(ctx, "a", bytes.NewReader([]byte("data")), 4); err != nil {
		t.Fatal(err)
	}
	flaky := errors.New("connection reset")
	for _, tc := range []struct {
		name      string
		fail      []error
		wantErr   error
		wantCalls int
	}{
		{"transient failures", []error{flaky, flaky}, nil, 3},
		{"not supported", []error{store.ErrNotSupported}, store.ErrNotSupported, 1},
		{"exists", []error{store.ErrExists}, store.ErrExists, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &copier{Store: mem.New(), fail: tc.fail}
			s := New(c, Options{Sleep: noSleep})
			err := s.Copy(ctx, "b", New(src, Options{}), "a", nil)
			if !errors.Is(err, tc.wantErr) || tc.wantErr == nil && err != nil {
				t.Errorf("Copy = %v, want %v", err, tc.wantErr)
			}
			if c.calls != tc.wantCalls {
				t.Errorf("inner Copy called %d times, want %d", c.calls, tc.wantCalls)
			}
			for _, got := range c.srcs {
				if got != store.Store(src) {
					t.Errorf("inner Copy got source %T, want the unwrapped *mem.Store", got)
				}
			}
		})
	}
}

func TestCopyInnerNotCopier(t *testing.T) {
	s := New(mem.New(), Options{Sleep: noSleep})
	if err := s.Copy(t.Context(), "b", mem.New(), "a", nil); !errors.Is(err, store.ErrNotSupported) {
		t.Errorf("Copy over a store without Copy = %v, want ErrNotSupported", err)
	}
}

// Two wrapped local stores still link.
func TestCopyLocalThroughRetry(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	a, err := local.Create(filepath.Join(root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := local.Create(filepath.Join(root, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, "x", bytes.NewReader([]byte("data")), 4); err != nil {
		t.Fatal(err)
	}
	if err := New(b, Options{}).Copy(ctx, "y", New(a, Options{}), "x", nil); err != nil {
		t.Fatalf("Copy between wrapped local stores = %v", err)
	}
	if got, err := store.ReadAll(ctx, b, "y"); err != nil || string(got) != "data" {
		t.Errorf("copy = %q, %v; want %q", got, err, "data")
	}
}
