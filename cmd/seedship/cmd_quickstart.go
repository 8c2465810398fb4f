package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newQuickstartCmd(e env) *cobra.Command {
	var dir string
	var keep bool
	cmd := &cobra.Command{
		Use:   "quickstart [--dir DIR] [PATH]",
		Short: "Run the whole offline-seeding workflow on embedded defaults",
		Long: `quickstart runs seedship's whole offline-seeding workflow on one machine, in
the folder DIR: it starts an embedded seedshipd (SQLite database, local
object store, TLS on a port chosen at run time), creates an account, a
storage account, a vault and its credentials, registers this "machine",
writes an offline backup of PATH (or of a generated sample folder) into a
staging location, prepares it onto simulated drives (folders), reports the
shipment, receives and imports the drives as the datacenter would, lets the
next online backup adopt the seed, changes about 1% of the files and backs
up the change over the network, restores the latest snapshot and verifies
it bit for bit, and checks every pack.

Each step prints one line: what it did, its time and the command (or the
seedshipd operation) that does the same by hand. A summary of the figures
closes: sizes, the deduplication and compression ratio, throughput and the
bytes the incremental backup sent.

PATH is copied into DIR/source first, as the quickstart changes files for
its incremental step: PATH itself is never written. Nothing outside DIR is
written either: the registration lives in DIR/config, not in your seedship
config folder. Without --dir, DIR is a temporary folder, removed afterwards
unless --keep (or a step fails).`,
		Example: `  go run ./cmd/seedship quickstart
  seedship quickstart --dir /tmp/try-seedship ~/Documents`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runQuickstart(c.Context(), e, dir, keep, args)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "work `DIR` (default: a temporary folder, removed afterwards)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary work folder")
	return cmd
}

// runQuickstart runs the quickstart in dir, or in a temporary folder that
// is removed afterwards unless keep or a step failed.
func runQuickstart(ctx context.Context, e env, dir string, keep bool, args []string) error {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := checkWorkDir(dir); err != nil {
			return err
		}
		return quickstart(ctx, e, dir, args)
	}
	d, err := os.MkdirTemp("", "seedship-quickstart-")
	if err != nil {
		return err
	}
	err = quickstart(ctx, e, d, args)
	switch {
	case err != nil:
		printf(e.stderr, "the work folder %s is kept for a look at what failed\n", d)
	case keep:
		printf(e.stdout, "\nthe work folder %s is kept (--keep)\n", d)
	default:
		err = os.RemoveAll(d)
	}
	return err
}

// checkWorkDir refuses a folder that holds an earlier quickstart (one of
// the names it creates): the service there already has the account, the
// vault and the job.
func checkWorkDir(dir string) error {
	for _, name := range []string{"service", "datacenter", "config", "sample", "source", "staging",
		"drive1", "drive2", "drive3", "restore", "acme-settings.json", "vault-credentials.json"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%s holds an earlier quickstart (%s): give a new or empty folder with --dir, or none for a temporary one", dir, name)
		}
	}
	return nil
}

// qs is one quickstart run.
type qs struct {
	e      env // the caller's: the step lines go to its stdout
	cmdEnv env // what the seedship commands see
	dir    string
	src    string
	svc    *qsService
	drives []string     // the drives diskprep filled
	out    bytes.Buffer // the running step's output
	began  time.Time    // when the running step began
	fig    qsFigures
}

func quickstart(ctx context.Context, e env, dir string, args []string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	q := &qs{e: e, dir: dir, fig: qsFigures{times: map[string]time.Duration{}}}
	q.cmdEnv = quickstartEnv(e, q.path("config"))
	if err := q.prepareSource(args); err != nil {
		return err
	}
	printf(e.stdout, "seedship quickstart in %s (paths below are relative to it)\n", dir)
	printf(e.stdout, "source: %s, %s, %s\n\n", q.fig.sourceName, qsPlural(q.fig.source.files, "file"), formatBytes(q.fig.source.bytes))
	err = q.step("service", "seedshipd serve --data "+q.path("service")+" --listen 127.0.0.1:0", func() (string, error) {
		svc, err := startService(ctx, q.path("service"))
		if err != nil {
			return "", err
		}
		q.svc = svc
		return fmt.Sprintf("seedshipd at %s: SQLite, local object store, pinned TLS certificate", svc.url), nil
	})
	if err != nil {
		return err
	}
	err = q.workflow(ctx)
	if serr := q.svc.stop(); serr != nil && err == nil {
		err = fmt.Errorf("stop the service: %w", serr)
	}
	if err != nil {
		return err
	}
	q.summary()
	return nil
}

// quickstartEnv is the seedship commands' environment: their own config
// folder (the user's registration is never touched), a fixed password,
// and nothing else of the caller's environment (no SEEDSHIP_REPO) except
// the tests' cheap KDF switch.
func quickstartEnv(e env, configDir string) env {
	q := e
	q.stdin = strings.NewReader("")
	q.terminal = false
	q.getenv = func(k string) string {
		switch k {
		case "SEEDSHIP_CONFIG":
			return configDir
		case "SEEDSHIP_PASSWORD":
			return "quickstart-password"
		case testKDFEnv:
			return e.getenv(k)
		}
		return ""
	}
	return q
}

func (q *qs) path(name string) string { return filepath.Join(q.dir, name) }

// prepareSource generates the sample folder, or copies PATH into the work
// folder, and counts it.
func (q *qs) prepareSource(args []string) error {
	q.src = q.path("sample")
	if len(args) == 0 {
		if err := writeSample(q.src); err != nil {
			return fmt.Errorf("write the sample folder: %w", err)
		}
		q.fig.sourceName = "sample/, generated"
	} else {
		from, err := filepath.Abs(args[0])
		if err != nil {
			return err
		}
		if fi, err := os.Stat(from); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s is not a folder: give a folder to back up, or none for the sample", args[0])
		}
		q.src = q.path("source")
		if err := copySourceTree(from, q.src, q.dir); err != nil {
			return fmt.Errorf("copy %s into the work folder: %w", from, err)
		}
		q.fig.sourceName = "source/, a copy of " + from
	}
	var err error
	q.fig.source, err = qsStatTree(q.src)
	return err
}

// workflow runs the steps after the service started.
func (q *qs) workflow(ctx context.Context) error {
	for _, f := range []func(context.Context) error{q.provision, q.customer, q.datacenter, q.afterImport} {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

// provision does what the service's operator does for a new customer.
func (q *qs) provision(ctx context.Context) error {
	svcDir := q.path("service")
	steps := []struct {
		name, cmd string
		do        func() (string, error)
	}{
		{"account", qsCommand("seedshipd", "account", "create", "--data", svcDir, qsAccount, "--out", q.path("acme-settings.json")),
			func() (string, error) { return q.svc.createAccount(ctx, q.path("acme-settings.json")) }},
		{"storage", qsCommand("seedshipd", "storage-account", "create", "--data", svcDir, "--account", qsAccount, qsStorageAccount, "--store", q.path("datacenter")),
			func() (string, error) { return q.svc.createStorageAccount(ctx, q.path("datacenter")) }},
		{"datacenter", qsCommand("seedshipd", "datacenter", "set", "--data", svcDir, "--address", qsDatacenter),
			func() (string, error) { return q.svc.setDatacenter(ctx) }},
		{"vault", qsCommand("seedshipd", "vault", "create", "--data", svcDir, "--account", qsAccount, qsVault) + " && " +
			qsCommand("seedshipd", "vault", "credentials", "--data", svcDir, "--account", qsAccount, qsVault, "--out", q.path("vault-credentials.json")),
			func() (string, error) { return q.svc.createVault(ctx, q.path("vault-credentials.json")) }},
	}
	for _, s := range steps {
		if err := q.step(s.name, s.cmd, s.do); err != nil {
			return err
		}
	}
	return nil
}

// customer runs the customer's side up to the shipment.
func (q *qs) customer(ctx context.Context) error {
	if err := q.run(ctx, "register", qsRegisterFacts, "register", "--vault-credentials", q.path("vault-credentials.json")); err != nil {
		return err
	}
	if err := q.run(ctx, "init", qsSay("repository created in the vault; its keys sealed with the password"), "init"); err != nil {
		return err
	}
	if err := q.offlineBackup(ctx); err != nil {
		return err
	}
	if err := q.diskprep(ctx); err != nil {
		return err
	}
	return q.run(ctx, "shipping", qsSay("shipment reported (UPS 1ZQUICKSTART01): the drives are due within 14 days"),
		"shipping", "--staging", q.path("staging"), "--carrier", "UPS", "--tracking", "1Z QUICKSTART 01", "--packages", "1",
		"--ship-date", time.Now().UTC().Format(time.DateOnly), "--return-address", "ACME, 1 Main St, Springfield",
		"--contact", "ops@acme.example", "--yes")
}

// run is a step that runs one seedship command; facts turns its stdout
// into the step's line.
func (q *qs) run(ctx context.Context, name string, facts func(stdout string) (string, error), args ...string) error {
	return q.step(name, qsCommand(append([]string{"seedship"}, args...)...), func() (string, error) {
		out, err := q.seedship(ctx, args...)
		if err != nil {
			return "", err
		}
		return facts(out)
	})
}

// qsSay is a facts function with a fixed answer.
func qsSay(s string) func(string) (string, error) {
	return func(string) (string, error) { return s, nil }
}
