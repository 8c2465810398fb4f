package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/seed"
	"github.com/seedship/seedship/internal/vault"
)

type diskprepFlags struct {
	staging, accountFile, job string
	drives                    []string
	capacity                  int64
	yes, noVerify             bool
}

func newDiskprepCmd(e env, g *globals) *cobra.Command {
	f := &diskprepFlags{}
	cmd := &cobra.Command{
		Use:   "diskprep --staging DIR --drive PATH [--drive PATH]...",
		Short: "Copy a staging location onto drives and create the import job",
		Long: `diskprep copies the staging location written by "seedship backup --offline"
onto one drive after another (each a mounted, empty filesystem), writes and
verifies each drive's manifest, then creates the import job at the service
and prints the datacenter's shipping address. When the given drives are full
it asks for the next one on a terminal; otherwise it stops and tells you how
to continue. Interrupted, it resumes where it stopped when run again with
the same drives: nothing is copied twice.`,
		Example: `  seedship diskprep --staging /mnt/staging --drive /media/disk1 --drive /media/disk2
  seedship diskprep --staging /mnt/staging --account-settings acme.json --drive /media/disk1 --yes`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDiskprep(c.Context(), e, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.staging, "staging", "", "the staging location `DIR`")
	fl.StringVar(&f.accountFile, "account-settings", "", "account settings `FILE` (default: the staging location's copy)")
	fl.StringVar(&f.job, "job", "", "the import job's `NAME` (must match the staging location's)")
	fl.StringArrayVar(&f.drives, "drive", nil, "mount point `PATH` of an empty drive (repeatable, in order)")
	fl.Int64Var(&f.capacity, "drive-capacity", 0, "use at most `BYTES` of each drive")
	fl.BoolVar(&f.yes, "yes", false, "erase drives that are not empty without asking")
	fl.BoolVar(&f.noVerify, "no-verify", false, "do not read each drive back after writing it")
	return cmd
}

func runDiskprep(ctx context.Context, e env, g *globals, f *diskprepFlags) error {
	s, err := openStaged(ctx, f.staging, f.accountFile)
	if err != nil {
		return err
	}
	if f.job != "" && f.job != s.rec.Job {
		return fmt.Errorf("%s is the staging location of import job %s, not %s", s.dir, s.rec.Job, f.job)
	}
	if ij := s.rec.ImportJob; ij != nil {
		printf(e.stdout, "import job %s was already created (%s, %d drives): nothing to do\n", s.rec.Job, ij.State, len(ij.Drives))
		printNextSteps(e, s, len(ij.Drives), ij.DatacenterAddress)
		return nil
	}
	if len(s.rec.Snapshots) == 0 {
		return fmt.Errorf("%s holds no finished snapshot yet: run seedship backup --offline --staging %s again", s.dir, s.dir)
	}
	key, _, err := seed.JobKey(s.dir, rand.Reader)
	if err != nil {
		return err
	}
	res, err := drive.Prep(ctx, prepOptions(e, g, f, s, key))
	if res != nil {
		printDrives(e, res)
	}
	if err != nil {
		return explainPrepError(s.dir, err)
	}
	return createJob(ctx, e, s, key, res)
}

func prepOptions(e env, g *globals, f *diskprepFlags, s *staged, key []byte) drive.Options {
	o := drive.Options{
		Staging: s.dir, Job: s.rec.Job, JobKey: key, Drives: f.drives, Capacity: f.capacity,
		SkipVerify: f.noVerify, Erase: f.yes,
	}
	if !g.quiet {
		o.Progress = func(ev drive.Event) { prepProgress(e, ev) }
	}
	if e.terminal {
		p := newPrompter(e)
		o.NextDrive = func(_ context.Context, seq int) (string, error) {
			path, err := p.ask(fmt.Sprintf("Attach drive %d (an empty filesystem) and enter its mount point (empty: stop here)", seq), "")
			if err == nil && path == "" {
				err = errors.New("no drive given")
			}
			return path, err
		}
		o.ConfirmErase = func(_ context.Context, path string, entries []string) (bool, error) {
			a, err := p.ask(fmt.Sprintf("%s is not empty (%s): erase everything on it? Type yes to erase", path, strings.Join(entries, ", ")), "")
			return a == "yes", err
		}
	}
	return o
}

// prepProgress reports drive events on stderr.
func prepProgress(e env, ev drive.Event) {
	switch ev.Kind {
	case drive.DriveStarted:
		printf(e.stderr, "drive %d started at %s\n", ev.Seq, ev.Path)
	case drive.DriveResumed:
		printf(e.stderr, "drive %d resumed at %s\n", ev.Seq, ev.Path)
	case drive.ManifestWritten:
		printf(e.stderr, "drive %d: %d files, %s written; verifying\n", ev.Seq, ev.DriveFiles, formatBytes(ev.DriveBytes))
	case drive.DriveFinished:
		printf(e.stderr, "drive %d finished: you may unplug %s (%s of %s on drives)\n", ev.Seq, ev.Path, formatBytes(ev.DoneBytes), formatBytes(ev.TotalBytes))
	}
}

// printDrives prints one line per finished drive.
func printDrives(e env, res *drive.Result) {
	for _, d := range res.Drives {
		printf(e.stdout, "drive %d  id %s  %6d files  %10s  manifest %s  (%s)\n", d.Seq, d.ID, d.Files, formatBytes(d.Bytes), d.ManifestHash[:16], d.Path)
	}
}

// explainPrepError makes drive.Prep's errors say what to do next.
func explainPrepError(dir string, err error) error {
	switch {
	case errors.Is(err, drive.ErrNeedDrive):
		return fmt.Errorf("%w: seedship diskprep --staging %s --drive NEW-DRIVE", err, dir)
	case errors.Is(err, drive.ErrDriveMissing):
		return fmt.Errorf("%w: attach it and pass its mount point with --drive, then run again", err)
	case errors.Is(err, drive.ErrNotEmpty):
		return fmt.Errorf("%w: use an empty drive, or pass --yes to erase it", err)
	case errors.Is(err, drive.ErrBusy):
		return fmt.Errorf("%w: wait for the other seedship diskprep on %s to finish", err, dir)
	}
	return fmt.Errorf("diskprep: %w", err)
}

// createJob registers the finished drives with the service as the import
// job, or adopts the job an earlier run created.
func createJob(ctx context.Context, e env, s *staged, key []byte, res *drive.Result) error {
	req := vault.CreateJobRequest{
		Name: s.rec.Job, StorageAccount: s.rec.StorageAccount, Container: s.rec.Container,
		Vault: s.rec.Vault, Machine: s.rec.Machine, JobKey: key,
	}
	for _, d := range res.Drives {
		req.Drives = append(req.Drives, importjob.Drive{ID: d.ID, Seq: d.Seq, ManifestHash: d.ManifestHash, Bytes: d.Bytes, Files: d.Files})
	}
	info, err := s.svc.CreateJob(ctx, req)
	if errors.Is(err, vault.ErrJobExists) {
		info, err = adoptJob(ctx, s, req)
	}
	if err != nil {
		return fmt.Errorf("the %d drives are ready, but creating import job %s failed: %w; run the same seedship diskprep again to retry (the drives are not touched)",
			len(res.Drives), s.rec.Job, err)
	}
	address := info.DatacenterAddress
	if address == "" {
		if address, err = s.svc.Datacenter(ctx); err != nil {
			printf(e.stderr, "warning: datacenter address not available: %v\n", err)
		}
	}
	if err := s.saveJob(info, address); err != nil {
		return fmt.Errorf("import job %s created, but the seed record was not updated: %w", s.rec.Job, err)
	}
	printf(e.stdout, "import job %s created (id %s, %s) with %d drives\n", info.Job.Name, info.Job.ID, info.Job.State, len(info.Job.Drives))
	printNextSteps(e, s, len(info.Job.Drives), address)
	if what, at := info.Job.Deadline(); what != "" {
		printf(e.stdout, "%s by %s, or the job expires\n", what, at.UTC().Format(time.RFC3339))
	}
	return nil
}

// adoptJob accepts an existing job of the same name when an earlier run
// created it with this staging location's key and drives.
func adoptJob(ctx context.Context, s *staged, req vault.CreateJobRequest) (*vault.JobInfo, error) {
	info, err := s.svc.Job(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	j := &info.Job
	same := j.KeyHash == importjob.KeyHash(req.JobKey) && len(j.Drives) == len(req.Drives)
	for i := 0; same && i < len(j.Drives); i++ {
		same = j.Drives[i].ID == req.Drives[i].ID && j.Drives[i].ManifestHash == req.Drives[i].ManifestHash
	}
	if !same {
		return nil, fmt.Errorf("%w: import job %s already exists in account %s with other drives: choose a new job name with a new staging location",
			vault.ErrJobExists, req.Name, s.acc.Settings.Name)
	}
	return info, nil
}

func printNextSteps(e env, s *staged, n int, address string) {
	if address == "" {
		address = "(the datacenter address was not available: see seedship shipping --staging " + s.dir + " --status)"
	}
	printf(e.stdout, "\nship the %d drives in one package to:\n\n%s\n\n", n, indent(address, "    "))
	printf(e.stdout, "then run: seedship shipping --staging %s\n", s.dir)
}

func indent(s, prefix string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
