package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/service"
	"github.com/seedship/seedship/internal/store/location"
)

func newStorageAccountCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "storage-account", Short: "Create and list the storage accounts import jobs write into"}
	c.AddCommand(newStorageAccountCreateCmd(e), newStorageAccountListCmd(e))
	return c
}

// storeLocation checks a store location; a local folder is made absolute,
// as the importer may run in another working directory.
func storeLocation(loc string) (string, error) {
	kind, dir, err := location.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("store location %q: %w", loc, err)
	}
	if kind != location.Local {
		return loc, nil
	}
	return filepath.Abs(dir)
}

func newStorageAccountCreateCmd(e env) *cobra.Command {
	var f vaultFlags
	var loc string
	c := &cobra.Command{
		Use:   "create --data DIR --account NAME SA --store LOCATION",
		Short: "Create a storage account: a store location (folder, azure:…, s3:…) for an account's import jobs",
		Long: `create gives the account a storage account named SA: the store (a local
folder, azure:CONTAINER[/PREFIX] or s3:…) that the datacenter imports the
account's drives into. The account's admin names it when creating an import
job; the storage container of the job is a prefix inside it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := storeLocation(loc)
			if err != nil {
				return err
			}
			return f.withAccount(cmd.Context(), e, func(s *service.Service, a meta.Account) error {
				sa, err := s.Admin("").CreateStorageAccount(cmd.Context(), a.ID, args[0], st)
				if errors.Is(err, meta.ErrExists) {
					return fmt.Errorf("account %s already has a storage account %q: see seedshipd storage-account list", a.Name, args[0])
				}
				if err != nil {
					return fmt.Errorf("create storage account %q: %w", args[0], err)
				}
				fmt.Fprintf(e.stderr, "created storage account %s of account %s at %s\n", sa.Name, a.Name, sa.Store)
				return nil
			})
		},
	}
	f.add(c)
	c.Flags().StringVar(&loc, "store", "", "the store location: a folder, azure:CONTAINER[/PREFIX] or s3:… (required)")
	c.MarkFlagRequired("store")
	return c
}

func newStorageAccountListCmd(e env) *cobra.Command {
	var f vaultFlags
	c := &cobra.Command{
		Use:   "list --data DIR --account NAME",
		Short: "List an account's storage accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withAccount(cmd.Context(), e, func(s *service.Service, a meta.Account) error {
				sas, err := s.DB.ListStorageAccounts(cmd.Context(), a.ID)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSTORE\tCREATED")
				for _, sa := range sas {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", sa.Name, sa.Store, sa.Created.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	f.add(c)
	return c
}

func newDatacenterCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "datacenter", Short: "Set or show the datacenter's shipping address"}
	var dir, addr string
	set := &cobra.Command{
		Use:   `set --data DIR --address "…"`,
		Short: "Set the address customers ship their drives to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Admin("").SetDatacenterAddress(cmd.Context(), addr); err != nil {
				return err
			}
			fmt.Fprintln(e.stderr, "datacenter address set")
			return nil
		},
	}
	dataFlag(set, &dir)
	set.Flags().StringVar(&addr, "address", "", "the shipping address, lines separated by newlines (required)")
	set.MarkFlagRequired("address")
	var showDir string
	show := &cobra.Command{
		Use:   "show --data DIR",
		Short: "Show the datacenter's shipping address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open(cmd.Context(), e, showDir)
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := s.Jobs().Datacenter(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, a)
			return nil
		},
	}
	dataFlag(show, &showDir)
	c.AddCommand(set, show)
	return c
}

func newJobsCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "jobs", Short: "Import jobs: the operator's view"}
	var dir, account, state string
	list := &cobra.Command{
		Use:   "list --data DIR [--account NAME] [--state S]",
		Short: "List import jobs of every account (or one), with expiry applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := meta.JobFilter{State: importjob.JobState(state)}
			if state != "" && !f.State.Valid() {
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
			if account != "" {
				if f.AccountID = names.id(account); f.AccountID == "" {
					return fmt.Errorf("no account %q: see seedshipd account list", account)
				}
			}
			rs, err := s.Jobs().List(cmd.Context(), f)
			if err != nil {
				return err
			}
			return printJobs(e, names, rs)
		},
	}
	dataFlag(list, &dir)
	list.Flags().StringVar(&account, "account", "", "only this account's jobs")
	list.Flags().StringVar(&state, "state", "", "only jobs in this state ("+jobStates()+")")
	c.AddCommand(list)
	return c
}

func jobStates() string {
	var ss []string
	for _, s := range importjob.JobStates() {
		ss = append(ss, string(s))
	}
	return strings.Join(ss, ", ")
}

// accountIndex maps account ids to names.
type accountIndex map[string]string

func (a accountIndex) id(name string) string {
	for id, n := range a {
		if n == name {
			return id
		}
	}
	return ""
}

func accountNames(cmd *cobra.Command, s *service.Service) (accountIndex, error) {
	as, err := s.DB.ListAccounts(cmd.Context())
	if err != nil {
		return nil, err
	}
	m := accountIndex{}
	for _, a := range as {
		m[a.ID] = a.Name
	}
	return m, nil
}

func printJobs(e env, names accountIndex, rs []meta.JobRecord) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tJOB\tSTATE\tDRIVES\tSTORAGE\tTRACKING\tDEADLINE\tCREATED")
	for _, r := range rs {
		j := r.Job
		done, total := j.DrivesDone()
		tracking := "-"
		if j.Shipping != nil {
			tracking = j.Shipping.Carrier + " " + j.Shipping.Tracking
		}
		deadline := "-"
		if what, at := j.Deadline(); what != "" {
			deadline = what + " by " + at.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s/%s\t%s\t%s\t%s\n", names[j.Account], j.Name, j.State, done, total,
			j.StorageAccount, j.Container, tracking, deadline, j.Created.Format(time.RFC3339))
	}
	return tw.Flush()
}
