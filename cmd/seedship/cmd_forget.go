package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/forget"
	"github.com/seedship/seedship/internal/pruner"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
)

func newForgetCmd(e env, g *globals) *cobra.Command {
	var (
		pf            forget.PolicyFlags
		prune, dryRun bool
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "forget",
		Short: "Remove snapshots according to a retention policy",
		Long: `forget applies the retention rules to each group of snapshots (same host and
paths) and removes the snapshots no rule keeps. A snapshot is kept when any
rule keeps it. The data of removed snapshots stays in the repository until
prune (or forget --prune) removes it.`,
		Example: `  seedship forget --repo /srv/backup --keep-daily 7 --keep-weekly 5 --keep-monthly 12
  seedship forget --repo /srv/backup --keep-last 10 --prune
  seedship forget --repo /srv/backup --keep-within 720h --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := pf.Policy()
			if errors.Is(err, forget.ErrEmptyPolicy) {
				return fmt.Errorf("%w: give at least one --keep-* rule (forget never removes everything by default)", err)
			}
			if err != nil {
				return err
			}
			ctx := c.Context()
			r, err := openRepo(ctx, e, g)
			if err != nil {
				return err
			}
			return withLock(ctx, r, true, func() error {
				if err := runForget(ctx, e, r, p, dryRun, asJSON); err != nil || !prune || dryRun {
					return err
				}
				return runPrune(ctx, e, g, r, pruner.DefaultMaxUnusedPercent, false)
			})
		},
	}
	fl := cmd.Flags()
	pf.AddFlags(fl)
	fl.BoolVar(&prune, "prune", false, "prune the repository afterwards")
	fl.BoolVarP(&dryRun, "dry-run", "n", false, "show what would be removed, remove nothing")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runForget(ctx context.Context, e env, r *repo.Repository, p forget.Policy, dryRun, asJSON bool) error {
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	keep, remove, reasons := forget.Apply(snaps, p, r.Now())
	if asJSON {
		out := map[string]any{"policy": p.String(), "keep": ids(keep), "remove": ids(remove), "dry_run": dryRun}
		if err := json.NewEncoder(e.stdout).Encode(out); err != nil {
			return err
		}
	} else {
		printf(e.stdout, "policy: %s\n", p)
		for _, s := range keep {
			printf(e.stdout, "keep   %s %s %s %s (%s)\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), quotePath(s.Hostname), quotePaths(s.Paths), strings.Join(reasons[s.ID], ", "))
		}
		for _, s := range remove {
			printf(e.stdout, "remove %s %s %s %s\n", s.ID.Short(), s.Time.Local().Format(time.DateTime), quotePath(s.Hostname), quotePaths(s.Paths))
		}
	}
	if dryRun {
		printf(e.stdout, "dry run: %d snapshot(s) would be removed\n", len(remove))
		return nil
	}
	for _, s := range remove {
		if err := r.DeleteSnapshot(ctx, s.ID); err != nil {
			return fmt.Errorf("remove snapshot %s: %w", s.ID.Short(), err)
		}
	}
	if !asJSON {
		printf(e.stdout, "%d snapshot(s) removed, %d kept\n", len(remove), len(keep))
	}
	return nil
}

func ids(snaps []*snapshot.Snapshot) []string {
	out := make([]string, len(snaps))
	for i, s := range snaps {
		out[i] = s.ID.String()
	}
	return out
}

func newPruneCmd(e env, g *globals) *cobra.Command {
	var maxUnused float64
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove data that no snapshot needs",
		Long: `prune deletes packs that no snapshot needs and repacks partly used packs
when more than --max-unused percent of the repository is unused. It holds
an exclusive lock: backups wait or fail until it is done. An interrupted
prune leaves a consistent repository; run it again to finish.`,
		Example: `  seedship prune --repo /srv/backup
  seedship prune --repo /srv/backup --max-unused 0 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			r, err := openRepo(ctx, e, g)
			if err != nil {
				return err
			}
			return withLock(ctx, r, true, func() error { return runPrune(ctx, e, g, r, maxUnused, dryRun) })
		},
	}
	cmd.Flags().Float64Var(&maxUnused, "max-unused", pruner.DefaultMaxUnusedPercent, "tolerate this `PERCENT` of unused space before repacking")
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "show what would be done, change nothing")
	return cmd
}

func runPrune(ctx context.Context, e env, g *globals, r *repo.Repository, maxUnused float64, dryRun bool) error {
	st, err := pruner.Prune(ctx, r, pruner.Options{MaxUnusedPercent: maxUnused, DryRun: dryRun})
	if err != nil {
		return fmt.Errorf("prune: %w (the repository is consistent; run prune again to finish)", err)
	}
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	printf(e.stdout, "%d snapshots keep %d blobs (%s); %s %d unused and %d unreferenced packs, repacked %d packs (%d blobs, %s); %s freed\n",
		st.Snapshots, st.UsedBlobs, formatBytes(st.UsedBytes), verb, st.PacksRemoved, st.PacksUnreferenced,
		st.PacksRepacked, st.BlobsRepacked, formatBytes(st.BytesRepacked), formatBytes(st.BytesFreed))
	return nil
}
