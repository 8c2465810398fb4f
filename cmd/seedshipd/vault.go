package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/service"
	"github.com/seedship/seedship/internal/vault"
)

func newVaultCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "vault", Short: "Create vaults, issue vault credentials, manage machines' rights"}
	c.AddCommand(newVaultCreateCmd(e), newVaultListCmd(e), newVaultMachinesCmd(e), newVaultCredentialsCmd(e),
		newVaultGrantDeleteCmd(e), newVaultPruneCmd(e))
	return c
}

// vaultFlags are the flags naming one account's vault.
type vaultFlags struct {
	dir, account string
}

func (f *vaultFlags) add(c *cobra.Command) {
	dataFlag(c, &f.dir)
	c.Flags().StringVar(&f.account, "account", "", "the account's name (required)")
	c.MarkFlagRequired("account")
}

// withAccount opens the data folder and finds the account.
func (f *vaultFlags) withAccount(ctx context.Context, e env, fn func(*service.Service, meta.Account) error) error {
	s, err := open(ctx, e, f.dir)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := s.DB.AccountByName(ctx, f.account)
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("no account %q: see seedshipd account list", f.account)
	}
	if err != nil {
		return err
	}
	return fn(s, a)
}

// findVault finds the account's vault by name.
func findVault(ctx context.Context, s *service.Service, a meta.Account, name string) (meta.Vault, error) {
	v, err := s.DB.VaultByName(ctx, a.ID, name)
	if errors.Is(err, meta.ErrNotFound) {
		return v, fmt.Errorf("account %s has no vault %q: see seedshipd vault list", a.Name, name)
	}
	return v, err
}

func newVaultCreateCmd(e env) *cobra.Command {
	var f vaultFlags
	c := &cobra.Command{
		Use:   "create --data DIR --account NAME VAULT",
		Short: "Create a vault in an account",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withAccount(cmd.Context(), e, func(s *service.Service, a meta.Account) error {
				v, err := s.Admin("").CreateVault(cmd.Context(), a.ID, args[0])
				if err != nil {
					return fmt.Errorf("create vault %q: %w", args[0], err)
				}
				fmt.Fprintln(e.stdout, v.ID)
				return nil
			})
		},
	}
	f.add(c)
	return c
}

func newVaultListCmd(e env) *cobra.Command {
	var f vaultFlags
	c := &cobra.Command{
		Use:   "list --data DIR --account NAME",
		Short: "List an account's vaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withAccount(cmd.Context(), e, func(s *service.Service, a meta.Account) error {
				vs, err := s.DB.ListVaults(cmd.Context(), a.ID)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tID\tMACHINE DELETE\tCREATED")
				for _, v := range vs {
					fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", v.Name, v.ID, v.MachineDelete, v.Created.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	f.add(c)
	return c
}

func newVaultMachinesCmd(e env) *cobra.Command {
	var f vaultFlags
	c := &cobra.Command{
		Use:   "machines --data DIR --account NAME VAULT",
		Short: "List the machines registered with a vault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withAccount(cmd.Context(), e, func(s *service.Service, a meta.Account) error {
				v, err := findVault(cmd.Context(), s, a, args[0])
				if err != nil {
					return err
				}
				ms, err := s.DB.ListMachines(cmd.Context(), v.ID)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "MACHINE\tHOSTNAME\tDELETE\tREGISTERED")
				for _, m := range ms {
					fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", m.ID, m.Hostname, m.Delete || v.MachineDelete, m.Created.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	f.add(c)
	return c
}

func newVaultCredentialsCmd(e env) *cobra.Command {
	var f vaultFlags
	var out, url string
	var valid time.Duration
	c := &cobra.Command{
		Use:   "credentials --data DIR --account NAME VAULT --out FILE [--valid 48h]",
		Short: "Write a vault credentials file: registers one machine, once, before it expires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withAccount(cmd.Context(), e, func(s *service.Service, a meta.Account) error {
				v, err := findVault(cmd.Context(), s, a, args[0])
				if err != nil {
					return err
				}
				vc, err := s.Admin(url).VaultCredentials(cmd.Context(), a.ID, v.ID, valid)
				if err != nil {
					return fmt.Errorf("vault credentials for %q: %w", args[0], err)
				}
				b, err := vc.Marshal()
				if err != nil {
					return err
				}
				if err := writeOut(e, out, b); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "vault credentials for %s valid until %s; on the machine run: seedship register --vault-credentials %s\n",
					v.Name, vc.Expires.Format(time.RFC3339), out)
				return nil
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&out, "out", "", "write the vault credentials file here (required; - for standard output)")
	c.MarkFlagRequired("out")
	c.Flags().DurationVar(&valid, "valid", vault.DefaultTokenValidity, "how long the registration token stays valid (at most 720h)")
	c.Flags().StringVar(&url, "url", "", "service URL to write into the file (default: public_url in seedshipd.toml)")
	return c
}

func newVaultGrantDeleteCmd(e env) *cobra.Command {
	var f vaultFlags
	var machine string
	var revoke bool
	c := &cobra.Command{
		Use:   "grant-delete --data DIR --account NAME VAULT [--machine ID] [--revoke]",
		Short: "Let machines delete their own objects (vaults are append-only for machines by default)",
		Long: `grant-delete gives the machines of a vault — or, with --machine, one of them —
the right to delete objects in their own repository, so that retention
(seedship forget --prune) can run on the machine. Without it a machine can
add backups but not delete them, so a compromised machine cannot destroy its
backups. --revoke takes the right away again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withAccount(cmd.Context(), e, func(s *service.Service, a meta.Account) error {
				v, err := findVault(cmd.Context(), s, a, args[0])
				if err != nil {
					return err
				}
				if err := s.Admin("").GrantDelete(cmd.Context(), a.ID, v.ID, machine, !revoke); err != nil {
					return fmt.Errorf("grant-delete on %s: %w", v.Name, err)
				}
				who := "all machines of vault " + v.Name
				if machine != "" {
					who = "machine " + machine
				}
				verb := map[bool]string{false: "granted to", true: "revoked from"}[revoke]
				fmt.Fprintf(cmd.ErrOrStderr(), "delete right %s %s\n", verb, who)
				return nil
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&machine, "machine", "", "grant to this machine id only (see seedshipd vault machines)")
	c.Flags().BoolVar(&revoke, "revoke", false, "revoke the right instead")
	return c
}
