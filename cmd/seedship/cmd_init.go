package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/repo"
)

func newInitCmd(e env, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create a new repository",
		Example: `  seedship init --repo /srv/backup
  seedship init --repo azure:backups/host1 --password-file ~/.seedship-password
  seedship init --repo s3:https://s3.example.com/bucket/host1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, loc, err := openStore(ctx, e, g, true)
			if err != nil {
				return err
			}
			pw, err := password(e, g, "enter a password for the new repository: ", true)
			if err != nil {
				return err
			}
			r, err := repo.Init(ctx, st, pw, repoOptions(e, g))
			if errors.Is(err, repo.ErrAlreadyExists) {
				return fmt.Errorf("%s already holds a seedship repository: nothing changed", loc)
			}
			if err != nil {
				return fmt.Errorf("init %s: %w", loc, err)
			}
			printf(e.stdout, "created seedship repository %s at %s\n\n", r.Config().ID.Short(), loc)
			printf(e.stdout, "Keep the password safe: without it the data cannot be restored by anyone.\n")
			return nil
		},
	}
}

func newVersionCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  seedship version",
		Args:    cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			printf(e.stdout, "seedship %s (repository format %d)\n", version, repo.FormatVersion)
		},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
