package retry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/store/storetest"
)

func noSleep(context.Context, time.Duration) error { return nil }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return New(mem.New(), Options{Sleep: noSleep}) })
}

// Every operation survives a store that fails 30% of calls.
func TestTransientFaults(t *testing.T) {
	ctx := context.Background()
	var rules []faulty.Rule
	for _, op := range []faulty.Op{faulty.OpPut, faulty.OpGet, faulty.OpStat, faulty.OpList, faulty.OpDelete} {
		rules = append(rules, faulty.Rule{Op: op, Prob: 0.3})
	}
	f := faulty.New(mem.New(), faulty.WithSeed(7), faulty.WithRules(rules...))
	s := New(f, Options{Sleep: noSleep, Attempts: 20})
	for i := range 50 {
		name := "obj/" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		data := bytes.Repeat([]byte{byte(i)}, 100+i)
		if err := s.Put(ctx, name, bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatalf("Put %s: %v", name, err)
		}
		got, err := store.ReadAll(ctx, s, name)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get %s = %v", name, err)
		}
		if _, err := s.Stat(ctx, name); err != nil {
			t.Fatalf("Stat %s: %v", name, err)
		}
	}
	n := 0
	if err := s.List(ctx, "obj/", func(store.Info) error { n++; return nil }); err != nil || n != 50 {
		t.Fatalf("List = %d objects, %v", n, err)
	}
	for _, op := range []faulty.Op{faulty.OpPut, faulty.OpGet, faulty.OpStat} {
		if f.Injected(op) == 0 {
			t.Errorf("no %v fault fired", op)
		}
	}
}

// An acknowledgement lost after a successful Put makes the retry see the
// object: the caller gets ErrExists, never a second copy.
func TestAckLost(t *testing.T) {
	ctx := context.Background()
	f := faulty.New(mem.New(), faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Nth: 1, Effect: faulty.AckLost}))
	s := New(f, Options{Sleep: noSleep})
	err := s.Put(ctx, "x", bytes.NewReader([]byte("data")), 4)
	if !errors.Is(err, store.ErrExists) {
		t.Errorf("Put after a lost ack = %v, want ErrExists", err)
	}
	if f.Injected(faulty.OpPut) != 1 {
		t.Errorf("ack-lost fault fired %d times, want 1", f.Injected(faulty.OpPut))
	}
}

func TestPermanentNotRetried(t *testing.T) {
	ctx := context.Background()
	f := faulty.New(mem.New())
	s := New(f, Options{Sleep: noSleep})
	if _, err := s.Get(ctx, "missing", 0, -1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get = %v", err)
	}
	if f.Count(faulty.OpGet) != 1 {
		t.Errorf("not-found Get tried %d times, want 1", f.Count(faulty.OpGet))
	}
}

func TestGivesUp(t *testing.T) {
	ctx := context.Background()
	f := faulty.New(mem.New(), faulty.WithRules(faulty.Rule{Op: faulty.OpStat}))
	s := New(f, Options{Sleep: noSleep, Attempts: 4})
	if _, err := s.Stat(ctx, "x"); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Stat = %v, want the injected error", err)
	}
	if f.Count(faulty.OpStat) != 4 {
		t.Errorf("tried %d times, want 4", f.Count(faulty.OpStat))
	}
}

func TestUnseekableBodyTriedOnce(t *testing.T) {
	ctx := context.Background()
	f := faulty.New(mem.New(), faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Nth: 1}))
	s := New(f, Options{Sleep: noSleep})
	if err := s.Put(ctx, "x", io.MultiReader(bytes.NewReader([]byte("abc"))), 3); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Put = %v", err)
	}
	if f.Count(faulty.OpPut) != 1 {
		t.Errorf("unseekable Put tried %d times, want 1", f.Count(faulty.OpPut))
	}
}
