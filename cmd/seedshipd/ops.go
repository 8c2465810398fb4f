package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/importer"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/service"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/location"
)

// progressEvery is how often ops import prints a progress line.
const progressEvery = 5 * time.Second

func newOpsCmd(e env) *cobra.Command {
	c := &cobra.Command{
		Use:   "ops",
		Short: "Datacenter operations: receive, import and ship back the drives of import jobs",
		Long: `ops is the datacenter's side of offline seeding. Drives arrive and are
received against their import job (ops receive), each drive's files are
copied into the job's storage container, verified against the drive's
manifest (ops import), drives that never arrive are given up
(ops never-received), and the drives go back to the customer (ops ship-back).
ops jobs lists the work queue.`,
	}
	c.AddCommand(newOpsReceiveCmd(e), newOpsImportCmd(e), newOpsNeverReceivedCmd(e), newOpsShipBackCmd(e), newOpsJobsCmd(e))
	return c
}

// opsFlags name one import job.
type opsFlags struct {
	dir, job, account string
}

func (f *opsFlags) add(c *cobra.Command) {
	dataFlag(c, &f.dir)
	c.Flags().StringVar(&f.job, "job", "", "the import job's name (required)")
	c.MarkFlagRequired("job")
	c.Flags().StringVar(&f.account, "account", "", "the account owning the job, when jobs of several accounts have that name")
}

// withJob opens the data folder, finds the job's account and calls fn with
// an importer.
func (f *opsFlags) withJob(ctx context.Context, e env, o importerOptions, fn func(im *importer.Importer, accountID string) error) error {
	s, err := open(ctx, e, f.dir)
	if err != nil {
		return err
	}
	defer s.Close()
	accountID, err := f.accountID(ctx, s)
	if err != nil {
		return err
	}
	im := &importer.Importer{DB: s.DB, Station: o.station, TakeOver: o.takeOver, Logger: s.Logger, Progress: o.progress,
		OpenStore: func(ctx context.Context, loc string) (store.Store, error) { return location.Open(ctx, loc, true) }}
	return fn(im, accountID)
}

// importerOptions are the flags of ops import.
type importerOptions struct {
	station  string
	takeOver bool
	progress func(importer.Progress)
}

// accountID finds the account of the job: the one --account names, or the
// only account that has a job of that name.
func (f *opsFlags) accountID(ctx context.Context, s *service.Service) (string, error) {
	if f.account != "" {
		a, err := s.DB.AccountByName(ctx, f.account)
		if errors.Is(err, meta.ErrNotFound) {
			return "", fmt.Errorf("no account %q: see seedshipd account list", f.account)
		}
		return a.ID, err
	}
	rs, err := s.DB.ListJobs(ctx, meta.JobFilter{Name: f.job})
	if err != nil {
		return "", err
	}
	switch len(rs) {
	case 0:
		return "", fmt.Errorf("no import job %q: see seedshipd ops jobs", f.job)
	case 1:
		return rs[0].Job.Account, nil
	}
	var names []string
	for _, r := range rs {
		a, err := s.DB.GetAccount(ctx, r.Job.Account)
		if err != nil {
			return "", err
		}
		names = append(names, a.Name)
	}
	return "", fmt.Errorf("accounts %s each have an import job %q: add --account NAME", strings.Join(names, ", "), f.job)
}

func newOpsReceiveCmd(e env) *cobra.Command {
	var f opsFlags
	var root string
	c := &cobra.Command{
		Use:   "receive --data DIR --job NAME --drive PATH",
		Short: "Record the arrival of a drive (mounted at PATH) against its import job",
		Long: `receive reads the manifest of the drive mounted at PATH, checks it against
the job (the drive is one of the job's, its manifest's MAC verifies with the
job key and its hash is the registered one) and marks the drive Received.
A drive of another job, or of none, is refused. A drive of the job whose
manifest does not verify is received and marked Failed: it is not imported
and goes back to the customer with the others.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withJob(cmd.Context(), e, importerOptions{}, func(im *importer.Importer, accountID string) error {
				rc, err := im.Receive(cmd.Context(), accountID, f.job, root)
				if rc != nil && err == nil {
					what := "received"
					if rc.AlreadyReceived {
						what = "was already received (" + string(rc.Job.Drive(rc.DriveID).State) + ")"
					}
					done, total := rc.Job.DrivesDone()
					fmt.Fprintf(e.stdout, "drive %s (seq %d) of job %s %s; job %s, %d/%d drives done\n",
						rc.DriveID, rc.Seq, f.job, what, rc.Job.State, done, total)
				}
				return err
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&root, "drive", "", "where the drive is mounted (required)")
	c.MarkFlagRequired("drive")
	return c
}

func newOpsImportCmd(e env) *cobra.Command {
	var f opsFlags
	var root string
	o := importerOptions{station: importer.DefaultStation()}
	c := &cobra.Command{
		Use:   "import --data DIR --job NAME --drive PATH",
		Short: "Copy a received drive's files into the job's storage container, verifying each",
		Long: `import copies every file the manifest of the drive mounted at PATH lists
into the job's storage container, checking each file's size and SHA-256
before the object becomes visible. Files that do not match are not stored
and are listed in the drive's error log; the drive then ends
CompletedMoreInfo. The copy and error logs are stored in the container under
seedship-import-logs/JOB/DRIVE-ID/.

The drive is claimed for this station first, so two stations never import
the same drive. An interrupted import gives its claim back; run it again to
continue: files already in the container are skipped. --drive is required:
import one drive per run (run several at once for several drives).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.progress = progressPrinter(e)
			return f.withJob(cmd.Context(), e, o, func(im *importer.Importer, accountID string) error {
				res, err := im.Import(cmd.Context(), accountID, f.job, root)
				if res != nil && (err == nil || errors.Is(err, importer.ErrDriveFailed)) {
					printImport(e, res)
				}
				return err
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&root, "drive", "", "where the drive is mounted (required)")
	c.MarkFlagRequired("drive")
	c.Flags().StringVar(&o.station, "station", o.station, "this import station's name, recorded in the drive's claim")
	c.Flags().BoolVar(&o.takeOver, "take-over", false, "take over the drive from another station that stopped without giving it back")
	return c
}

// progressPrinter prints a progress line to standard error now and then.
func progressPrinter(e env) func(importer.Progress) {
	var last time.Time
	return func(p importer.Progress) {
		if now := time.Now(); now.Sub(last) >= progressEvery || p.FilesDone == p.Files {
			last = now
			fmt.Fprintf(e.stderr, "drive %s: %d/%d files, %d/%d bytes, %d failed\n",
				p.DriveID, p.FilesDone, p.Files, p.BytesCopied, p.Bytes, p.FilesFailed)
		}
	}
}

func printImport(e env, r *importer.Result) {
	fmt.Fprintf(e.stdout, "drive %s (seq %d) of job %s: %s; job %s\n", r.DriveID, r.Seq, r.Job, r.State, r.JobState)
	if r.Reason != "" {
		fmt.Fprintf(e.stdout, "  failed: %s\n", r.Reason)
	} else {
		fmt.Fprintf(e.stdout, "  %d files copied (%d bytes), %d already in the container, %d failed, %d entries not in the manifest ignored\n",
			r.FilesCopied, r.BytesWritten, r.FilesSkipped, r.FilesFailed, r.FilesIgnored)
	}
	for _, fl := range r.Failures {
		fmt.Fprintf(e.stdout, "  failed %s: %s\n", fl.Path, fl.Reason)
	}
	if more := r.FilesFailed - len(r.Failures); more > 0 {
		fmt.Fprintf(e.stdout, "  … and %d more failed files\n", more)
	}
	fmt.Fprintf(e.stdout, "  copy log: %s\n  error log: %s\n", r.CopyLog, r.ErrorLog)
}

func newOpsNeverReceivedCmd(e env) *cobra.Command {
	var f opsFlags
	var id, note string
	c := &cobra.Command{
		Use:   "never-received --data DIR --job NAME --drive-id ID",
		Short: "Give up waiting for a drive of the job that did not arrive",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withJob(cmd.Context(), e, importerOptions{}, func(im *importer.Importer, accountID string) error {
				j, err := im.NeverReceived(cmd.Context(), accountID, f.job, id, note)
				if err != nil {
					return err
				}
				done, total := j.DrivesDone()
				fmt.Fprintf(e.stdout, "drive %s of job %s: NeverReceived; job %s, %d/%d drives done\n", id, f.job, j.State, done, total)
				return nil
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&id, "drive-id", "", "the drive's id (32 hex digits, see seedshipd ops jobs) (required)")
	c.MarkFlagRequired("drive-id")
	c.Flags().StringVar(&note, "note", "", "a note recorded with the change")
	return c
}

func newOpsShipBackCmd(e env) *cobra.Command {
	var f opsFlags
	var s importjob.Shipping
	c := &cobra.Command{
		Use:   "ship-back --data DIR --job NAME --carrier X --tracking Y",
		Short: "Record the return shipment of the job's drives; the job completes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withJob(cmd.Context(), e, importerOptions{}, func(im *importer.Importer, accountID string) error {
				j, err := im.ShipBack(cmd.Context(), accountID, f.job, s)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "job %s: drives shipped back with %s %s; job %s\n", f.job, j.ReturnShipping.Carrier, j.ReturnShipping.Tracking, j.State)
				return nil
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&s.Carrier, "carrier", "", "the carrier (required)")
	c.Flags().StringVar(&s.Tracking, "tracking", "", "the tracking number (required)")
	c.MarkFlagRequired("carrier")
	c.MarkFlagRequired("tracking")
	return c
}

// queueStates are the job states ops jobs shows by default: the jobs the
// datacenter has work for.
var queueStates = []importjob.JobState{importjob.JobShipping, importjob.JobReceived, importjob.JobTransferring, importjob.JobPackaging}

func newOpsJobsCmd(e env) *cobra.Command {
	var dir, state string
	var all bool
	c := &cobra.Command{
		Use:   "jobs --data DIR [--state S]",
		Short: "The datacenter's work queue: jobs shipping, received, transferring or packaging",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st := importjob.JobState(state)
			if state != "" && !st.Valid() {
				return fmt.Errorf("unknown job state %q: use one of %s", state, jobStates())
			}
			s, err := open(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			defer s.Close()
			names, err := accountNames(cmd, s)
			if err != nil {
				return err
			}
			rs, err := s.Jobs().List(cmd.Context(), meta.JobFilter{State: st})
			if err != nil {
				return err
			}
			if state == "" && !all {
				rs = slices.DeleteFunc(rs, func(r meta.JobRecord) bool { return !slices.Contains(queueStates, r.Job.State) })
			}
			return printQueue(e, names, rs)
		},
	}
	dataFlag(c, &dir)
	c.Flags().StringVar(&state, "state", "", "only jobs in this state ("+jobStates()+")")
	c.Flags().BoolVar(&all, "all", false, "every job, finished ones too")
	return c
}

func printQueue(e env, names accountIndex, rs []meta.JobRecord) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tACCOUNT\tSTATE\tDRIVES DONE\tDEADLINE\tDRIVES")
	for _, r := range rs {
		j := r.Job
		done, total := j.DrivesDone()
		deadline := "-"
		if what, at := j.Deadline(); what != "" {
			deadline = what + " by " + at.Format(time.RFC3339)
		}
		var ds []string
		for _, d := range j.Drives {
			x := fmt.Sprintf("%d:%s:%s", d.Seq, d.ID, d.State)
			if d.Claim != "" {
				x += "@" + d.Claim
			}
			ds = append(ds, x)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", j.Name, names[j.Account], j.State, done, total, deadline, strings.Join(ds, " "))
	}
	return tw.Flush()
}
