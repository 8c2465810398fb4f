package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/forget"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/pruner"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/secret"
	"github.com/seedship/seedship/internal/service"
	"github.com/seedship/seedship/internal/store/prefix"
	"github.com/seedship/seedship/internal/vault"
)

// errNoPolicy: vault prune was given no --keep-* rule.
var errNoPolicy = errors.New("no policy given: nothing to forget; give at least one --keep-* rule, like --keep-last 7 (vault prune never removes everything by default)")

// pruneFlags are vault prune's flags.
type pruneFlags struct {
	vaultFlags
	machine      string
	passwordFile string
	policy       forget.PolicyFlags
	maxUnused    float64
	dryRun       bool
}

func newVaultPruneCmd(e env) *cobra.Command {
	var f pruneFlags
	c := &cobra.Command{
		Use:   "prune --data DIR --account NAME VAULT [--machine ID] [--password-file FILE] --keep-* N... [--dry-run]",
		Short: "Run retention on a machine's repository as an admin operation",
		Long: `prune applies a retention policy to the repository of one machine of a vault,
as the customer's "seedship forget --prune" does, and removes the data no
kept snapshot needs. It works directly on the service's object store, so
machines can stay append-only (a compromised machine cannot destroy its
backups) while retention still runs.

The service sees only ciphertext: retention needs the repository password,
which only the customer has. The customer hands it over for this run in a
file (--password-file, or SEEDSHIP_PASSWORD_FILE) or in SEEDSHIP_PASSWORD.
It is held in this process for the run only, never stored and never
logged. A customer who does not want to hand it over grants the machine
delete instead (seedshipd vault grant-delete) and runs seedship forget
--prune on the machine.

prune may run while seedshipd serve does: it takes the repository's
exclusive lock, so it fails at once if the machine is backing up, and a
backup that starts meanwhile fails with the usual lock message.
--dry-run takes a shared lock and changes nothing.`,
		Example: `  seedshipd vault prune --data /var/lib/seedshipd --account acme web --keep-daily 7 --keep-weekly 5 --password-file pw --dry-run
  seedshipd vault prune --data /var/lib/seedshipd --account acme web --machine 3fa9… --keep-last 10 --password-file pw`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd.Context(), e, args[0]) },
	}
	f.add(c)
	fl := c.Flags()
	f.policy.AddFlags(fl)
	fl.StringVar(&f.machine, "machine", "", "the machine `ID` (or unique hostname) whose repository to prune; needed when the vault has more than one (see seedshipd vault machines)")
	fl.StringVar(&f.passwordFile, "password-file", "", "read the repository password from `FILE` (default: SEEDSHIP_PASSWORD_FILE, then SEEDSHIP_PASSWORD)")
	fl.Float64Var(&f.maxUnused, "max-unused", pruner.DefaultMaxUnusedPercent, "tolerate this `PERCENT` of unused space before repacking")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "show what would be removed, remove nothing")
	return c
}

// run checks the policy and password before touching the data folder, then
// finds the machine and prunes its repository.
func (f *pruneFlags) run(ctx context.Context, e env, vaultName string) error {
	p, err := f.policy.Policy()
	if errors.Is(err, forget.ErrEmptyPolicy) {
		return errNoPolicy
	}
	if err != nil {
		return err
	}
	pw, err := f.password(e)
	if err != nil {
		return err
	}
	defer clear(pw)
	return f.withAccount(ctx, e, func(s *service.Service, a meta.Account) error {
		v, err := findVault(ctx, s, a, vaultName)
		if err != nil {
			return err
		}
		m, err := f.findMachine(ctx, s, a, v)
		if err != nil {
			return err
		}
		r, err := openMachineRepo(ctx, s, v, m, pw)
		clear(pw) // the key is derived: the password is not needed any more
		if err != nil {
			return err
		}
		job := pruneJob{e: e, r: r, policy: p, maxUnused: f.maxUnused, dryRun: f.dryRun,
			where: fmt.Sprintf("machine %s (%s) of vault %s, account %s", m.ID, m.Hostname, v.Name, a.Name),
			log: s.Logger.With(slog.String("account", a.Name), slog.String("vault", v.Name),
				slog.String("vault_id", v.ID), slog.String("machine", m.ID))}
		return job.run(ctx)
	})
}

// password reads the repository password the customer handed over for
// this run.
func (f *pruneFlags) password(e env) ([]byte, error) {
	if pw, ok, err := secret.Password(e.getenv, f.passwordFile); ok || err != nil {
		return pw, err
	}
	return nil, errors.New("no repository password: retention needs the customer's repository password for this run; give it with --password-file FILE or SEEDSHIP_PASSWORD")
}

// findMachine returns the machine named by --machine (its id, or its
// hostname when unique), or the vault's only machine.
func (f *pruneFlags) findMachine(ctx context.Context, s *service.Service, a meta.Account, v meta.Vault) (meta.Machine, error) {
	ms, err := s.DB.ListMachines(ctx, v.ID)
	if err != nil {
		return meta.Machine{}, err
	}
	list := fmt.Sprintf("see seedshipd vault machines --data %s --account %s %s", f.dir, a.Name, v.Name)
	if f.machine == "" {
		switch len(ms) {
		case 0:
			return meta.Machine{}, fmt.Errorf("vault %s has no machines: nothing to prune", v.Name)
		case 1:
			return ms[0], nil
		}
		return meta.Machine{}, fmt.Errorf("vault %s has %d machines: choose one with --machine ID (%s)", v.Name, len(ms), list)
	}
	var byHost []meta.Machine
	for _, m := range ms {
		if m.ID == f.machine {
			return m, nil
		}
		if m.Hostname == f.machine {
			byHost = append(byHost, m)
		}
	}
	switch len(byHost) {
	case 0:
		return meta.Machine{}, fmt.Errorf("vault %s has no machine %q (%s)", v.Name, f.machine, list)
	case 1:
		return byHost[0], nil
	}
	return meta.Machine{}, fmt.Errorf("vault %s has %d machines with hostname %q: give the machine id (%s)", v.Name, len(byHost), f.machine, list)
}

// openMachineRepo opens the machine's repository below its prefix of the
// service's object store, the one seedshipd serve uses, and loads its
// index.
func openMachineRepo(ctx context.Context, s *service.Service, v meta.Vault, m meta.Machine, pw []byte) (*repo.Repository, error) {
	st, err := s.OpenStore(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := prefix.New(st, vault.RepoPrefix(v.ID, m.ID))
	if err != nil {
		return nil, err
	}
	r, err := repo.Open(ctx, ps, pw, repo.Options{Logger: s.Logger, Host: lockHost()})
	switch {
	case errors.Is(err, repo.ErrWrongPassword):
		return nil, fmt.Errorf("wrong password for the repository of machine %s (no key file opens with it): ask the customer for the repository password", m.ID)
	case errors.Is(err, repo.ErrNotRepository):
		return nil, fmt.Errorf("machine %s of vault %s has no repository yet (it has not backed up): %w", m.ID, v.Name, err)
	case err != nil:
		return nil, fmt.Errorf("open the repository of machine %s: %w", m.ID, err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		return nil, fmt.Errorf("load the index of machine %s: %w", m.ID, err)
	}
	return r, nil
}

// lockHost is the host the prune's lock names. It is not the bare host
// name: a machine may carry the service host's name, and a lock on "this
// host" whose process is not running here counts as stale, so the
// machine's live backup lock would be removed.
func lockHost() string {
	h, err := os.Hostname()
	if err != nil {
		h = "unknown"
	}
	return "seedshipd@" + h
}

// auditLog records the admin operation in the service log (never the
// password); st is nil when the run stopped before prune.
func auditLog(log *slog.Logger, p forget.Policy, removed int, st *pruner.Stats, dryRun bool) {
	attrs := []any{slog.String("policy", p.String()), slog.Int("snapshots_removed", removed), slog.Bool("dry_run", dryRun)}
	if st != nil {
		attrs = append(attrs, slog.Int("packs_removed", st.PacksRemoved+st.PacksUnreferenced),
			slog.Int("packs_repacked", st.PacksRepacked), slog.Int64("bytes_freed", st.BytesFreed))
	}
	log.Info("vault prune", attrs...)
}
