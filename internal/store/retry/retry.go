// Package retry wraps a store.Store so that transient failures (network
// errors, timeouts, server errors, injected faults) are retried with
// exponential backoff and jitter. Permanent answers — not found, exists,
// permission denied, invalid name, not supported, a cancelled context — are
// returned at once. Server-side copy (store.Copier) is passed through to the
// inner store.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/seedship/seedship/internal/store"
)

// Options tune the retries. The zero value gives 6 attempts starting at
// 100 ms, doubling up to 5 s.
type Options struct {
	Attempts int
	Initial  time.Duration
	Max      time.Duration
	Logger   *slog.Logger
	// Sleep waits d or until ctx ends; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Store retries the operations of an inner store.
type Store struct {
	inner store.Store
	o     Options
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Copier = (*Store)(nil)
)

// New wraps inner.
func New(inner store.Store, o Options) *Store {
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.Initial <= 0 {
		o.Initial = 100 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return &Store{inner: inner, o: o}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Permanent reports whether err is an answer that retrying cannot change.
func Permanent(err error) bool {
	for _, p := range []error{store.ErrNotFound, store.ErrExists, store.ErrPermission, store.ErrInvalidName, store.ErrNotSupported, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, p) {
			return true
		}
	}
	return false
}

// do runs op until it succeeds, fails permanently, or attempts run out.
func (s *Store) do(ctx context.Context, what string, op func() error) error {
	delay := s.o.Initial
	var err error
	for attempt := 1; ; attempt++ {
		err = op()
		var st *stopErr
		if errors.As(err, &st) {
			return st.err
		}
		if err == nil || Permanent(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= s.o.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		jittered := delay/2 + rand.N(delay/2+1)
		s.o.Logger.Debug("retrying store operation", "op", what, "attempt", attempt, "delay", jittered, "err", err)
		if serr := s.o.Sleep(ctx, jittered); serr != nil {
			return err
		}
		delay = min(2*delay, s.o.Max)
	}
}

// Put retries when r can be rewound (an io.Seeker); otherwise it tries once.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	seeker, ok := r.(io.Seeker)
	if !ok {
		return s.inner.Put(ctx, name, r, size)
	}
	start, err := seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return s.inner.Put(ctx, name, r, size)
	}
	first := true
	return s.do(ctx, "put "+name, func() error {
		if !first {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return fmt.Errorf("put %s: rewind body: %w", name, err)
			}
		}
		first = false
		return s.inner.Put(ctx, name, r, size)
	})
}

// Get retries opening the object.
func (s *Store) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := s.do(ctx, "get "+name, func() error {
		var err error
		rc, err = s.inner.Get(ctx, name, offset, length)
		return err
	})
	return rc, err
}

// Stat retries.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	var fi store.Info
	err := s.do(ctx, "stat "+name, func() error {
		var err error
		fi, err = s.inner.Stat(ctx, name)
		return err
	})
	return fi, err
}

// List retries a listing that fails before fn has seen any object; a
// listing that fails midway is not repeated, so fn never sees an object twice.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	seen := false
	var fnErr error
	return s.do(ctx, "list "+prefix, func() error {
		if seen {
			return nil
		}
		err := s.inner.List(ctx, prefix, func(fi store.Info) error {
			seen = true
			fnErr = fn(fi)
			return fnErr
		})
		if err != nil && (seen || fnErr != nil) {
			return &stopErr{err}
		}
		return err
	})
}

// Copy passes a server-side copy to the inner store when it is a
// store.Copier (store.ErrNotSupported otherwise), retrying transient
// failures. A src that is itself a retry.Store is unwrapped, so that the
// inner stores can recognise each other.
func (s *Store) Copy(ctx context.Context, dst string, src store.Store, srcName string, check func(io.Reader) error) error {
	c, ok := s.inner.(store.Copier)
	if !ok {
		return fmt.Errorf("copy %s: %w", dst, store.ErrNotSupported)
	}
	if r, ok := src.(*Store); ok {
		src = r.inner
	}
	return s.do(ctx, "copy "+dst, func() error {
		return c.Copy(ctx, dst, src, srcName, check)
	})
}

// Delete retries; a retried Delete that finds the object gone succeeded.
func (s *Store) Delete(ctx context.Context, name string) error {
	tries := 0
	err := s.do(ctx, "delete "+name, func() error {
		tries++
		return s.inner.Delete(ctx, name)
	})
	if tries > 1 && errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// stopErr ends the retry loop with err.
type stopErr struct{ err error }

func (p *stopErr) Error() string { return p.err.Error() }
