// Package transfer holds the backend-neutral transfer machinery shared by
// the cloud stores (azure, s3): one retry loop with exponential backoff and
// full jitter, a reader that resumes a broken ranged download, a parallel
// part uploader, a rewindable section of a seekable body, and an HTTP
// transport sized for parallel parts. The stores switch their SDKs' own
// retries off, so that this is the one place where anything is retried.
//
// It imports only the standard library: SDK errors are classified by the
// stores themselves and handed in through Retrier.Transient.
package transfer

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"
)

// Retrier runs operations with retries on transient failures.
type Retrier struct {
	// Attempts is the most calls Do makes, the first included.
	Attempts int
	// Base is the backoff ceiling after the first failure; it doubles
	// with every further failure up to Max.
	Base, Max time.Duration
	// Transient reports whether err is worth another attempt, and how long
	// the server asked to wait (0 when it did not say).
	Transient func(err error) (bool, time.Duration)
	// OnRetry, when set, is told about every retry (for logging).
	OnRetry func(op string, attempt int, wait time.Duration, err error)
}

// Do calls fn until it succeeds, fails permanently, or the attempts are used
// up. fn gets the attempt number (1-based) so that it can rewind its input.
// op names the operation for OnRetry.
func (r *Retrier) Do(ctx context.Context, op string, fn func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(attempt)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		again, hint := r.Transient(err)
		if !again || attempt >= r.Attempts {
			return err
		}
		wait := r.backoff(attempt, hint)
		if r.OnRetry != nil {
			r.OnRetry(op, attempt, wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is full jitter over an exponentially growing ceiling, or the
// server's own hint when it gave one (bounded by Max).
func (r *Retrier) backoff(attempt int, hint time.Duration) time.Duration {
	if hint > 0 {
		return min(hint, r.Max)
	}
	ceiling := r.Base << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > r.Max {
		ceiling = r.Max
	}
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

// TransientNetError reports whether err is a network failure that a new
// attempt may not see: timeouts, resets, a connection closed early.
func TransientNetError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// TransientStatus reports whether an HTTP status is worth another attempt.
func TransientStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
