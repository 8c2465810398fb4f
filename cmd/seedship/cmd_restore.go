package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/restorer"
	"github.com/seedship/seedship/internal/snapshot"
)

func newRestoreCmd(e env, g *globals) *cobra.Command {
	var (
		target           string
		include, exclude []string
		verify, asJSON   bool
		ownerNames       bool
	)
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT --target DIR",
		Short: "Restore a snapshot, whole or in part",
		Long: `restore writes the files of SNAPSHOT ("latest" or an ID prefix) below DIR,
with their metadata: modes, owners, times, extended attributes, hard links,
symlinks; sparse files stay sparse. Paths keep their absolute form below DIR
(/home/x is restored to DIR/home/x). Existing regular files are overwritten.`,
		Example: `  seedship restore --repo /srv/backup latest --target /tmp/restore
  seedship restore --repo /srv/backup 3fa9c1 --target / --include /etc/nginx
  seedship restore --repo /srv/backup latest --target /tmp/r --exclude '*.log' --verify`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if target == "" {
				return fmt.Errorf("give the folder to restore into with --target DIR")
			}
			ctx := c.Context()
			r, snap, err := openSnapshot(ctx, e, g, args[0])
			if err != nil {
				return err
			}
			prog := newRestoreProgress(e, g, asJSON)
			res, err := withRestorer(r, restorer.Options{Include: include, Exclude: exclude, Verify: verify,
				MapOwnerNames: ownerNames, Logger: logger(e, g), Progress: prog.update},
				func(rs *restorer.Restorer) (restorer.Result, error) { return rs.Restore(ctx, snap, target) })
			prog.done()
			if asJSON {
				json.NewEncoder(e.stdout).Encode(map[string]any{"message_type": "summary", "snapshot": snap.ID.String(), "target": target, "result": res, "error": errString(err)})
			} else if !g.quiet && err == nil {
				printf(e.stdout, "restored snapshot %s to %s: %d files, %d folders, %d links, %s", snap.ID.Short(), target, res.Files, res.Dirs, res.Symlinks+res.HardLinks, formatBytes(res.Bytes))
				if verify {
					printf(e.stdout, "; %d verified, %d mismatched", res.Verified, len(res.Mismatches))
				}
				printf(e.stdout, "\n")
			}
			for _, m := range res.Mismatches {
				fmt.Fprintf(e.stderr, "mismatch: %s\n", m)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&target, "target", "t", "", "restore into `DIR`")
	fl.StringArrayVarP(&include, "include", "i", nil, "restore only paths matching `PATTERN` (repeatable)")
	fl.StringArrayVarP(&exclude, "exclude", "e", nil, "skip paths matching `PATTERN` (repeatable)")
	fl.BoolVar(&verify, "verify", false, "read every restored file back and compare it with the snapshot")
	fl.BoolVar(&ownerNames, "owner-names", false, "map owners by user and group name where they exist here (default: numeric ids)")
	fl.BoolVar(&asJSON, "json", false, "print line-delimited JSON progress and a summary")
	return cmd
}

// openSnapshot opens the repository and finds the snapshot ref ("latest"
// or an ID prefix) in it.
func openSnapshot(ctx context.Context, e env, g *globals, ref string) (*repo.Repository, *snapshot.Snapshot, error) {
	r, err := openRepo(ctx, e, g)
	if err != nil {
		return nil, nil, err
	}
	snap, err := r.FindSnapshot(ctx, ref)
	return r, snap, err
}

func withRestorer(r restorer.Repository, o restorer.Options, fn func(*restorer.Restorer) (restorer.Result, error)) (restorer.Result, error) {
	rs, err := restorer.New(r, o)
	if err != nil {
		return restorer.Result{}, err
	}
	return fn(rs)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func newLsCmd(e env, g *globals) *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use:   "ls SNAPSHOT [PATH]",
		Short: "List the files of a snapshot",
		Example: `  seedship ls --repo /srv/backup latest
  seedship ls --repo /srv/backup 3fa9c1 /etc --long`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			r, snap, err := openSnapshot(ctx, e, g, args[0])
			if err != nil {
				return err
			}
			p := ""
			if len(args) == 2 {
				p = args[1]
			}
			return restorer.List(ctx, r, snap, p, func(path string, n *snapshot.Node) error {
				if long {
					printf(e.stdout, "%s %5d %5d %12d %s %s%s\n", n.Mode, n.UID, n.GID, n.Size, n.ModTime.Local().Format(time.DateTime), quotePath(path), linkSuffix(n))
				} else {
					printf(e.stdout, "%s\n", quotePath(path))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&long, "long", "l", false, "show mode, owner, size and time")
	return cmd
}

// quotePath quotes names with control characters so each entry stays on one line.
func quotePath(p string) string {
	if strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f || r == 0xfffd }) {
		return fmt.Sprintf("%q", p)
	}
	return p
}

func linkSuffix(n *snapshot.Node) string {
	if n.Type == snapshot.TypeSymlink {
		return " -> " + quotePath(n.LinkTarget)
	}
	return ""
}

func newDumpCmd(e env, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "dump SNAPSHOT PATH",
		Short: "Write one file of a snapshot to standard output",
		Example: `  seedship dump --repo /srv/backup latest /etc/hosts
  seedship dump --repo /srv/backup latest /stdin > mydb.sql`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			r, snap, err := openSnapshot(ctx, e, g, args[0])
			if err != nil {
				return err
			}
			return restorer.Dump(ctx, r, snap.Tree, args[1], e.stdout)
		},
	}
}
