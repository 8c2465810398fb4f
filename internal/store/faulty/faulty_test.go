package faulty_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store {
		// A rule that never fires must not disturb anything.
		return faulty.New(mem.New(), faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Prefix: "never/"}))
	})
}

func put(st store.Store, name, data string) error {
	return st.Put(context.Background(), name, strings.NewReader(data), int64(len(data)))
}

func read(st store.Store, name string, off, n int64) ([]byte, error) {
	rc, err := st.Get(context.Background(), name, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func checkCounts(t *testing.T, st *faulty.Store, op faulty.Op, calls, injected int) {
	t.Helper()
	if got := st.Count(op); got != calls {
		t.Errorf("Count(%s) = %d, want %d", op, got, calls)
	}
	if got := st.Injected(op); got != injected {
		t.Errorf("Injected(%s) = %d, want %d", op, got, injected)
	}
}

func TestFailNth(t *testing.T) {
	inner := mem.New()
	st := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Nth: 2}))
	for i, wantFail := range []bool{false, true, false, false} {
		name := fmt.Sprintf("data/%d", i)
		err := put(st, name, "x")
		if got := errors.Is(err, faulty.ErrInjected); got != wantFail {
			t.Errorf("Put #%d = %v, want injected fault: %v", i+1, err, wantFail)
		}
		_, serr := inner.Stat(t.Context(), name)
		if exists := serr == nil; exists == wantFail {
			t.Errorf("after Put #%d (%v), object exists: %v", i+1, err, exists)
		}
	}
	checkCounts(t, st, faulty.OpPut, 4, 1)
}

func TestFailAfter(t *testing.T) {
	inner := mem.New()
	put(inner, "config", "cfg")
	st := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpGet, After: 2}))
	for i, wantFail := range []bool{false, false, true, true} {
		_, err := read(st, "config", 0, -1)
		if got := errors.Is(err, faulty.ErrInjected); got != wantFail {
			t.Errorf("Get #%d = %v, want injected fault: %v", i+1, err, wantFail)
		}
	}
	checkCounts(t, st, faulty.OpGet, 4, 2)
}

func TestPrefixAndError(t *testing.T) {
	st := faulty.New(mem.New(), faulty.WithRules(faulty.Rule{Op: faulty.OpDelete, Prefix: "locks/", Err: store.ErrPermission}))
	put(st, "locks/a", "l")
	put(st, "index/a", "i")
	if err := st.Delete(t.Context(), "index/a"); err != nil {
		t.Errorf("Delete(index/a) = %v, want nil", err)
	}
	err := st.Delete(t.Context(), "locks/a")
	if !errors.Is(err, store.ErrPermission) || !strings.Contains(err.Error(), "locks/a") {
		t.Errorf("Delete(locks/a) = %v, want ErrPermission naming the object", err)
	}
	checkCounts(t, st, faulty.OpDelete, 2, 1)
}

func TestErrInjectedIsTransient(t *testing.T) {
	for _, e := range []error{store.ErrNotFound, store.ErrExists, store.ErrInvalidName, store.ErrPermission} {
		if errors.Is(faulty.ErrInjected, e) {
			t.Errorf("ErrInjected wraps %v", e)
		}
	}
}

func TestProbabilityDeterministic(t *testing.T) {
	pattern := func(seed uint64) string {
		inner := mem.New()
		put(inner, "x", "x")
		st := faulty.New(inner, faulty.WithSeed(seed), faulty.WithRules(faulty.Rule{Op: faulty.OpStat, Prob: 0.3}))
		var b strings.Builder
		for range 1000 {
			if _, err := st.Stat(t.Context(), "x"); err != nil {
				b.WriteByte('F')
			} else {
				b.WriteByte('.')
			}
		}
		if n := strings.Count(b.String(), "F"); n < 230 || n > 370 || st.Injected(faulty.OpStat) != n {
			t.Errorf("seed %d: %d faults, %d counted; want about 300", seed, n, st.Injected(faulty.OpStat))
		}
		return b.String()
	}
	if pattern(7) != pattern(7) {
		t.Errorf("same seed, different fault patterns")
	}
	if pattern(7) == pattern(8) {
		t.Errorf("different seeds, same fault pattern")
	}
}

func TestAckLostPut(t *testing.T) {
	inner := mem.New()
	st := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Effect: faulty.AckLost}))
	if err := put(st, "data/a", "hello"); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Put = %v, want injected fault", err)
	}
	if got, err := store.ReadAll(t.Context(), inner, "data/a"); err != nil || string(got) != "hello" {
		t.Errorf("after a lost ack the object holds %q, %v; want %q", got, err, "hello")
	}
	// The retry finds the object: the inner error wins, no fault is counted.
	if err := put(st, "data/a", "hello"); !errors.Is(err, store.ErrExists) {
		t.Errorf("retried Put = %v, want ErrExists", err)
	}
	checkCounts(t, st, faulty.OpPut, 2, 1)
}

func TestAckLostDelete(t *testing.T) {
	inner := mem.New()
	put(inner, "locks/a", "l")
	st := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpDelete, Effect: faulty.AckLost}))
	if err := st.Delete(t.Context(), "locks/a"); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Delete = %v, want injected fault", err)
	}
	if _, err := inner.Stat(t.Context(), "locks/a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a lost delete ack, Stat = %v, want ErrNotFound", err)
	}
	checkCounts(t, st, faulty.OpDelete, 1, 1)
}

func TestFailList(t *testing.T) {
	inner := mem.New()
	put(inner, "snapshots/a", "s")
	st := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpList, Prefix: "snapshots/", Nth: 1}))
	called := false
	err := st.List(t.Context(), "snapshots/", func(store.Info) error { called = true; return nil })
	if !errors.Is(err, faulty.ErrInjected) || called {
		t.Errorf("List = %v (fn called: %v), want injected fault before any call", err, called)
	}
	if err := st.List(t.Context(), "snapshots/", func(store.Info) error { return nil }); err != nil {
		t.Errorf("second List = %v, want nil", err)
	}
	checkCounts(t, st, faulty.OpList, 2, 1)
}

func TestLatency(t *testing.T) {
	const d = 30 * time.Millisecond
	st := faulty.New(mem.New(), faulty.WithRules(faulty.Rule{Op: faulty.OpStat, Effect: faulty.Delay, Latency: d}))
	start := time.Now()
	if _, err := st.Stat(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delayed Stat = %v, want the inner ErrNotFound", err)
	}
	if el := time.Since(start); el < d {
		t.Errorf("delayed Stat took %v, want at least %v", el, d)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	if _, err := st.Stat(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stat whose context ends during the delay = %v, want DeadlineExceeded", err)
	}
	checkCounts(t, st, faulty.OpStat, 2, 1)
}

func TestFlipBitAt(t *testing.T) {
	inner := mem.New()
	data := []byte("0123456789abcdef")
	put(inner, "data/p", string(data))
	st := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpGet, Effect: faulty.FlipBit, FlipAt: 3}))
	got, err := read(st, "data/p", 4, 8)
	want := bytes.Clone(data[4:12])
	want[3] ^= 1
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Get with a flip at 3 = %q, %v; want %q", got, err, want)
	}
	// Too short a range: nothing flipped, nothing counted.
	if got, err := read(st, "data/p", 0, 2); err != nil || !bytes.Equal(got, data[:2]) {
		t.Errorf("short Get = %q, %v; want %q", got, err, data[:2])
	}
	if got, _ := store.ReadAll(t.Context(), inner, "data/p"); !bytes.Equal(got, data) {
		t.Errorf("inner object changed to %q", got)
	}
	checkCounts(t, st, faulty.OpGet, 2, 1)
}

func TestFlipBitRandom(t *testing.T) {
	inner := mem.New()
	data := bytes.Repeat([]byte{0x5a}, 4096)
	put(inner, "data/p", string(data))
	st := faulty.New(inner, faulty.WithSeed(3), faulty.WithRules(faulty.Rule{Op: faulty.OpGet, Effect: faulty.FlipBit, FlipAt: -1}))
	for i := range 20 {
		got, err := read(st, "data/p", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if d := bitDiff(got, data); d != 1 {
			t.Fatalf("Get #%d: %d bits differ, want 1", i+1, d)
		}
	}
	checkCounts(t, st, faulty.OpGet, 20, 20)
}

func bitDiff(a, b []byte) int {
	n := 0
	for i := range a {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

func TestAddAndClearRules(t *testing.T) {
	st := faulty.New(mem.New())
	if err := put(st, "a", "a"); err != nil {
		t.Fatal(err)
	}
	st.AddRule(faulty.Rule{Op: faulty.OpPut})
	if err := put(st, "b", "b"); !errors.Is(err, faulty.ErrInjected) {
		t.Errorf("Put after AddRule = %v, want injected fault", err)
	}
	st.ClearRules()
	if err := put(st, "b", "b"); err != nil {
		t.Errorf("Put after ClearRules = %v, want nil", err)
	}
	checkCounts(t, st, faulty.OpPut, 3, 1)
}
