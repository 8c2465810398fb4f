package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/seedship/seedship/internal/forget"
	"github.com/seedship/seedship/internal/pruner"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
)

// pruneJob is one vault prune run on an opened repository: forget the
// snapshots the policy does not keep, then prune their data, exactly as
// seedship forget --prune does on the machine.
type pruneJob struct {
	e         env
	log       *slog.Logger // the service log, with the repository's attributes
	r         *repo.Repository
	where     string // names the repository in messages
	policy    forget.Policy
	maxUnused float64
	dryRun    bool
}

// run holds the repository's lock (exclusive; shared for a dry run, which
// changes nothing) for the whole forget and prune.
func (j *pruneJob) run(ctx context.Context) error {
	lock, err := j.r.Lock(ctx, !j.dryRun)
	if err != nil {
		return fmt.Errorf("%s: %w", j.where, err)
	}
	defer func() {
		if err := lock.Unlock(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(j.e.stderr, "seedshipd: warning: remove the lock of %s: %v (it is stale after %s)\n", j.where, err, repo.LockStale)
		}
	}()
	fmt.Fprintf(j.e.stdout, "repository of %s\npolicy: %s\n", j.where, j.policy)
	keep, remove, err := j.forget(ctx)
	if err != nil {
		return err
	}
	// A dry run removed nothing: prune then plans as if the snapshots to
	// remove were gone.
	var pr pruner.Repository = j.r
	if j.dryRun {
		pr = keptOnly{Repository: j.r, kept: keep}
	}
	st, err := pruner.Prune(ctx, pr, pruner.Options{MaxUnusedPercent: j.maxUnused, DryRun: j.dryRun})
	auditLog(j.log, j.policy, len(remove), st, j.dryRun)
	if err != nil {
		return fmt.Errorf("prune %s: %w (the repository is consistent; run vault prune again to finish)", j.where, err)
	}
	j.printPrune(st)
	return nil
}

// forget prints the policy's decision and, unless this is a dry run,
// deletes the snapshots it does not keep.
func (j *pruneJob) forget(ctx context.Context) (keep, remove []*snapshot.Snapshot, err error) {
	snaps, err := j.r.Snapshots(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list snapshots of %s: %w", j.where, err)
	}
	keep, remove, reasons := forget.Apply(snaps, j.policy, j.r.Now())
	out := j.e.stdout
	for _, s := range keep {
		fmt.Fprintf(out, "keep   %s (%s)\n", describe(s), strings.Join(reasons[s.ID], ", "))
	}
	for _, s := range remove {
		fmt.Fprintf(out, "remove %s\n", describe(s))
	}
	if j.dryRun {
		fmt.Fprintf(out, "dry run: %d snapshot(s) would be removed, %d kept\n", len(remove), len(keep))
		return keep, remove, nil
	}
	for i, s := range remove {
		if err := j.r.DeleteSnapshot(ctx, s.ID); err != nil {
			auditLog(j.log, j.policy, i, nil, false)
			return nil, nil, fmt.Errorf("remove snapshot %s of %s: %w", s.ID.Short(), j.where, err)
		}
	}
	fmt.Fprintf(out, "%d snapshot(s) removed, %d kept\n", len(remove), len(keep))
	return keep, remove, nil
}

func (j *pruneJob) printPrune(st *pruner.Stats) {
	verb := "removed"
	if j.dryRun {
		verb = "would remove"
	}
	fmt.Fprintf(j.e.stdout, "prune: %d snapshot(s) keep %d blobs (%s); %s %d unused and %d unreferenced packs, repacked %d packs (%d blobs, %s); %s freed\n",
		st.Snapshots, st.UsedBlobs, formatBytes(st.UsedBytes), verb, st.PacksRemoved, st.PacksUnreferenced,
		st.PacksRepacked, st.BlobsRepacked, formatBytes(st.BytesRepacked), formatBytes(st.BytesFreed))
	if st.PacksMissing > 0 {
		fmt.Fprintf(j.e.stdout, "prune: %d pack(s) listed in the index were missing from the store and were dropped from the index\n", st.PacksMissing)
	}
	if j.dryRun {
		fmt.Fprintln(j.e.stdout, "dry run: nothing was changed")
	}
}

// keptOnly is the repository as prune sees it after forget: for a dry run,
// which deletes no snapshot, it lists only the snapshots the policy keeps.
type keptOnly struct {
	*repo.Repository
	kept []*snapshot.Snapshot
}

func (k keptOnly) Snapshots(context.Context) ([]*snapshot.Snapshot, error) { return k.kept, nil }

// describe is one snapshot in a line: short id, time, host and paths.
// Host and paths come from the customer's machine: anything unprintable is
// quoted so it cannot play tricks on the admin's terminal.
func describe(s *snapshot.Snapshot) string {
	paths := make([]string, len(s.Paths))
	for i, p := range s.Paths {
		paths[i] = quoteOdd(p)
	}
	return fmt.Sprintf("%s %s %s %s", s.ID.Short(), s.Time.Format(time.RFC3339), quoteOdd(s.Hostname), strings.Join(paths, " "))
}

// quoteOdd quotes s when it is empty or holds spaces, quotes or
// unprintable characters.
func quoteOdd(s string) string {
	odd := s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r == ' ' || r == '"' || r == '\\' || !unicode.IsPrint(r)
	})
	if odd {
		return strconv.Quote(s)
	}
	return s
}

// formatBytes renders n in binary units: "512 B", "1.5 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for ; (v >= unit || v <= -unit) && i < 5; i++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}
