// Command seedshipd is the seedship service: one daemon serving the vault
// (where registered machines back up over HTTPS), and the operator
// commands that manage its accounts, vaults and credentials. Everything
// lives in one data folder (--data DIR).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/seedship/seedship/internal/service"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
)

// env is everything a command reads from or writes to the outside world,
// so tests can run commands in-process.
type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// ready, when set, is told serve's listening address (tests).
	ready func(addr string)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:]))
}

// exitError carries an exit code other than 1 out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, e env, args []string) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(e.stderr, "seedshipd: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "seedshipd",
		Short: "The seedship service: vault API and operator commands",
		Long: `seedshipd serves the vault, where registered machines back up over HTTPS,
and manages its accounts, vaults and credentials.

Everything lives in the data folder given with --data: the configuration
(seedshipd.toml, created with defaults on first use), the database, the TLS
certificate and, by default, the object store.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(e), newAccountCmd(e), newVaultCmd(e), newOperatorCmd(e),
		newStorageAccountCmd(e), newDatacenterCmd(e), newJobsCmd(e), newOpsCmd(e))
	return root
}

// dataFlag adds the required --data flag.
func dataFlag(c *cobra.Command, dir *string) {
	c.Flags().StringVar(dir, "data", "", "the service's data folder (required)")
	c.MarkFlagRequired("data")
}

// open opens the data folder for an operator command.
func open(ctx context.Context, e env, dir string) (*service.Service, error) {
	return service.Open(ctx, dir, service.Options{LogOutput: e.stderr})
}

// writeOut writes a credentials file: mode 0600, never over an existing
// file ("-" writes to standard output).
func writeOut(e env, path string, data []byte) error {
	if path == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: remove it or choose another --out", path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
