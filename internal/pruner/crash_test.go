package pruner_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/seedship/seedship/internal/pruner"
	"github.com/seedship/seedship/internal/store/faulty"
)

// TestCrashConsistency fails the Nth Put or Delete of a prune, for every N
// the prune makes, either before the store acts (Fail) or after it acted
// (AckLost: the write happened but the prune saw an error). After each
// interrupted prune the repository must pass a full check and restore every
// snapshot; a second prune must then finish and leave a clean repository.
func TestCrashConsistency(t *testing.T) {
	base := newWorld(t)
	opts := pruner.Options{MaxUnusedPercent: 0, Workers: 1}
	counter := faulty.New(clone(t, base.st))
	stats, err := prune(t, counter, opts)
	if err != nil {
		t.Fatal(err)
	}
	puts, deletes := counter.Count(faulty.OpPut), counter.Count(faulty.OpDelete)
	if stats.PacksRepacked == 0 || stats.IndexFilesRemoved < 2 || stats.PacksRemoved < 2 || puts < 2 {
		t.Fatalf("scenario too small to exercise every step: %d puts, %d deletes, stats %+v", puts, deletes, stats)
	}
	for _, op := range []faulty.Op{faulty.OpPut, faulty.OpDelete} {
		n := puts
		if op == faulty.OpDelete {
			n = deletes
		}
		for nth := 1; nth <= n; nth++ {
			for _, effect := range []faulty.Effect{faulty.Fail, faulty.AckLost} {
				rule := faulty.Rule{Op: op, Nth: nth, Effect: effect}
				t.Run(fmt.Sprintf("%s#%d/%s", op, nth, effectName(effect)), func(t *testing.T) {
					interrupted(t, base, rule, opts)
				})
			}
		}
	}
}

func interrupted(t *testing.T, base *world, rule faulty.Rule, opts pruner.Options) {
	inner := clone(t, base.st)
	st := faulty.New(inner, faulty.WithRules(rule))
	if _, err := prune(t, st, opts); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Prune = %v, want the injected fault", err)
	}
	if got := st.Injected(rule.Op); got != 1 {
		t.Fatalf("%d faults injected, want 1", got)
	}
	base.verify(t, inner)
	if _, err := prune(t, inner, opts); err != nil {
		t.Fatalf("second Prune: %v", err)
	}
	if rep := base.verify(t, inner); len(rep.Warnings) > 0 {
		t.Errorf("warnings after the second prune: %v", rep.Warnings)
	}
}

func effectName(e faulty.Effect) string {
	if e == faulty.AckLost {
		return "acklost"
	}
	return "fail"
}
