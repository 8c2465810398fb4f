package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/archiver"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
)

type backupFlags struct {
	json             bool
	excludes         []string
	excludeFiles     []string
	excludeIfPresent []string
	tags             []string
	host             string
	force            bool
	stdin            bool
	stdinFilename    string
	offlineFlags
}

func newBackupCmd(e env, g *globals) *cobra.Command {
	f := &backupFlags{}
	cmd := &cobra.Command{
		Use:   "backup [flags] PATH...",
		Short: "Back up files and directories into a new snapshot",
		Long: `backup stores the given paths in a new snapshot. Unchanged files (same size,
mtime, ctime and inode as in the previous snapshot of the same host and
paths) are not read again. Exit code 3 means the snapshot was saved but some
files could not be read; each is named on stderr.`,
		Example: `  seedship backup --repo /srv/backup /home /etc
  seedship backup --repo /srv/backup --exclude '*.tmp' --exclude-if-present .nobackup /home
  pg_dump mydb | seedship backup --repo /srv/backup --stdin --stdin-filename mydb.sql
  seedship backup --repo /srv/backup --json /var/www > backup.log`,
		RunE: func(c *cobra.Command, args []string) error {
			return runBackup(c.Context(), e, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "print line-delimited JSON progress and a summary object")
	fl.StringArrayVarP(&f.excludes, "exclude", "e", nil, "exclude files matching `PATTERN` (repeatable)")
	fl.StringArrayVar(&f.excludeFiles, "exclude-file", nil, "read exclude patterns from `FILE`, one per line (repeatable)")
	fl.StringArrayVar(&f.excludeIfPresent, "exclude-if-present", nil, "skip directories that contain a file named `NAME` (repeatable)")
	fl.StringArrayVar(&f.tags, "tag", nil, "add a tag to the snapshot (repeatable)")
	fl.StringVar(&f.host, "host", "", "host name recorded in the snapshot (default: this machine's)")
	fl.BoolVar(&f.force, "force", false, "read every file, ignoring the previous snapshot")
	fl.BoolVar(&f.stdin, "stdin", false, "back up standard input as one file")
	fl.StringVar(&f.stdinFilename, "stdin-filename", "stdin", "file `NAME` for --stdin")
	fl.BoolVar(&f.offline, "offline", false, "offline seeding: write the backup into --staging, to be shipped on drives")
	fl.StringVar(&f.staging, "staging", "", "with --offline: the staging location `DIR`")
	fl.StringVar(&f.job, "job", "", "with --offline: the import job's `NAME`")
	fl.StringVar(&f.accountFile, "account-settings", "", "with --offline: the account settings `FILE`")
	fl.StringVar(&f.storageAccount, "storage-account", "", "with --offline: the storage account `SA` the drives are imported to")
	fl.StringVar(&f.container, "container", "", "with --offline: the storage `CONTAINER` the drives are imported to")
	return cmd
}

func runBackup(ctx context.Context, e env, g *globals, f *backupFlags, args []string) error {
	if f.offline {
		return runOfflineBackup(ctx, e, g, f, args)
	}
	if f.stdin && len(args) > 0 {
		return errors.New("--stdin backs up standard input only: give no paths")
	}
	if !f.stdin && len(args) == 0 {
		return errors.New("nothing to back up: give one or more paths (or --stdin)")
	}
	// Bad exclude patterns fail before the password is asked for.
	if _, err := collectExcludes(f); err != nil {
		return err
	}
	out := e.stdout
	if f.json {
		out = e.stderr
	}
	sr, err := startSeed(ctx, e, g, out)
	if err != nil {
		return err
	}
	r, err := openRepo(ctx, e, g)
	if err != nil {
		return err
	}
	if err := sr.repairRepo(ctx, e, g, r); err != nil {
		return err
	}
	snap, res, err := backupInto(ctx, e, g, f, r, args)
	if err != nil {
		return err
	}
	if err := sr.finish(ctx, e, r); err != nil {
		return fmt.Errorf("snapshot %s saved, but: %w", snap.ID.Short(), err)
	}
	for _, fe := range res.Errors {
		fmt.Fprintf(e.stderr, "error: %v\n", fe)
	}
	printBackupSummary(e, g, f, snap, res)
	if len(res.Errors) > 0 {
		return &exitError{code: exitPartial, err: fmt.Errorf("snapshot %s saved, but %d file(s) or folder(s) could not be read (listed above)", snap.ID.Short(), len(res.Errors))}
	}
	return nil
}

func backupSnapshot(ctx context.Context, e env, g *globals, f *backupFlags, r *repo.Repository, excludes, args []string) (*snapshot.Snapshot, archiver.Result, error) {
	prog := newBackupProgress(e, g, f.json)
	defer prog.done()
	opts := archiver.Options{
		Excludes: excludes, ExcludeIfPresent: f.excludeIfPresent, Tags: f.tags, Host: f.host,
		Logger: logger(e, g), Progress: prog.callback(), ProgramVersion: version,
	}
	if !f.force && !f.stdin {
		parent, err := findParent(ctx, r, opts.Host, args)
		if err != nil {
			return nil, archiver.Result{}, err
		}
		opts.Parent = parent
	}
	a, err := archiver.New(r, opts)
	if err != nil {
		return nil, archiver.Result{}, err
	}
	if f.stdin {
		return a.SnapshotReader(ctx, f.stdinFilename, e.stdin)
	}
	return a.Snapshot(ctx, args)
}

// findParent returns the newest snapshot of the same host and paths.
func findParent(ctx context.Context, r *repo.Repository, host string, args []string) (*snapshot.Snapshot, error) {
	if host == "" {
		host, _ = os.Hostname()
	}
	paths, err := archiver.CleanPaths(args)
	if err != nil {
		return nil, err
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		sp := slices.Sorted(slices.Values(s.Paths))
		if s.Hostname == host && slices.Equal(sp, paths) {
			return s, nil
		}
	}
	return nil, nil
}

func collectExcludes(f *backupFlags) ([]string, error) {
	out := slices.Clone(f.excludes)
	for _, name := range f.excludeFiles {
		file, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("exclude file: %w", err)
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, line)
			}
		}
		file.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("exclude file %s: %w", name, err)
		}
	}
	return out, nil
}
