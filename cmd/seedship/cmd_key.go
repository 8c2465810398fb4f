package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/repo"
)

var errNoNewPassword = errors.New("no new password: pass --new-password-file FILE, set SEEDSHIP_NEW_PASSWORD, or run on a terminal to be asked")

func newKeyCmd(e env, g *globals) *cobra.Command {
	var newPasswordFile string
	// The new password never comes from SEEDSHIP_PASSWORD, which holds the
	// current one.
	newPassword := func() ([]byte, error) {
		ne := e
		ne.getenv = func(k string) string {
			if k == "SEEDSHIP_NEW_PASSWORD" {
				return ""
			}
			if k == "SEEDSHIP_PASSWORD" {
				return e.getenv("SEEDSHIP_NEW_PASSWORD")
			}
			if k == "SEEDSHIP_PASSWORD_FILE" {
				return ""
			}
			return e.getenv(k)
		}
		return password(ne, &globals{passwordFile: newPasswordFile, noPassword: errNoNewPassword}, "enter the new password: ", true)
	}
	// rewrap opens the repository, reads a new password and wraps the
	// master key with it (key add, key passwd).
	rewrap := func(c *cobra.Command, done string, wrap func(*repo.Repository, context.Context, []byte) (oid.ID, error)) error {
		r, err := openRepo(c.Context(), e, g)
		if err != nil {
			return err
		}
		pw, err := newPassword()
		if err != nil {
			return err
		}
		id, err := wrap(r, c.Context(), pw)
		if err != nil {
			return err
		}
		printf(e.stdout, done, id.Short())
		return nil
	}
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage the passwords (key files) of a repository",
		Long: `Every password of a repository wraps the same master key. Adding a password
does not re-encrypt anything; removing one makes it useless.`,
		Example: `  seedship key list --repo /srv/backup
  seedship key add --repo /srv/backup --new-password-file /root/second-password
  seedship key remove --repo /srv/backup 3fa9c1d2
  seedship key passwd --repo /srv/backup`,
	}
	cmd.PersistentFlags().StringVar(&newPasswordFile, "new-password-file", "", "read the new password from this file (add, passwd; or $SEEDSHIP_NEW_PASSWORD)")
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List the key files", Args: cobra.NoArgs,
			Example: "  seedship key list --repo /srv/backup",
			RunE: func(c *cobra.Command, _ []string) error {
				r, err := openRepo(c.Context(), e, g)
				if err != nil {
					return err
				}
				keys, err := r.Keys(c.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, " \tID\tUser\tHost\tCreated")
				for _, k := range keys {
					mark := " "
					if k.Current {
						mark = "*"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, k.ID.Short(), k.File.User, k.File.Host, k.File.Created.Format("2006-01-02 15:04:05"))
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use: "add", Short: "Add a password", Args: cobra.NoArgs,
			Example: "  seedship key add --repo /srv/backup --new-password-file /root/second-password\n  SEEDSHIP_NEW_PASSWORD=... seedship key add --repo /srv/backup",
			RunE: func(c *cobra.Command, _ []string) error {
				return rewrap(c, "added key %s\n", (*repo.Repository).AddKey)
			},
		},
		&cobra.Command{
			Use: "remove ID", Short: "Remove a password (not the one in use)", Args: cobra.ExactArgs(1),
			Example: "  seedship key remove --repo /srv/backup 3fa9c1d2",
			RunE: func(c *cobra.Command, args []string) error {
				r, err := openRepo(c.Context(), e, g)
				if err != nil {
					return err
				}
				id, err := findKey(c, r, args[0])
				if err != nil {
					return err
				}
				if err := r.RemoveKey(c.Context(), id); err != nil {
					return err
				}
				printf(e.stdout, "removed key %s\n", id.Short())
				return nil
			},
		},
		&cobra.Command{
			Use: "passwd", Short: "Change the password in use", Args: cobra.NoArgs,
			Example: "  seedship key passwd --repo /srv/backup",
			RunE: func(c *cobra.Command, _ []string) error {
				return rewrap(c, "password changed: key %s replaces the old one\n", (*repo.Repository).ChangePassword)
			},
		},
	)
	return cmd
}

func findKey(c *cobra.Command, r *repo.Repository, prefix string) (oid.ID, error) {
	keys, err := r.Keys(c.Context())
	if err != nil {
		return oid.ID{}, err
	}
	var match []oid.ID
	for _, k := range keys {
		if strings.HasPrefix(k.ID.String(), strings.ToLower(prefix)) {
			match = append(match, k.ID)
		}
	}
	if len(match) != 1 {
		return oid.ID{}, fmt.Errorf("%q matches %d keys: give a unique prefix from \"seedship key list\"", prefix, len(match))
	}
	return match[0], nil
}

func newUnlockCmd(e env, g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Remove stale locks (or all locks with --remove-all)",
		Long: `Stale locks (of a dead process on this host, or not refreshed for 30 minutes)
are removed automatically by every command; unlock does it explicitly.
--remove-all also removes live locks: use it only when you are sure no
other seedship process is using the repository.`,
		Example: `  seedship unlock --repo /srv/backup`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := openRepo(c.Context(), e, g)
			if err != nil {
				return err
			}
			locks, err := r.Locks(c.Context())
			if err != nil {
				return err
			}
			n := 0
			for _, l := range locks {
				if all || r.IsStale(l) {
					if err := r.Store().Delete(c.Context(), repo.KindLocks+"/"+l.ID.String()); err != nil {
						return err
					}
					printf(e.stdout, "removed %s\n", l)
					n++
				}
			}
			printf(e.stdout, "%d lock(s) removed\n", n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "remove-all", false, "remove all locks, even live ones")
	return cmd
}
