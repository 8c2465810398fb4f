package crashtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/restorer"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/store/retry"
	"github.com/seedship/seedship/internal/treetest"
)

var allOps = []faulty.Op{faulty.OpPut, faulty.OpGet, faulty.OpStat, faulty.OpList, faulty.OpDelete}

// flaky returns inner behind a store that fails (or, for Put and Delete,
// loses the acknowledgement of) rate of all requests.
func flaky(inner store.Store, rate float64, seed uint64) *faulty.Store {
	var rules []faulty.Rule
	for _, op := range allOps {
		rules = append(rules, faulty.Rule{Op: op, Prob: rate, Effect: faulty.Fail})
		if op == faulty.OpPut || op == faulty.OpDelete {
			rules = append(rules, faulty.Rule{Op: op, Prob: rate, Effect: faulty.AckLost})
		}
	}
	return faulty.New(inner, faulty.WithSeed(seed), faulty.WithRules(rules...))
}

func noSleep(context.Context, time.Duration) error { return nil }

// TestFaultRate backs up, checks and restores through a store that fails
// 10% of all requests with a transient error, behind the retrying store:
// everything succeeds. Without the retrying store the backup fails, so
// the retries are what makes it work.
func TestFaultRate(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, treetest.Options{Seed: 13, Small: 20, Special: true})
	injected := map[faulty.Op]int{}
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			inner := newRepo(t)
			f := flaky(inner, 0.1, seed)
			st := retry.New(f, retry.Options{Sleep: noSleep})
			if _, err := backup(ctx, st, src.dir); err != nil {
				t.Fatalf("backup with 10%% transient faults: %v", err)
			}
			if _, err := backup(ctx, st, src.dir); err != nil {
				t.Fatalf("second backup with 10%% transient faults: %v", err)
			}
			mustCheck(t, st)
			mustRestore(t, st, src)
			for _, op := range allOps {
				injected[op] += f.Injected(op)
			}
			if rep := mustCheck(t, inner); len(rep.Warnings) > 0 {
				t.Errorf("warnings: %v", rep.Warnings)
			}
		})
	}
	for _, op := range []faulty.Op{faulty.OpPut, faulty.OpGet, faulty.OpList} {
		if injected[op] == 0 {
			t.Errorf("no fault was injected into %s: %v", op, injected)
		}
	}
	t.Run("without retries", func(t *testing.T) {
		inner := newRepo(t)
		if _, err := backup(ctx, flaky(inner, 0.1, 1), src.dir); !errors.Is(err, faulty.ErrInjected) {
			t.Fatalf("backup without retries = %v, want the injected fault", err)
		}
		mustCheck(t, inner)
	})
}

// TestFlippedBitDetected flips one random bit in what reads of packs
// return. A check that reads data reports it every time; a restore fails
// for whichever single read of a pack is damaged — never writing wrong
// content silently.
func TestFlippedBitDetected(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, treetest.Options{Seed: 14, Small: 6, Big: 300 << 10})
	inner := newRepo(t)
	if _, err := backup(ctx, inner, src.dir); err != nil {
		t.Fatal(err)
	}
	flip := func(nth int) faulty.Rule {
		return faulty.Rule{Op: faulty.OpGet, Prefix: "data/", Nth: nth, Effect: faulty.FlipBit, FlipAt: -1}
	}
	for seed := uint64(1); seed <= 5; seed++ {
		st := faulty.New(inner, faulty.WithSeed(seed), faulty.WithRules(flip(0)))
		rep, err := checker.Check(ctx, open(t, st), checker.Options{ReadData: true})
		if !errors.Is(err, checker.ErrBroken) || len(rep.Errors) == 0 {
			t.Errorf("seed %d: check --read-data with flipped bits = %v, want errors", seed, err)
		}
	}
	// A Delay rule without latency counts the reads of packs.
	counter := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpGet, Prefix: "data/", Effect: faulty.Delay}))
	if err := restore(ctx, t, counter); err != nil {
		t.Fatal(err)
	}
	gets := counter.Injected(faulty.OpGet)
	if gets < 3 {
		t.Fatalf("a restore reads packs %d times, want several", gets)
	}
	for nth := 1; nth <= gets; nth++ {
		for seed := uint64(1); seed <= 3; seed++ {
			st := faulty.New(inner, faulty.WithSeed(seed), faulty.WithRules(flip(nth)))
			err := restore(ctx, t, st)
			if st.Injected(faulty.OpGet) != 1 {
				t.Fatalf("read %d, seed %d: %d bits flipped, want 1", nth, seed, st.Injected(faulty.OpGet))
			}
			if err == nil {
				t.Errorf("read %d, seed %d: restore with a flipped bit succeeded", nth, seed)
			}
		}
	}
}

// restore restores the latest snapshot from st into a new directory.
func restore(ctx context.Context, t *testing.T, st store.Store) error {
	t.Helper()
	r := open(t, st)
	snap, err := r.FindSnapshot(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := restorer.New(r, restorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rs.Restore(ctx, snap, t.TempDir())
	return err
}
