package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/vault"
)

func newRegisterCmd(e env) *cobra.Command {
	var credFile string
	cmd := &cobra.Command{
		Use:   "register --vault-credentials FILE",
		Short: "Register this machine with a vault",
		Long: `register uses a vault credentials file (a one-time token from the service,
"seedshipd vault credentials") to register this machine with its vault. The
machine's identity and key go into seedship's config folder ($SEEDSHIP_CONFIG,
default ~/.config/seedship), readable only by its owner. Afterwards init,
backup, restore, snapshots and check use the vault when no --repo is given
(or with --repo vault:). The repository password never leaves this machine:
the service only ever stores ciphertext.`,
		Example: `  seedship register --vault-credentials ./vault-credentials.json
  SEEDSHIP_PASSWORD_FILE=/root/pw seedship init && seedship backup /etc`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if credFile == "" {
				return fmt.Errorf("give the vault credentials file with --vault-credentials FILE (download it from the service)")
			}
			dir, err := vault.DefaultConfigDir(e.getenv)
			if err != nil {
				return err
			}
			mc, err := vault.Register(c.Context(), credFile, dir)
			if err != nil {
				return fmt.Errorf("register: %w", err)
			}
			printf(e.stdout, "registered this machine as %s with vault %s at %s\n", mc.MachineID, mc.VaultName, mc.URL)
			printf(e.stdout, "identity saved in %s; next: seedship init, then seedship backup PATH...\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&credFile, "vault-credentials", "", "the vault credentials `FILE` from the service")
	return cmd
}
