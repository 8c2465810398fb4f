package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/seedship/seedship/internal/store"
)

func testConcurrentPut(t *testing.T, st store.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			data := randBytes(uint64(10+i), 64<<10)
			errs[i] = st.Put(t.Context(), packName(i), bytes.NewReader(data), int64(len(data)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Put(%q) = %v", packName(i), err)
		}
	}
	for i := range n {
		checkContent(t, st, packName(i), randBytes(uint64(10+i), 64<<10))
	}
	if got := listNames(t, st, "data/"); len(got) != n {
		t.Errorf("List(\"data/\") after %d concurrent Puts = %d names, want %d", n, len(got), n)
	}
}

func testConcurrentSameName(t *testing.T, st store.Store) {
	const n, name = 4, "locks/same"
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			data := randBytes(uint64(20+i), 256<<10)
			<-start
			errs[i] = st.Put(t.Context(), name, bytes.NewReader(data), int64(len(data)))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("concurrent Puts of %q: writers %d and %d both succeeded", name, winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrExists):
			t.Errorf("concurrent Put(%q) by writer %d = %v, want nil or ErrExists", name, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("concurrent Puts of %q: none succeeded: %v", name, errs)
	}
	checkContent(t, st, name, randBytes(uint64(20+winner), 256<<10))
}

func testCanceled(t *testing.T, st store.Store) {
	const name, other = "snapshots/canceled", "snapshots/present"
	mustPut(t, st, other, []byte("present"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", op, err)
		}
	}
	check("Put", st.Put(ctx, name, bytes.NewReader([]byte("x")), 1))
	_, err := st.Get(ctx, other, 0, -1)
	check("Get", err)
	_, err = st.Stat(ctx, other)
	check("Stat", err)
	check("List", st.List(ctx, "", func(store.Info) error { return nil }))
	check("Delete", st.Delete(ctx, other))
	checkAbsent(t, st, name)
	checkContent(t, st, other, []byte("present"))
}

// cancelingReader cancels its context after the first Read and keeps
// returning zeros until left is used up.
type cancelingReader struct {
	cancel context.CancelFunc
	left   int
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	c.cancel()
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left, 32<<10)
	clear(p[:n])
	c.left -= n
	return n, nil
}

func testCanceledDuringPut(t *testing.T, st store.Store) {
	const name, size = "data/ff/canceled", 1 << 20
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := st.Put(ctx, name, &cancelingReader{cancel: cancel, left: size}, size)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put canceled during upload = %v, want context.Canceled", err)
	}
	// Absence is not required (the upload may have completed before the
	// cancellation was noticed), but a visible object must be complete.
	if fi, err := st.Stat(t.Context(), name); err == nil && fi.Size != size {
		t.Errorf("after a canceled Put, Stat(%q) = %+v, want absent or %d bytes", name, fi, size)
	}
}
