// Command seedship is the seedship backup agent and command line: it backs
// up to and restores from a repository in a local directory, an object store
// or a seedship vault, and runs the customer side of offline seeding.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitPartial = 3 // backup finished, but some files could not be read
)

// env is everything a command reads from or writes to the outside world,
// so tests can run commands in-process.
type env struct {
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) string
	terminal bool // stdin and stderr are terminals: prompts and progress bars allowed
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, terminal: isTerminal(os.Stdin) && isTerminal(os.Stderr)}
	if os.Getenv("GOGC") == "" {
		// The heap is mostly reused pack and chunk buffers, so collecting
		// at 50% growth costs little and keeps peak memory near the
		// working set (backup and restore stay under 128 MiB).
		debug.SetGCPercent(50)
	}
	stopProfile := startProfile(os.Getenv("SEEDSHIP_CPUPROFILE"))
	code := run(ctx, e, os.Args[1:])
	stopProfile()
	writeHeapProfile(os.Getenv("SEEDSHIP_MEMPROFILE"))
	os.Exit(code)
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
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(e.stderr, "seedship: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(e.stderr, "seedship: %v\n", err)
	return exitFailure
}

// globals are the flags every command shares.
type globals struct {
	repo         string
	passwordFile string
	quiet        bool
	verbose      bool
	noPassword   error // returned when no password can be had; default errNoPassword
}

func newRootCmd(e env) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "seedship",
		Short: "Deduplicated, compressed, encrypted backups with offline seeding",
		Long: `seedship backs up files into a repository: deduplicated, compressed and
encrypted on this machine. A repository is a local directory, an Azure Blob
container, an S3 bucket, or a seedship vault.

The repository comes from --repo or SEEDSHIP_REPO; the password from
SEEDSHIP_PASSWORD, --password-file, or a prompt on a terminal.`,
		Example: `  seedship init --repo /srv/backup
  seedship backup --repo /srv/backup /home /etc
  seedship restore --repo /srv/backup latest --target /tmp/restore
  go run ./cmd/seedship quickstart`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&g.repo, "repo", "r", "", "repository location (default $SEEDSHIP_REPO)")
	pf.StringVar(&g.passwordFile, "password-file", "", "read the repository password from this file")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors and results")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log more detail")
	root.AddCommand(
		newInitCmd(e, g),
		newBackupCmd(e, g),
		newSnapshotsCmd(e, g),
		newLsCmd(e, g),
		newRestoreCmd(e, g),
		newDumpCmd(e, g),
		newCheckCmd(e, g),
		newForgetCmd(e, g),
		newPruneCmd(e, g),
		newKeyCmd(e, g),
		newUnlockCmd(e, g),
		newRegisterCmd(e),
		newQuickstartCmd(e),
		newVersionCmd(e),
		newDiskprepCmd(e, g),
		newShippingCmd(e, g),
		newSeedCmd(e, g),
	)
	return root
}
