package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seedship/seedship/internal/archiver"
	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/seed"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/vault"
)

// offlineFlags are backup's flags for an offline (seeding) backup.
type offlineFlags struct {
	offline        bool
	staging        string
	job            string
	accountFile    string
	storageAccount string
	container      string
}

// runOfflineBackup writes a backup into the staging location and records
// the seed: step 2 of offline seeding.
func runOfflineBackup(ctx context.Context, e env, g *globals, f *backupFlags, args []string) error {
	if err := checkOfflineFlags(g, f, args); err != nil {
		return err
	}
	o := &f.offlineFlags
	if err := checkOneSeed(e, o.job); err != nil {
		return err
	}
	acc, err := seed.ReadAccount(o.accountFile)
	if err != nil {
		return err
	}
	rec, err := stagingRecord(ctx, e, o, acc)
	if err != nil {
		return err
	}
	if err := seed.SaveAccountCopy(o.staging, acc); err != nil {
		return err
	}
	// The record is written before the repository so that an interrupted
	// first run is continued, not refused, when it is run again.
	if err := seed.Write(o.staging, rec); err != nil {
		return err
	}
	r, err := openStaging(ctx, e, g, o.staging, rec.Vault != "")
	if err != nil {
		return err
	}
	snap, res, err := backupInto(ctx, e, g, f, r, args)
	if err != nil {
		return err
	}
	rec.Snapshots = append(rec.Snapshots, snap.ID.String())
	if err := seed.Write(o.staging, rec); err != nil {
		return fmt.Errorf("snapshot %s saved, but the seed record was not updated: %w", snap.ID.Short(), err)
	}
	if rec.Vault != "" {
		if err := registerSeed(e, o.job, o.staging, r); err != nil {
			return fmt.Errorf("snapshot %s saved, but this machine's seed file was not written: %w", snap.ID.Short(), err)
		}
	}
	return finishOfflineBackup(e, g, f, snap, res)
}

func checkOfflineFlags(g *globals, f *backupFlags, args []string) error {
	o := &f.offlineFlags
	switch {
	case g.repo != "":
		return errors.New("--offline writes into the staging location: pass --staging DIR instead of --repo")
	case f.stdin:
		return errors.New("--offline backs up files: --stdin is not supported")
	case len(args) == 0:
		return errors.New("nothing to back up: give one or more paths")
	}
	for _, req := range []struct{ flag, v string }{
		{"--staging DIR", o.staging}, {"--job NAME", o.job}, {"--account-settings FILE", o.accountFile},
		{"--storage-account SA", o.storageAccount}, {"--container C", o.container},
	} {
		if req.v == "" {
			return fmt.Errorf("an offline backup needs %s (all of --staging, --job, --account-settings, --storage-account, --container)", req.flag)
		}
	}
	if err := importjob.ValidateName(o.job); err != nil {
		return fmt.Errorf("--job: %w", err)
	}
	return nil
}

// stagingRecord returns the seed record to write: the existing one when
// the staging location continues the same job, else a new one after
// checking that the job name is free at the service.
func stagingRecord(ctx context.Context, e env, o *offlineFlags, acc *seed.Account) (*seed.Record, error) {
	if err := os.MkdirAll(o.staging, 0o700); err != nil {
		return nil, fmt.Errorf("staging location: %w", err)
	}
	if _, err := os.Stat(filepath.Join(o.staging, drive.JournalName)); err == nil {
		return nil, fmt.Errorf("drives are being prepared from %s (seedship diskprep): it takes no more backups; back up online, or use a new staging location and job", o.staging)
	}
	rec, err := seed.Read(o.staging)
	switch {
	case err == nil:
		return continueRecord(rec, o, acc)
	case !errors.Is(err, seed.ErrNoRecord):
		return nil, err
	case seed.IsRepository(o.staging):
		return nil, fmt.Errorf("%s holds a repository that is not a staging location (no seed record): choose an empty directory for --staging", o.staging)
	}
	if err := checkJobFree(ctx, e, o.job, acc); err != nil {
		return nil, err
	}
	a := acc.Settings
	rec = &seed.Record{
		Format: seed.FormatVersion, Job: o.job, AccountID: a.AccountID, AccountName: a.Name,
		ServiceURL: a.URL, Fingerprint: a.Fingerprint, StorageAccount: o.storageAccount, Container: o.container,
		Snapshots: []string{}, Created: time.Now().UTC().Truncate(time.Second),
	}
	addMachine(e, rec)
	return rec, nil
}

// continueRecord checks that the flags name the staging location's job.
func continueRecord(rec *seed.Record, o *offlineFlags, acc *seed.Account) (*seed.Record, error) {
	if rec.Job != o.job {
		return nil, fmt.Errorf("%s is the staging location of import job %s, not %s: pass --job %s to continue it, or choose another --staging", o.staging, rec.Job, o.job, rec.Job)
	}
	if err := rec.CheckAccount(acc); err != nil {
		return nil, err
	}
	if rec.StorageAccount != o.storageAccount || rec.Container != o.container {
		return nil, fmt.Errorf("import job %s targets storage account %s, container %s: pass the same --storage-account and --container", rec.Job, rec.StorageAccount, rec.Container)
	}
	if rec.ImportJob != nil {
		return nil, fmt.Errorf("import job %s was already created from %s: it takes no more backups", rec.Job, o.staging)
	}
	return rec, nil
}

// checkJobFree refuses a job name already used in the account. An
// unreachable service only warns: the name is checked again when diskprep
// creates the job.
func checkJobFree(ctx context.Context, e env, name string, acc *seed.Account) error {
	svc, err := connectJobs(ctx, acc)
	if err == nil {
		var info *vault.JobInfo
		info, err = svc.Job(ctx, name)
		if err == nil {
			return fmt.Errorf("import job %s already exists in account %s (state %s): choose another --job name", name, acc.Settings.Name, info.Job.State)
		}
		if errors.Is(err, vault.ErrJobNotFound) {
			return nil
		}
	}
	printf(e.stderr, "warning: could not check with the service that import job name %s is free (%v); it is checked again when diskprep creates the job\n", name, err)
	return nil
}

// addMachine records the registered machine's vault and machine ids, when
// this machine is registered with the same account.
func addMachine(e env, rec *seed.Record) {
	dir, err := vault.DefaultConfigDir(e.getenv)
	if err != nil {
		return
	}
	mc, err := vault.LoadMachineConfig(dir)
	switch {
	case errors.Is(err, vault.ErrNotRegistered):
		return
	case err != nil:
		printf(e.stderr, "warning: machine configuration not read (%v): the seed record names no vault\n", err)
	case mc.AccountID != rec.AccountID:
		printf(e.stderr, "warning: this machine is registered with another account (%s): the seed record names no vault\n", mc.AccountID)
	default:
		rec.Vault, rec.Machine = mc.VaultID, mc.MachineID
	}
}

// openStaging opens the staging repository, creating it when new. On a
// registered machine the staging repository and the vault repository are
// one repository (same config and keys), so that the vault can adopt the
// seed's packs as they are: a new staging location copies the vault's
// identity, or, when the vault holds no repository yet, gives it its own.
func openStaging(ctx context.Context, e env, g *globals, dir string, registered bool) (*repo.Repository, error) {
	g.repo = dir
	if seed.IsRepository(dir) {
		return openRepo(ctx, e, g)
	}
	st, loc, err := openStore(ctx, e, g, true)
	if err != nil {
		return nil, err
	}
	var vst store.Store
	if registered {
		vst = seedVault(ctx, e, g)
	}
	if vst != nil {
		if _, err := vst.Stat(ctx, "config"); err == nil {
			if _, err := seed.CopyFiles(ctx, vst, st, seed.IdentityFiles); err != nil {
				return nil, fmt.Errorf("copy the vault repository's keys into the staging location: %w", err)
			}
			printf(e.stdout, "staging location %s shares this machine's vault repository (same keys and password)\n", dir)
			return openRepo(ctx, e, g)
		}
	}
	pw, err := password(e, g, "enter a password for the new staging repository: ", true)
	if err != nil {
		return nil, err
	}
	r, err := repo.Init(ctx, st, pw, repoOptions(e, g))
	if err != nil {
		return nil, fmt.Errorf("init staging repository %s: %w", loc, err)
	}
	printf(e.stdout, "created seedship repository %s at %s (staging)\n", r.Config().ID.Short(), loc)
	if vst != nil {
		if _, err := seed.CopyFiles(ctx, st, vst, seed.IdentityFiles); err != nil {
			return nil, fmt.Errorf("create this machine's vault repository with the staging location's keys: %w", err)
		}
		printf(e.stdout, "this machine's vault repository is the same repository: online backups use the same password\n")
	}
	return r, nil
}

// seedVault returns the registered vault's store, or nil (with a warning)
// when the vault cannot be reached: the identity is then shared at the
// first online backup.
func seedVault(ctx context.Context, e env, g *globals) store.Store {
	vst, err := openLocation(ctx, e, g, vaultLocation, false)
	if err == nil {
		_, err = vst.Stat(ctx, "config")
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		printf(e.stderr, "warning: the vault cannot be reached (%v): the staging location gets its own keys, which the vault takes over at the first online backup\n", err)
		return nil
	}
	return vst
}

// backupInto runs one backup into r: recover packs of an interrupted run,
// archive, flush, save the snapshot — under a shared lock.
func backupInto(ctx context.Context, e env, g *globals, f *backupFlags, r *repo.Repository, args []string) (*snapshot.Snapshot, archiver.Result, error) {
	excludes, err := collectExcludes(f)
	if err != nil {
		return nil, archiver.Result{}, err
	}
	var res archiver.Result
	var snap *snapshot.Snapshot
	err = withLock(ctx, r, false, func() error {
		if _, err := r.RecoverPacks(ctx); err != nil {
			return err
		}
		snap, res, err = backupSnapshot(ctx, e, g, f, r, excludes, args)
		if err != nil {
			return err
		}
		if err := r.Flush(ctx); err != nil {
			return fmt.Errorf("save data: %w", err)
		}
		snap.ID, err = r.SaveSnapshot(ctx, snap)
		return err
	})
	return snap, res, err
}

func finishOfflineBackup(e env, g *globals, f *backupFlags, snap *snapshot.Snapshot, res archiver.Result) error {
	for _, fe := range res.Errors {
		printf(e.stderr, "error: %v\n", fe)
	}
	printBackupSummary(e, g, f, snap, res)
	o := &f.offlineFlags
	if !f.json {
		printf(e.stdout, "staging location %s holds the seed of import job %s\n", o.staging, o.job)
		printf(e.stdout, "next: attach empty drives and run seedship diskprep --staging %s --drive PATH [--drive PATH]...\n", o.staging)
	}
	if len(res.Errors) > 0 {
		return &exitError{code: exitPartial, err: fmt.Errorf("snapshot %s saved, but %d file(s) or folder(s) could not be read (listed above)", snap.ID.Short(), len(res.Errors))}
	}
	return nil
}
