package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/seed"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/vault"
)

// machineSeeds is a registered machine's offline seeds.
type machineSeeds struct {
	configDir string
	mc        *vault.MachineConfig
	all       []*seed.Pending
}

// loadSeeds returns the registered machine's seeds; nil when this machine
// is not registered.
func loadSeeds(e env) (*machineSeeds, error) {
	dir, err := vault.DefaultConfigDir(e.getenv)
	if err != nil {
		return nil, nil
	}
	mc, err := vault.LoadMachineConfig(dir)
	if errors.Is(err, vault.ErrNotRegistered) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	all, err := seed.LoadPending(dir)
	if err != nil {
		return nil, err
	}
	return &machineSeeds{configDir: dir, mc: mc, all: all}, nil
}

// active returns the seed the vault has not adopted yet, if any (a machine
// has at most one: offline backup refuses a second).
func (ms *machineSeeds) active() *seed.Pending {
	if ms == nil {
		return nil
	}
	for _, p := range ms.all {
		if p.Active() {
			return p
		}
	}
	return nil
}

func (ms *machineSeeds) client() (*vault.Client, error) {
	return vault.NewClient(vault.ClientConfig{Endpoint: ms.mc.Endpoint, Key: ms.mc.Key, VaultID: ms.mc.VaultID, MachineID: ms.mc.MachineID})
}

// openStagingStore opens a seed's staging location as a store; nil when it
// is gone (removed, or on a disk not mounted now).
func openStagingStore(p *seed.Pending) store.Store {
	if !seed.IsRepository(p.Staging) {
		return nil
	}
	st, err := local.Open(p.Staging)
	if err != nil {
		return nil
	}
	return st
}

// withSeedFallback serves the active seed's packs from its staging
// location until the vault has adopted them.
func withSeedFallback(e env, st store.Store) store.Store {
	ms, err := loadSeeds(e)
	if err != nil {
		return st
	}
	p := ms.active()
	if p == nil {
		return st
	}
	if sst := openStagingStore(p); sst != nil {
		return seed.Fallback{Store: st, Staging: sst}
	}
	return st
}

// seedRun drives the machine's active seed during one online backup:
// before it, the seed's metadata goes to the vault and, once the job is
// far enough, the vault adopts the container; after the repository is
// opened, missing packs are repaired; after the backup, the seed is
// recorded as adopted.
type seedRun struct {
	ms      *machineSeeds
	p       *seed.Pending
	staging store.Store // nil when gone
	repair  bool        // adopt or re-send: the vault must end up complete
	out     io.Writer   // where progress lines go (stderr under --json)
}

// startSeed runs the seed forward before an online backup to the vault;
// nil when there is nothing to do.
func startSeed(ctx context.Context, e env, g *globals, out io.Writer) (*seedRun, error) {
	if loc, err := g.location(e); err != nil || loc != vaultLocation {
		return nil, nil
	}
	ms, err := loadSeeds(e)
	if err != nil {
		return nil, err
	}
	p := ms.active()
	if p == nil {
		return nil, nil
	}
	sr := &seedRun{ms: ms, p: p, staging: openStagingStore(p), out: out}
	c, err := ms.client()
	if err != nil {
		return nil, err
	}
	info, err := c.SeedJob(ctx, p.Job)
	if err != nil {
		printf(e.stderr, "warning: could not ask the service about import job %s (%v): backing up as if it were still travelling\n", p.Job, err)
	} else {
		p.JobState = info.Job.State
	}
	vst, err := openLocation(ctx, e, g, vaultLocation, false)
	if err != nil {
		return nil, err
	}
	if err := sr.sync(ctx, e, vst); err != nil {
		return nil, err
	}
	switch {
	case info == nil:
	case seed.Adoptable(p.JobState):
		// A failed adoption does not cost the backup: it runs as while
		// waiting, and the next one adopts (adoption resumes).
		if err := sr.adopt(ctx, e, g, c); err != nil {
			printf(e.stderr, "warning: %v; this backup goes on, the next one continues the adoption\n", err)
			break
		}
		sr.repair = true
	case seed.Abandoned(p.JobState):
		printf(sr.out, "import job %s is %s: its drives will not be imported; re-sending the seed online\n", p.Job, p.JobState)
		sr.repair = true
	default:
		done, n := seed.DrivesDone(&info.Job)
		printf(sr.out, "waiting for import job %s (%s, %d/%d drives done)\n", p.Job, p.JobState, done, n)
	}
	return sr, seed.SavePending(ms.configDir, p)
}

// sync copies the staging location's metadata into the vault once, so that
// the vault's index lists the seed's chunks: backups then send only what
// neither holds.
func (sr *seedRun) sync(ctx context.Context, e env, vst store.Store) error {
	p := sr.p
	if p.Synced {
		return nil
	}
	if sr.staging == nil {
		if seed.Adoptable(p.JobState) {
			return nil // the adoption brings the metadata from the container
		}
		if _, err := vst.Stat(ctx, "config"); err != nil {
			return fmt.Errorf("the seed of import job %s is in staging location %s, which is not reachable, and the vault holds no repository yet: mount the staging location, or wait until the job reaches Packaging", p.Job, p.Staging)
		}
		printf(e.stderr, "warning: staging location %s of import job %s is not reachable: this backup cannot skip the data the seed holds\n", p.Staging, p.Job)
		return nil
	}
	n, err := seed.CopyFiles(ctx, sr.staging, vst, seed.MetadataFiles)
	if err != nil {
		return fmt.Errorf("copy the seed's index to the vault: %w", err)
	}
	if n > 0 {
		printf(sr.out, "copied %d index, snapshot and key file(s) of the seed of import job %s to the vault\n", n, p.Job)
	}
	p.Synced = true
	return nil
}

// adopt asks the vault to adopt the storage container's files, batch by
// batch.
func (sr *seedRun) adopt(ctx context.Context, e env, g *globals, c *vault.Client) error {
	p := sr.p
	printf(sr.out, "import job %s is %s: the vault adopts the seed from the storage container\n", p.Job, p.JobState)
	a := &seed.Adoption{}
	after := ""
	for {
		rep, err := c.Adopt(ctx, p.Job, after)
		if err != nil {
			return fmt.Errorf("adopt the seed of import job %s: %w", p.Job, err)
		}
		a.Files += rep.Copied
		a.Bytes += rep.Bytes
		a.Present += rep.Present
		for _, d := range rep.Damaged {
			a.Damaged = append(a.Damaged, d.Name)
			printf(e.stderr, "container file %s not adopted: %s\n", d.Name, d.Reason)
		}
		if !g.quiet {
			printf(sr.out, "  adopted %d file(s), %s; %d already in the vault\n", a.Files, formatBytes(a.Bytes), a.Present)
		}
		if rep.Done || rep.Next == "" {
			break
		}
		after = rep.Next
	}
	p.Adoption = a
	p.Synced = true // the container held the metadata too
	return nil
}

// repairRepo re-sends what the vault lacks, under a shared lock: every
// missing pack once the seed is adopted (or abandoned), the tree packs
// while it travels.
func (sr *seedRun) repairRepo(ctx context.Context, e env, g *globals, r *repo.Repository) error {
	if sr == nil {
		return nil
	}
	if !sr.repair {
		return sr.syncTrees(ctx, r)
	}
	var stagings []store.Store
	if sr.staging != nil {
		stagings = append(stagings, sr.staging)
	}
	var res seed.RepairResult
	err := withLock(ctx, r, false, func() error {
		var err error
		res, err = seed.Repair(ctx, r, r.Store(), stagings, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("repair the seed of import job %s: %w", sr.p.Job, err)
	}
	a := sr.p.Adoption
	if a == nil {
		a = &seed.Adoption{}
		sr.p.Adoption = a
	}
	a.Resent += res.Resent
	a.ResentBytes += res.ResentBytes
	a.Lost += len(res.Lost)
	if res.Missing > 0 {
		printf(sr.out, "%d pack(s) of the seed missing in the vault: %d re-sent from the staging location (%s), %d lost\n",
			res.Missing, res.Resent, formatBytes(res.ResentBytes), len(res.Lost))
	}
	if len(res.Lost) > 0 {
		printf(sr.out, "the chunks of the %d lost pack(s) are read again from the source files by this backup\n", len(res.Lost))
	}
	return seed.SavePending(sr.ms.configDir, sr.p)
}

// syncTrees sends the seed's tree packs to the vault once, while the
// staging location is there: with them, a seed snapshot survives a lost
// drive even if the staging location is gone by the time of adoption.
func (sr *seedRun) syncTrees(ctx context.Context, r *repo.Repository) error {
	p := sr.p
	if p.TreesSynced || !p.Synced || sr.staging == nil {
		return nil
	}
	var n int
	var size int64
	err := withLock(ctx, r, false, func() error {
		var err error
		n, size, err = seed.SyncTreePacks(ctx, r, r.Store(), sr.staging)
		return err
	})
	if err != nil {
		return fmt.Errorf("send the seed's tree packs to the vault: %w", err)
	}
	if n > 0 {
		printf(sr.out, "sent the %d pack(s) holding the seed's directory trees to the vault (%s)\n", n, formatBytes(size))
	}
	p.TreesSynced = true
	return seed.SavePending(sr.ms.configDir, p)
}

// finish records the adoption once the backup saved its snapshot and the
// vault holds every pack its index lists.
func (sr *seedRun) finish(ctx context.Context, e env, r *repo.Repository) error {
	if sr == nil || !sr.repair {
		return nil
	}
	missing, err := r.MissingPacks(ctx)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("the vault still lacks %d pack(s) of the seed of import job %s: run seedship backup again", len(missing), sr.p.Job)
	}
	p := sr.p
	p.State = seed.StateAdopted
	p.Adopted = time.Now().UTC().Truncate(time.Second)
	if err := seed.SavePending(sr.ms.configDir, p); err != nil {
		return err
	}
	a := p.Adoption
	printf(sr.out, "seed of import job %s adopted: %d file(s) (%s) from the storage container, %d pack(s) re-sent, %d lost pack(s) read again from the source files\n",
		p.Job, a.Files, formatBytes(a.Bytes), a.Resent, a.Lost)
	printf(sr.out, "the staging location %s is no longer needed: seedship seed cleanup removes it (add --container for the storage container's copy)\n", p.Staging)
	return nil
}

// registerSeed records an offline backup's staging location with the
// registered machine, so that online backups find it.
func registerSeed(e env, job, staging string, r *repo.Repository) error {
	ms, err := loadSeeds(e)
	if err != nil || ms == nil {
		return err
	}
	abs, err := filepath.Abs(staging)
	if err != nil {
		return err
	}
	for _, p := range ms.all {
		if p.Job == job {
			return nil
		}
	}
	p := &seed.Pending{Job: job, Staging: abs, Repository: r.Config().ID.String(), State: seed.StateWaiting,
		Created: time.Now().UTC().Truncate(time.Second)}
	return seed.SavePending(ms.configDir, p)
}

// checkOneSeed refuses a second offline seed while one is active.
func checkOneSeed(e env, job string) error {
	ms, err := loadSeeds(e)
	if err != nil {
		return err
	}
	if p := ms.active(); p != nil && p.Job != job {
		return fmt.Errorf("this machine's vault has not adopted the seed of import job %s yet (staging %s): finish it before starting another offline backup", p.Job, p.Staging)
	}
	return nil
}

// seedCheckHint explains missing packs that a seed still on its way holds.
func seedCheckHint(e env, g *globals) {
	if loc, err := g.location(e); err != nil || loc != vaultLocation {
		return
	}
	ms, err := loadSeeds(e)
	if err != nil {
		return
	}
	if p := ms.active(); p != nil && openStagingStore(p) == nil {
		printf(e.stderr, "note: the vault has not adopted the seed of import job %s yet and its staging location %s is not reachable: its packs are missing until a backup adopts it (seedship seed status)\n", p.Job, p.Staging)
	}
}

// stagingGone reports whether dir no longer exists.
func stagingGone(dir string) bool {
	_, err := os.Stat(dir)
	return errors.Is(err, os.ErrNotExist)
}
