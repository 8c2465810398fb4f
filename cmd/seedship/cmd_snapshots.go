package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/snapshot"
)

// snapshotJSON is the --json form of a snapshot.
type snapshotJSON struct {
	ID      string   `json:"id"`
	ShortID string   `json:"short_id"`
	Time    string   `json:"time"`
	Host    string   `json:"hostname"`
	User    string   `json:"username,omitempty"`
	Paths   []string `json:"paths"`
	// PathsRaw holds the exact bytes of every path (base64) when one of
	// them is not valid UTF-8, which JSON strings cannot carry.
	PathsRaw [][]byte          `json:"paths_raw,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	Tree     string            `json:"tree"`
	Parent   string            `json:"parent,omitempty"`
	Summary  *snapshot.Summary `json:"summary,omitempty"`
}

func toJSON(s *snapshot.Snapshot) snapshotJSON {
	j := snapshotJSON{ID: s.ID.String(), ShortID: s.ID.Short(), Time: s.Time.Format("2006-01-02T15:04:05.999999999Z07:00"),
		Host: s.Hostname, User: s.Username, Paths: s.Paths, Tags: s.Tags, Tree: s.Tree.String(), Summary: s.Summary}
	if s.Parent != nil {
		j.Parent = s.Parent.String()
	}
	if !slices.ContainsFunc(s.Paths, func(p string) bool { return !utf8.ValidString(p) }) {
		return j
	}
	for _, p := range s.Paths {
		j.PathsRaw = append(j.PathsRaw, []byte(p))
	}
	return j
}

// UnmarshalJSON restores exact paths from paths_raw.
func (j *snapshotJSON) UnmarshalJSON(b []byte) error {
	type plain snapshotJSON
	if err := json.Unmarshal(b, (*plain)(j)); err != nil {
		return err
	}
	if len(j.PathsRaw) > 0 {
		j.Paths = j.Paths[:0]
		for _, p := range j.PathsRaw {
			j.Paths = append(j.Paths, string(p))
		}
	}
	return nil
}

// quotePaths joins paths for a one-line table cell.
func quotePaths(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = quotePath(p)
	}
	return strings.Join(q, " ")
}

func newSnapshotsCmd(e env, g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "snapshots",
		Short: "List the snapshots of a repository",
		Example: `  seedship snapshots --repo /srv/backup
  seedship snapshots --repo /srv/backup --json | jq '.[].id'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := openRepo(c.Context(), e, g)
			if err != nil {
				return err
			}
			snaps, err := r.Snapshots(c.Context())
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]snapshotJSON, 0, len(snaps))
				for _, s := range snaps {
					out = append(out, toJSON(s))
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTime\tHost\tPaths\tSize")
			for _, s := range snaps {
				size := ""
				if s.Summary != nil {
					size = formatBytes(int64(s.Summary.BytesProcessed))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID.Short(), s.Time.Local().Format("2006-01-02 15:04:05"), quotePath(s.Hostname), quotePaths(s.Paths), size)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			printf(e.stdout, "%d snapshot(s)\n", len(snaps))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// formatBytes prints a byte count in binary units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
