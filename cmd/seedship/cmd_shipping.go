package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/seed"
	"github.com/seedship/seedship/internal/vault"
)

// jobService is what the offline-seeding commands use of the service's
// import-job API (vault.AccountClient implements it).
type jobService interface {
	Datacenter(ctx context.Context) (string, error)
	Job(ctx context.Context, name string) (*vault.JobInfo, error)
	CreateJob(ctx context.Context, req vault.CreateJobRequest) (*vault.JobInfo, error)
	ReportShipping(ctx context.Context, name string, s importjob.Shipping) (*vault.JobInfo, error)
}

// jobServiceKey carries, in tests only, a replacement for the client
// constructor in the command's context.
type jobServiceKey struct{}

// jobServiceFunc makes the import-job client for an account.
type jobServiceFunc func(a *seed.Account) (jobService, error)

func connectJobs(ctx context.Context, a *seed.Account) (jobService, error) {
	if f, ok := ctx.Value(jobServiceKey{}).(jobServiceFunc); ok {
		return f(a)
	}
	return newAccountClient(ctx, a.Settings)
}

// staged is a staging location opened by diskprep or shipping: its seed
// record, the account settings and the service client.
type staged struct {
	dir string
	rec *seed.Record
	acc *seed.Account
	svc jobService
}

// openStaged reads the seed record and the account settings (the flag's
// file or the private copy) and checks they belong together.
func openStaged(ctx context.Context, dir, accountFile string) (*staged, error) {
	if dir == "" {
		return nil, errors.New("no staging location: pass --staging DIR")
	}
	rec, err := seed.Read(dir)
	if errors.Is(err, seed.ErrNoRecord) {
		return nil, fmt.Errorf("%s has no seed record: run seedship backup --offline first", dir)
	}
	if err != nil {
		return nil, err
	}
	acc, err := seed.LoadAccount(dir, accountFile)
	if err != nil {
		return nil, err
	}
	if err := rec.CheckAccount(acc); err != nil {
		return nil, err
	}
	svc, err := connectJobs(ctx, acc)
	if err != nil {
		return nil, fmt.Errorf("connect to the service %s: %w", acc.Settings.URL, err)
	}
	return &staged{dir: dir, rec: rec, acc: acc, svc: svc}, nil
}

// job fetches the staging location's import job from the service.
func (s *staged) job(ctx context.Context) (*vault.JobInfo, error) {
	info, err := s.svc.Job(ctx, s.rec.Job)
	if errors.Is(err, vault.ErrJobNotFound) {
		return nil, fmt.Errorf("import job %s not found in account %s: it was never created (run seedship diskprep --staging %s) or belongs to another account",
			s.rec.Job, s.acc.Settings.Name, s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("import job %s: %w", s.rec.Job, err)
	}
	return info, nil
}

// saveJob stores the service's view of the job in the seed record.
func (s *staged) saveJob(info *vault.JobInfo, address string) error {
	s.rec.SetJob(&info.Job, address, time.Now().UTC())
	return seed.Write(s.dir, s.rec)
}

type shippingFlags struct {
	staging, accountFile string
	carrier, tracking    string
	packages             int
	shipDate             string
	returnAddress        string
	contact              string
	yes, status, json    bool
}

func newShippingCmd(e env, g *globals) *cobra.Command {
	f := &shippingFlags{}
	cmd := &cobra.Command{
		Use:   "shipping --staging DIR",
		Short: "Report the shipment of an import job's drives, or show the job's status",
		Long: `shipping reports to the service that the drives of the staging location's
import job are on their way: carrier, tracking number, ship date, return
address and contact. It shows the details for review and reports them only
when you type "yes" (or pass --yes with every detail as a flag). The drives
must then arrive at the datacenter within 14 days.

With --status it shows the job's state, each drive's state and the next
deadline.`,
		Example: `  seedship shipping --staging /mnt/staging
  seedship shipping --staging /mnt/staging --carrier UPS --tracking 1Z999AA10123456784 \
      --ship-date 2025-03-02 --return-address "ACME, 1 Main St, Springfield" --contact "ops@acme.example" --yes
  seedship shipping --staging /mnt/staging --status`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if f.status {
				return runShippingStatus(c.Context(), e, f)
			}
			return runShipping(c.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.staging, "staging", "", "the staging location `DIR`")
	fl.StringVar(&f.accountFile, "account-settings", "", "account settings `FILE` (default: the staging location's copy)")
	fl.StringVar(&f.carrier, "carrier", "", "the carrier")
	fl.StringVar(&f.tracking, "tracking", "", "the tracking number")
	fl.IntVar(&f.packages, "packages", 0, "number of packages (all drives travel in one: 1)")
	fl.StringVar(&f.shipDate, "ship-date", "", "ship date `YYYY-MM-DD`")
	fl.StringVar(&f.returnAddress, "return-address", "", "where the datacenter ships the drives back to")
	fl.StringVar(&f.contact, "contact", "", "contact (name, e-mail, phone) for questions about the shipment")
	fl.BoolVar(&f.yes, "yes", false, "report without asking (every detail given as a flag)")
	fl.BoolVar(&f.status, "status", false, "show the job's state, drives and deadline")
	fl.BoolVar(&f.json, "json", false, "with --status: print the job as JSON")
	return cmd
}

func runShippingStatus(ctx context.Context, e env, f *shippingFlags) error {
	s, err := openStaged(ctx, f.staging, f.accountFile)
	if err != nil {
		return err
	}
	info, err := s.job(ctx)
	if err != nil {
		return err
	}
	if err := s.saveJob(info, info.DatacenterAddress); err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	printJob(e.stdout, info)
	return nil
}

// printJob shows a job, its drives and its deadline.
func printJob(w io.Writer, info *vault.JobInfo) {
	j := &info.Job
	printf(w, "import job %s (id %s): %s\n", j.Name, j.ID, j.State)
	printf(w, "  target:   storage account %s, container %s\n", j.StorageAccount, j.Container)
	done, total := j.DrivesDone()
	printf(w, "  drives:   %d, %d done\n", total, done)
	for _, d := range j.Drives {
		printf(w, "    drive %d (%s): %s, %d files, %s\n", d.Seq, d.ID, d.State, d.Files, formatBytes(d.Bytes))
	}
	if sh := j.Shipping; sh != nil {
		printf(w, "  shipped:  %s %s on %s, reported %s\n", sh.Carrier, sh.Tracking, sh.ShipDate.Format(time.DateOnly), sh.Reported.UTC().Format(time.RFC3339))
	}
	if what, at := j.Deadline(); what != "" {
		printf(w, "  deadline: %s by %s\n", what, at.UTC().Format(time.RFC3339))
	}
	if j.State == importjob.JobExpired {
		printf(w, "  the job expired: prepare new drives for a new job (seedship backup --offline with a new --job name)\n")
	}
}

func runShipping(ctx context.Context, e env, f *shippingFlags) error {
	s, err := openStaged(ctx, f.staging, f.accountFile)
	if err != nil {
		return err
	}
	info, err := s.job(ctx)
	if err != nil {
		return err
	}
	if err := checkShippable(s, info); err != nil {
		return err
	}
	sh, err := askShipping(e, f, info)
	if err != nil {
		return err
	}
	info, err = s.svc.ReportShipping(ctx, s.rec.Job, sh)
	switch {
	case errors.Is(err, vault.ErrTrackingInUse):
		return fmt.Errorf("tracking number %s is already used by another import job: check the number; nothing was reported (%w)", sh.Tracking, err)
	case err != nil:
		return fmt.Errorf("report shipping of import job %s: %w", s.rec.Job, err)
	}
	if err := s.saveJob(info, info.DatacenterAddress); err != nil {
		return fmt.Errorf("shipping reported, but the seed record could not be updated: %w", err)
	}
	printf(e.stdout, "shipping of import job %s reported: %s %s\n", s.rec.Job, info.Job.Shipping.Carrier, info.Job.Shipping.Tracking)
	if what, at := info.Job.Deadline(); what != "" {
		printf(e.stdout, "the datacenter must %s by %s, or the job expires\n", what, at.UTC().Format(time.RFC3339))
	}
	printf(e.stdout, "follow the job with: seedship shipping --staging %s --status\n", s.dir)
	return nil
}

// checkShippable refuses a job whose state does not take a shipping report.
func checkShippable(s *staged, info *vault.JobInfo) error {
	j := &info.Job
	switch j.State {
	case importjob.JobCreating:
		return nil
	case importjob.JobExpired:
		_ = s.saveJob(info, info.DatacenterAddress)
		return fmt.Errorf("import job %s expired (%s): nothing can be shipped for it; prepare new drives for a new job", j.Name, lastNote(j))
	}
	if j.Shipping != nil {
		return fmt.Errorf("import job %s is %s: shipping was already reported (%s %s); see seedship shipping --staging %s --status",
			j.Name, j.State, j.Shipping.Carrier, j.Shipping.Tracking, s.dir)
	}
	return fmt.Errorf("import job %s is %s: %w: shipping can only be reported while it is Creating", j.Name, j.State, vault.ErrInvalidTransition)
}

func lastNote(j *importjob.Job) string {
	for i := len(j.History) - 1; i >= 0; i-- {
		if h := j.History[i]; h.Subject == "job" && h.Note != "" {
			return h.Note
		}
	}
	return "deadline passed"
}

// prompter reads answers line by line from stdin.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

func newPrompter(e env) *prompter { return &prompter{in: bufio.NewReader(e.stdin), out: e.stderr} }

// ask prints the question (with a default in brackets) and returns the
// trimmed answer, or def for an empty one.
func (p *prompter) ask(question, def string) (string, error) {
	if def != "" {
		printf(p.out, "%s [%s]: ", question, def)
	} else {
		printf(p.out, "%s: ", question)
	}
	line, err := p.in.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		printf(p.out, "\n")
		return "", fmt.Errorf("no answer to %q: %w", question, io.ErrUnexpectedEOF)
	}
	if line = strings.TrimSpace(line); line == "" {
		return def, nil
	}
	return line, nil
}

// askShipping collects the shipment from the flags (--yes) or by asking,
// shows it for review and returns it once confirmed.
func askShipping(e env, f *shippingFlags, info *vault.JobInfo) (importjob.Shipping, error) {
	if f.yes {
		return shippingFromFlags(f)
	}
	p := newPrompter(e)
	printJob(p.out, info)
	printf(p.out, "\nAll %d drives travel in one package. Enter the shipment's details:\n", len(info.Job.Drives))
	answers, err := askFields(p, f)
	if err != nil {
		return importjob.Shipping{}, fmt.Errorf("%w: nothing was reported (in scripts pass --carrier, --tracking, --ship-date, --return-address, --contact and --yes)", err)
	}
	*f = answers
	sh, err := shippingFromFlags(f)
	if err != nil {
		return sh, err
	}
	printf(p.out, "\nReview:\n  carrier:        %s\n  tracking:       %s\n  packages:       %d\n  ship date:      %s\n  return address: %s\n  contact:        %s\n",
		sh.Carrier, sh.Tracking, sh.Packages, sh.ShipDate.Format(time.DateOnly), sh.ReturnAddress, sh.Contact)
	ok, err := p.ask("Type yes to report this shipment", "")
	if err != nil || ok != "yes" {
		return sh, errors.New("not confirmed: nothing was reported")
	}
	return sh, nil
}

func askFields(p *prompter, f *shippingFlags) (shippingFlags, error) {
	out := *f
	var err error
	for _, q := range []struct {
		question string
		v        *string
		def      string
	}{
		{"Carrier", &out.carrier, f.carrier},
		{"Tracking number", &out.tracking, f.tracking},
		{"Number of packages", new(string), strconv.Itoa(max(f.packages, 1))},
		{"Ship date (YYYY-MM-DD)", &out.shipDate, cmpOr(f.shipDate, time.Now().Format(time.DateOnly))},
		{"Return address", &out.returnAddress, f.returnAddress},
		{"Contact (name, e-mail or phone)", &out.contact, f.contact},
	} {
		if *q.v, err = p.ask(q.question, q.def); err != nil {
			return out, err
		}
		if q.question == "Number of packages" {
			if out.packages, err = strconv.Atoi(*q.v); err != nil {
				return out, fmt.Errorf("number of packages %q is not a number", *q.v)
			}
		}
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// shippingFromFlags builds and checks the shipment.
func shippingFromFlags(f *shippingFlags) (importjob.Shipping, error) {
	sh := importjob.Shipping{Carrier: f.carrier, Tracking: f.tracking, Packages: f.packages,
		ReturnAddress: f.returnAddress, Contact: f.contact}
	if f.shipDate == "" {
		return sh, errors.New("no ship date: pass --ship-date YYYY-MM-DD")
	}
	d, err := time.Parse(time.DateOnly, f.shipDate)
	if err != nil {
		return sh, fmt.Errorf("ship date %q: use YYYY-MM-DD", f.shipDate)
	}
	sh.ShipDate = d
	sh, err = importjob.NormalizeShipping(sh, true)
	if err != nil {
		return sh, fmt.Errorf("%w (flags --carrier, --tracking, --packages, --ship-date, --return-address, --contact)", err)
	}
	return sh, nil
}

var _ jobService = (*vault.AccountClient)(nil)

func newAccountClient(_ context.Context, a *vault.AccountSettings) (jobService, error) {
	return vault.NewAccountClient(a)
}
