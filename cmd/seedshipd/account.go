package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newAccountCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "account", Short: "Create, list and disable accounts"}
	c.AddCommand(newAccountCreateCmd(e), newAccountListCmd(e),
		newAccountDisableCmd(e, "disable", true), newAccountDisableCmd(e, "enable", false))
	return c
}

func newAccountCreateCmd(e env) *cobra.Command {
	var dir, out, url string
	c := &cobra.Command{
		Use:   "create --data DIR NAME --out FILE",
		Short: "Create an account and write its account settings file",
		Long: `create makes an account and writes its account settings file (service URL,
account id, API key, certificate fingerprint) to FILE, mode 0600. Hand it to
the account's administrator only: it is the account's admin credential.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := s.Admin(url).CreateAccount(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("create account %q: %w", args[0], err)
			}
			b, err := a.Marshal()
			if err != nil {
				return err
			}
			if err := writeOut(e, out, b); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created account %s (%s); account settings in %s\n", a.Name, a.AccountID, out)
			return nil
		},
	}
	dataFlag(c, &dir)
	c.Flags().StringVar(&out, "out", "", "write the account settings file here (required; - for standard output)")
	c.MarkFlagRequired("out")
	c.Flags().StringVar(&url, "url", "", "service URL to write into the file (default: public_url in seedshipd.toml)")
	return c
}

func newAccountListCmd(e env) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "list --data DIR",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			defer s.Close()
			as, err := s.DB.ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tSTATUS\tCREATED")
			for _, a := range as {
				status := "active"
				if a.Disabled {
					status = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.ID, status, a.Created.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	dataFlag(c, &dir)
	return c
}

func newAccountDisableCmd(e env, verb string, disable bool) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   verb + " --data DIR NAME",
		Short: map[bool]string{true: "Disable an account: its keys and machines are refused", false: "Re-enable a disabled account"}[disable],
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Admin("").SetAccountDisabled(cmd.Context(), args[0], disable); err != nil {
				return fmt.Errorf("%s account %q: %w", verb, args[0], err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "account %s %sd\n", args[0], verb)
			return nil
		},
	}
	dataFlag(c, &dir)
	return c
}

func newOperatorCmd(e env) *cobra.Command {
	c := &cobra.Command{Use: "operator", Short: "Manage operator (datacenter staff) credentials"}
	var dir, out, url string
	create := &cobra.Command{
		Use:   "create --data DIR NAME --out FILE",
		Short: "Issue an operator API key and write its settings file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open(cmd.Context(), e, dir)
			if err != nil {
				return err
			}
			defer s.Close()
			a, err := s.Admin(url).CreateOperator(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("create operator %q: %w", args[0], err)
			}
			b, err := a.Marshal()
			if err != nil {
				return err
			}
			return writeOut(e, out, b)
		},
	}
	dataFlag(create, &dir)
	create.Flags().StringVar(&out, "out", "", "write the settings file here (required; - for standard output)")
	create.MarkFlagRequired("out")
	create.Flags().StringVar(&url, "url", "", "service URL to write into the file (default: public_url in seedshipd.toml)")
	c.AddCommand(create)
	return c
}
