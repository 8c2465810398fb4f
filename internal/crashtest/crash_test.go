package crashtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/treetest"
)

// TestBackupCrashConsistency fails the Nth Put of a backup — lock, every
// pack, the intermediate and the final index file, the snapshot — for every
// N the backup makes, either before the store acts (Fail: nothing written)
// or after (AckLost: written, but the backup saw an error). After each
// interrupted backup a check that reads all data finds no error; the next
// backup completes without uploading any blob that is already stored; the
// repository then checks clean without warnings and restores bit-exact.
func TestBackupCrashConsistency(t *testing.T) {
	ctx := context.Background()
	src := newSource(t, treetest.Options{Seed: 11, Small: 40, SmallMax: 3 << 10})
	base := newRepo(t)
	counter := faulty.New(base)
	if _, err := backup(ctx, counter, src.dir); err != nil {
		t.Fatal(err)
	}
	puts := counter.Count(faulty.OpPut)
	packs, indexes := len(names(t, base, "data/")), len(names(t, base, "index/"))
	if packs <= 32 || indexes < 2 {
		t.Fatalf("scenario too small: %d packs and %d index files (want > 32 packs, so an index is written mid-backup)", packs, indexes)
	}
	t.Logf("a backup makes %d puts: %d packs, %d index files, a lock and a snapshot", puts, packs, indexes)
	for nth := 1; nth <= puts; nth++ {
		for _, effect := range []faulty.Effect{faulty.Fail, faulty.AckLost} {
			rule := faulty.Rule{Op: faulty.OpPut, Nth: nth, Effect: effect}
			t.Run(fmt.Sprintf("put%02d/%s", nth, effectName(effect)), func(t *testing.T) {
				t.Parallel() // bounded by -parallel (GOMAXPROCS)
				interrupted(t, src, rule, faulty.ErrInjected)
			})
		}
	}
}

func effectName(e faulty.Effect) string {
	if e == faulty.AckLost {
		return "acklost"
	}
	return "fail"
}

// interrupted runs a backup that rule interrupts with want, then checks
// the repository, backs up again and checks and restores.
func interrupted(t *testing.T, src *source, rule faulty.Rule, want error) {
	ctx := context.Background()
	inner := newRepo(t)
	st := faulty.New(inner, faulty.WithRules(rule))
	_, err := backup(ctx, st, src.dir)
	if got := st.Injected(rule.Op); got == 0 {
		t.Fatalf("no fault injected (backup = %v)", err)
	}
	if !errors.Is(err, want) {
		t.Fatalf("backup = %v, want %v", err, want)
	}
	mustCheck(t, inner)

	stored := names(t, inner, "data/")
	rec := &recorder{Store: inner}
	if _, err := backup(ctx, rec, src.dir); err != nil {
		t.Fatalf("backup after the interrupted one: %v", err)
	}
	for _, n := range rec.putsUnder("data/") {
		if stored[n] {
			t.Errorf("the second backup uploaded %s again", n)
		}
	}
	for blob, packs := range packBlobs(t, inner) {
		if len(packs) > 1 {
			t.Errorf("blob %s is stored in %d packs %v: the second backup uploaded it again", blob.Short(), len(packs), packs)
		}
	}
	if rep := mustCheck(t, inner); len(rep.Warnings) > 0 {
		for _, w := range rep.Warnings {
			t.Errorf("warning after the second backup: %v", w)
		}
	}
	mustRestore(t, inner, src)
}

// TestDiskFull fills the disk after a few packs: the backup fails with an
// error that still says the disk is full (syscall.ENOSPC survives every
// wrapping, so the command can tell the user), the repository checks
// clean, and once there is room again the next backup completes.
//
// A real ENOSPC from the local store needs a small file system, which
// needs a mount; this test injects the error the local store's file
// writes return instead.
func TestDiskFull(t *testing.T) {
	src := newSource(t, treetest.Options{Seed: 12, Small: 12})
	enospc := &fs.PathError{Op: "write", Path: "/backup/data/ab/.tmp-123", Err: syscall.ENOSPC}
	for _, prefix := range []string{"data/", "index/", "snapshots/"} {
		t.Run(strings.TrimSuffix(prefix, "/"), func(t *testing.T) {
			ctx := context.Background()
			inner := newRepo(t)
			rule := faulty.Rule{Op: faulty.OpPut, Prefix: prefix, After: 2, Effect: faulty.Fail, Err: enospc}
			if prefix != "data/" {
				rule.After = 0
			}
			st := faulty.New(inner, faulty.WithRules(rule))
			_, err := backup(ctx, st, src.dir)
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
				t.Fatalf("backup on a full disk = %v, want an error wrapping ENOSPC", err)
			}
			mustCheck(t, inner)
			st.ClearRules() // room again
			if _, err := backup(ctx, st, src.dir); err != nil {
				t.Fatalf("backup after space was freed: %v", err)
			}
			mustCheck(t, inner)
			mustRestore(t, inner, src)
		})
	}
}
