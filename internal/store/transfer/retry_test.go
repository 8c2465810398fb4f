package transfer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// These tests cover the transfer machinery without a server.

func TestRetrier(t *testing.T) {
	errTransient, errPermanent := errors.New("transient"), errors.New("permanent")
	r := &Retrier{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond,
		Transient: func(err error) (bool, time.Duration) { return errors.Is(err, errTransient), 0 }}
	for _, tc := range []struct {
		fails    []error // errors of the first attempts, then success
		attempts int
		want     error
	}{
		{nil, 1, nil},
		{[]error{errTransient, errTransient}, 3, nil},
		{[]error{errTransient, errTransient, errTransient, errTransient}, 4, errTransient},
		{[]error{errPermanent}, 1, errPermanent},
		{[]error{errTransient, errPermanent}, 2, errPermanent},
	} {
		calls := 0
		err := r.Do(t.Context(), "op", func(attempt int) error {
			calls++
			if attempt != calls {
				t.Errorf("attempt %d on call %d", attempt, calls)
			}
			if calls <= len(tc.fails) {
				return tc.fails[calls-1]
			}
			return nil
		})
		if !errors.Is(err, tc.want) || calls != tc.attempts {
			t.Errorf("fails %v: Do = %v after %d calls, want %v after %d", tc.fails, err, calls, tc.want, tc.attempts)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.Do(ctx, "op", func(int) error { return errTransient }); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a canceled context = %v, want context.Canceled", err)
	}
}

func TestRetrierOnRetry(t *testing.T) {
	errTransient := errors.New("transient")
	var got []int
	r := &Retrier{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond,
		Transient: func(error) (bool, time.Duration) { return true, 0 },
		OnRetry:   func(op string, attempt int, wait time.Duration, err error) { got = append(got, attempt) }}
	if err := r.Do(t.Context(), "op", func(int) error { return errTransient }); !errors.Is(err, errTransient) {
		t.Fatalf("Do = %v, want transient", err)
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("OnRetry saw attempts %v, want [1 2]", got)
	}
}

func TestBackoff(t *testing.T) {
	r := &Retrier{Base: 100 * time.Millisecond, Max: time.Second}
	for attempt := 1; attempt < 70; attempt++ {
		ceiling := min(r.Base<<min(attempt-1, 20), r.Max)
		if d := r.backoff(attempt, 0); d <= 0 || d > ceiling+time.Millisecond {
			t.Errorf("backoff(%d) = %v, want in (0, %v]", attempt, d, ceiling)
		}
	}
	if d := r.backoff(1, 5*time.Second); d != time.Second {
		t.Errorf("backoff with a 5s hint = %v, want the 1s maximum", d)
	}
}

func TestTransientNetError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{syscall.ECONNRESET, true},
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{errors.New("x509: certificate signed by unknown authority"), false},
	} {
		if got := TransientNetError(tc.err); got != tc.want {
			t.Errorf("TransientNetError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestTransientStatus(t *testing.T) {
	for code, want := range map[int]bool{
		http.StatusOK: false, http.StatusNotFound: false, http.StatusPreconditionFailed: false,
		http.StatusTooManyRequests: true, http.StatusInternalServerError: true, http.StatusServiceUnavailable: true,
	} {
		if got := TransientStatus(code); got != want {
			t.Errorf("TransientStatus(%d) = %v, want %v", code, got, want)
		}
	}
}
