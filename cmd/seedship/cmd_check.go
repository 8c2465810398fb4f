package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/checker"
)

func newCheckCmd(e env, g *globals) *cobra.Command {
	var readData bool
	var subset string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Verify the repository's structure, and optionally its data",
		Long: `check verifies every invariant of the repository format: index files, pack
headers, snapshots, and every tree and chunk they reach. --read-data also
reads every pack in full: its SHA-256 must match its name and every chunk
must decrypt and hash to its ID. --read-data-subset N% reads a random N% of
the packs, so a schedule of checks covers everything over time.`,
		Example: `  seedship check --repo /srv/backup
  seedship check --repo /srv/backup --read-data
  seedship check --repo /srv/backup --read-data-subset 10%`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o := checker.Options{ReadData: readData, Seed: rand.Uint64()}
			if subset != "" {
				if readData {
					return fmt.Errorf("give either --read-data or --read-data-subset, not both")
				}
				f, err := parsePercent(subset)
				if err != nil {
					return err
				}
				o.ReadDataSubset = f
			}
			ctx := c.Context()
			r, err := openRepo(ctx, e, g)
			if err != nil {
				return err
			}
			var rep *checker.Report
			err = withLock(ctx, r, false, func() error {
				var err error
				rep, err = checker.Check(ctx, r, o)
				return err
			})
			if rep != nil {
				for _, w := range rep.Warnings {
					fmt.Fprintf(e.stderr, "warning: %v\n", w)
				}
				for _, p := range rep.Errors {
					fmt.Fprintf(e.stderr, "error: %v\n", p)
				}
				printf(e.stdout, "checked %d snapshots, %d trees, %d packs, %d blobs in %d index files", rep.Snapshots, rep.Trees, rep.Packs, rep.Blobs, rep.IndexFiles)
				if rep.PacksRead > 0 {
					printf(e.stdout, "; read %d packs (%s)", rep.PacksRead, formatBytes(rep.BytesRead))
				}
				printf(e.stdout, ": %d errors, %d warnings\n", len(rep.Errors), len(rep.Warnings))
			}
			if err != nil {
				seedCheckHint(e, g)
				return fmt.Errorf("check failed: %w", err)
			}
			printf(e.stdout, "no errors were found\n")
			return nil
		},
	}
	cmd.Flags().BoolVar(&readData, "read-data", false, "read and verify every pack")
	cmd.Flags().StringVar(&subset, "read-data-subset", "", "read and verify a random `N%` of the packs")
	return cmd
}

func parsePercent(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || f <= 0 || f > 100 || !strings.HasSuffix(s, "%") {
		return 0, fmt.Errorf("--read-data-subset %q: give a percentage between 0%% and 100%%, like 10%%", s)
	}
	return f / 100, nil
}
