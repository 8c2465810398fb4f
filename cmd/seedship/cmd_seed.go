package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/seed"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
)

func newSeedCmd(e env, g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Show and clean up this machine's offline seeds",
		Long: `An offline seed is the first backup of a registered machine, written to a
staging location by "seedship backup --offline" and shipped on drives. Online
backups to the vault drive it to completion: while the drives travel they send
only what the seed lacks; once the import job reaches Packaging, the vault adopts
the seed and re-sends what was lost.`,
		Example: `  seedship seed status
  seedship seed cleanup --container`,
	}
	cmd.AddCommand(newSeedStatusCmd(e), newSeedAttachCmd(e, g), newSeedCleanupCmd(e, g))
	return cmd
}

// seedStatus is one seed as "seed status --json" prints it.
type seedStatus struct {
	Job            string             `json:"job"`
	JobState       importjob.JobState `json:"job_state,omitempty"`
	DrivesDone     int                `json:"drives_done"`
	Drives         int                `json:"drives"`
	State          string             `json:"state"`
	Staging        string             `json:"staging"`
	StagingPresent bool               `json:"staging_present"`
	*seed.Pending
	ServiceError string `json:"service_error,omitempty"`
}

func newSeedStatusCmd(e env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the state of this machine's offline seeds",
		Long: `status shows, for each offline seed of this registered machine, the import
job's state at the service, whether the staging location is still there, and
what the adoption did. Exit code 0.`,
		Example: `  seedship seed status
  seedship seed status --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runSeedStatus(c.Context(), e, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runSeedStatus(ctx context.Context, e env, asJSON bool) error {
	ms, err := loadSeeds(e)
	if err != nil {
		return err
	}
	if ms == nil {
		return errors.New("this machine is not registered with a vault (seedship register): it has no offline seeds")
	}
	out := make([]seedStatus, 0, len(ms.all))
	c, err := ms.client()
	if err != nil {
		return err
	}
	for _, p := range ms.all {
		s := seedStatus{Job: p.Job, State: p.State, Staging: p.Staging, StagingPresent: !stagingGone(p.Staging), JobState: p.JobState, Pending: p}
		if info, err := c.SeedJob(ctx, p.Job); err != nil {
			s.ServiceError = err.Error()
		} else {
			s.JobState = info.Job.State
			s.DrivesDone, s.Drives = seed.DrivesDone(&info.Job)
		}
		out = append(out, s)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		printf(e.stdout, "this machine has no offline seeds\n")
	}
	for _, s := range out {
		printSeedStatus(e, s)
	}
	return nil
}

func printSeedStatus(e env, s seedStatus) {
	printf(e.stdout, "import job %s\n", s.Job)
	if s.ServiceError != "" {
		printf(e.stdout, "  job state:  %s when last seen (the service did not answer: %s)\n", s.JobState, s.ServiceError)
	} else {
		printf(e.stdout, "  job state:  %s (%d/%d drives done)\n", s.JobState, s.DrivesDone, s.Drives)
	}
	where := "present"
	if !s.StagingPresent {
		where = "removed"
	}
	printf(e.stdout, "  staging:    %s (%s)\n", s.Staging, where)
	p := s.Pending
	switch p.State {
	case seed.StateWaiting:
		printf(e.stdout, "  seed:       waiting; backups send only what the seed lacks%s\n", map[bool]string{true: "", false: " (not yet: no online backup since the offline one)"}[p.Synced])
	default:
		printf(e.stdout, "  seed:       %s %s\n", p.State, p.Adopted.Format("2006-01-02 15:04:05 MST"))
	}
	if a := p.Adoption; a != nil {
		printf(e.stdout, "  adoption:   %d file(s) (%s) from the storage container, %d already there, %d damaged; %d pack(s) re-sent (%s); %d lost and read again from the sources\n",
			a.Files, formatBytes(a.Bytes), a.Present, len(a.Damaged), a.Resent, formatBytes(a.ResentBytes), a.Lost)
	}
	if p.ContainerRemoved {
		printf(e.stdout, "  container:  removed\n")
	}
}

func newSeedAttachCmd(e env, g *globals) *cobra.Command {
	var staging string
	cmd := &cobra.Command{
		Use:   "attach --staging DIR",
		Short: "Hand a staging location written before registration to this machine's vault",
		Long: `attach records the staging location of an offline backup made before this
machine was registered, so that its online backups finish the seed (waiting,
adoption, repair) as if it had been registered all along. The vault must hold
no repository yet, or the staging location's: the seed's keys become the vault
repository's. Exit code 0, or 1 when refused.`,
		Example: `  seedship seed attach --staging /mnt/staging`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runSeedAttach(c.Context(), e, g, staging)
		},
	}
	cmd.Flags().StringVar(&staging, "staging", "", "the staging location `DIR`")
	return cmd
}

func runSeedAttach(ctx context.Context, e env, g *globals, staging string) error {
	if staging == "" {
		return errors.New("no staging location: pass --staging DIR")
	}
	ms, err := loadSeeds(e)
	if err != nil {
		return err
	}
	if ms == nil {
		return errors.New("this machine is not registered with a vault: run seedship register first")
	}
	rec, err := seed.Read(staging)
	if err != nil {
		return err
	}
	if rec.AccountID != ms.mc.AccountID {
		return fmt.Errorf("the seed of import job %s belongs to account %s; this machine is registered with account %s", rec.Job, rec.AccountName, ms.mc.AccountID)
	}
	if rec.Vault != "" && (rec.Vault != ms.mc.VaultID || rec.Machine != ms.mc.MachineID) {
		return fmt.Errorf("the seed of import job %s was written for vault %s, machine %s, not this machine", rec.Job, rec.Vault, rec.Machine)
	}
	if err := checkOneSeed(e, rec.Job); err != nil {
		return err
	}
	if err := checkVaultIdentity(ctx, e, g, staging); err != nil {
		return err
	}
	abs, err := filepath.Abs(staging)
	if err != nil {
		return err
	}
	for _, p := range ms.all {
		if p.Job == rec.Job {
			return fmt.Errorf("the seed of import job %s is already attached (state %s)", rec.Job, p.State)
		}
	}
	p := &seed.Pending{Job: rec.Job, Staging: abs, State: seed.StateWaiting, Created: time.Now().UTC().Truncate(time.Second)}
	if err := seed.SavePending(ms.configDir, p); err != nil {
		return err
	}
	printf(e.stdout, "the seed of import job %s (staging %s) is attached: the next seedship backup to the vault continues it\n", rec.Job, abs)
	return nil
}

// checkVaultIdentity refuses a staging location whose repository is not
// the vault's, when the vault already holds one: the vault could never
// adopt its packs.
func checkVaultIdentity(ctx context.Context, e env, g *globals, staging string) error {
	sst, err := local.Open(staging)
	if err != nil {
		return fmt.Errorf("staging location %s: %w", staging, err)
	}
	vst, err := openLocation(ctx, e, g, vaultLocation, false)
	if err != nil {
		return err
	}
	if _, err := seed.CopyFiles(ctx, sst, readOnly{vst}, []string{"config"}); errors.Is(err, seed.ErrOtherRepository) {
		return fmt.Errorf("this machine's vault already holds a repository other than the staging location's (was seedship init run after registering?): the vault cannot adopt this seed; register the machine again with new vault credentials (a new machine has an empty repository) and attach the seed then")
	} else if err != nil && !errors.Is(err, errReadOnly) {
		return err
	}
	return nil
}

// errReadOnly: a write to a readOnly store.
var errReadOnly = errors.New("read-only")

// readOnly lets CopyFiles compare without writing: Put of a new object
// fails with errReadOnly, of an existing one with store.ErrExists.
type readOnly struct{ store.Store }

func (r readOnly) Put(ctx context.Context, name string, _ io.Reader, _ int64) error {
	if _, err := r.Store.Stat(ctx, name); err == nil {
		return store.ErrExists
	}
	return errReadOnly
}

func newSeedCleanupCmd(e env, g *globals) *cobra.Command {
	var container bool
	var job string
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove an adopted seed's staging location (and the container's copy)",
		Long: `cleanup removes the staging location of a seed the vault has adopted, after
checking that the vault holds every pack the staging location holds. With
--container the service also deletes the imported files from the storage
container, each only once the same file is in the vault. A seed that is not
adopted yet is refused: run "seedship backup" after the import job reaches
Packaging first. Exit code 0, or 1 when something was refused.`,
		Example: `  seedship seed cleanup
  seedship seed cleanup --container
  seedship seed cleanup --job seed-2026-11 --container`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runSeedCleanup(c.Context(), e, g, job, container)
		},
	}
	cmd.Flags().BoolVar(&container, "container", false, "also delete the imported copy in the storage container")
	cmd.Flags().StringVar(&job, "job", "", "clean up only the seed of import job `NAME`")
	return cmd
}

func runSeedCleanup(ctx context.Context, e env, g *globals, job string, container bool) error {
	ms, err := loadSeeds(e)
	if err != nil {
		return err
	}
	if ms == nil {
		return errors.New("this machine is not registered with a vault (seedship register): it has no offline seeds")
	}
	n := 0
	for _, p := range ms.all {
		if job != "" && p.Job != job {
			continue
		}
		n++
		if p.State == seed.StateWaiting {
			return fmt.Errorf("the seed of import job %s is not adopted yet (job state %s): run seedship backup once the job reaches Packaging, then clean up", p.Job, p.JobState)
		}
		if err := cleanupSeed(ctx, e, g, ms, p, container); err != nil {
			return err
		}
	}
	if n == 0 && job != "" {
		return fmt.Errorf("this machine has no offline seed of import job %s (seedship seed status lists them)", job)
	}
	if n == 0 {
		printf(e.stdout, "this machine has no offline seeds\n")
	}
	return nil
}

func cleanupSeed(ctx context.Context, e env, g *globals, ms *machineSeeds, p *seed.Pending, container bool) error {
	vst, err := openLocation(ctx, e, g, vaultLocation, false)
	if err != nil {
		return err
	}
	if sst := openStagingStore(p); sst != nil {
		if err := checkAllInVault(ctx, sst, vst, p); err != nil {
			return err
		}
		if err := os.RemoveAll(p.Staging); err != nil {
			return fmt.Errorf("remove staging location %s: %w", p.Staging, err)
		}
		printf(e.stdout, "removed staging location %s of import job %s (every pack is in the vault)\n", p.Staging, p.Job)
	} else if !stagingGone(p.Staging) {
		return fmt.Errorf("%s is not a staging location any more (no repository config): remove it by hand if it is no longer needed", p.Staging)
	}
	p.State = seed.StateCleaned
	if err := seed.SavePending(ms.configDir, p); err != nil {
		return err
	}
	if !container || p.ContainerRemoved {
		return nil
	}
	c, err := ms.client()
	if err != nil {
		return err
	}
	deleted, kept := 0, 0
	for after := ""; ; {
		rep, err := c.CleanupContainer(ctx, p.Job, after)
		if err != nil {
			return fmt.Errorf("clean up the storage container of import job %s: %w", p.Job, err)
		}
		deleted += rep.Deleted
		for _, k := range rep.Kept {
			kept++
			printf(e.stderr, "container file %s kept: %s\n", k.Name, k.Reason)
		}
		if rep.Done || rep.Next == "" {
			break
		}
		after = rep.Next
	}
	printf(e.stdout, "deleted %d file(s) of import job %s from the storage container; %d kept\n", deleted, p.Job, kept)
	if kept == 0 {
		p.ContainerRemoved = true
	}
	return seed.SavePending(ms.configDir, p)
}

// checkAllInVault refuses to remove a staging location holding a pack or
// metadata file the vault lacks.
func checkAllInVault(ctx context.Context, sst, vst store.Store, p *seed.Pending) error {
	have := map[string]int64{}
	for _, pre := range []string{"data/", "index/", "snapshots/", "keys/"} {
		if err := vst.List(ctx, pre, func(fi store.Info) error { have[fi.Name] = fi.Size; return nil }); err != nil {
			return fmt.Errorf("list the vault: %w", err)
		}
	}
	var missing []string
	for _, pre := range []string{"data/", "index/", "snapshots/", "keys/"} {
		err := sst.List(ctx, pre, func(fi store.Info) error {
			if size, ok := have[fi.Name]; !ok || size != fi.Size {
				missing = append(missing, fi.Name)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list staging location %s: %w", p.Staging, err)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("staging location %s holds %d file(s) the vault lacks (first: %s): run seedship backup to re-send them, then clean up", p.Staging, len(missing), missing[0])
	}
	return nil
}
