package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPassword opens the repositories the CLI tests create.
const testPassword = "cli-test-password"

// cli runs seedship commands in-process against one repository.
type cli struct {
	t    *testing.T
	repo string
	vars map[string]string // the environment seen by the commands
}

// result is what one command did.
type result struct {
	args   []string
	code   int
	stdout string
	stderr string
}

func (r result) String() string {
	return fmt.Sprintf("seedship %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// newCLI returns a runner for a repository at a new, not yet created path.
func newCLI(t *testing.T) *cli {
	t.Helper()
	repoDir := filepath.Join(t.TempDir(), "repo")
	return &cli{t: t, repo: repoDir, vars: map[string]string{
		"SEEDSHIP_INSECURE_TEST_KDF": "1",
		"SEEDSHIP_PASSWORD":          testPassword,
		"SEEDSHIP_REPO":              repoDir,
	}}
}

// initRepo creates the repository.
func (c *cli) initRepo() {
	c.t.Helper()
	r := c.ok("init")
	if !strings.Contains(r.stdout, "created seedship repository") {
		c.t.Errorf("init output lacks the confirmation:\n%s", r)
	}
}

// on returns a copy of c that reports to t (for subtests).
func (c *cli) on(t *testing.T) *cli {
	n := c.with()
	n.t = t
	return n
}

// with returns a copy of c whose environment also has the given KEY=VALUE
// pairs (an empty value unsets).
func (c *cli) with(kv ...string) *cli {
	n := &cli{t: c.t, repo: c.repo, vars: map[string]string{}}
	for k, v := range c.vars {
		n.vars[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		n.vars[kv[i]] = kv[i+1]
	}
	return n
}

// run runs one command line. It fails the test on a panic or when the
// command does not finish within a minute (a hang, e.g. on a FIFO).
func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runStdin(nil, args...)
}

func (c *cli) runStdin(stdin io.Reader, args ...string) result {
	c.t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	e := env{stdin: stdin, stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return c.vars[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan any, 1)
	code := exitFailure
	go func() {
		defer func() { done <- recover() }()
		code = run(ctx, e, args)
	}()
	select {
	case p := <-done:
		if p != nil {
			c.t.Fatalf("seedship %s panicked: %v\nstderr:\n%s", strings.Join(args, " "), p, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		// A command blocked in a system call (open of a FIFO) ignores ctx.
		c.t.Fatalf("seedship %s hangs", strings.Join(args, " "))
	}
	return result{args: args, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != exitOK {
		c.t.Fatalf("want exit 0, got\n%s", r)
	}
	return r
}

// fail runs a command that must fail with exit code want and a message on
// stderr containing every one of msgs; it never panics.
func (c *cli) fail(want int, msgs []string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != want {
		c.t.Errorf("want exit %d, got\n%s", want, r)
	}
	for _, m := range msgs {
		if !strings.Contains(r.stderr, m) {
			c.t.Errorf("stderr lacks %q:\n%s", m, r)
		}
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		c.t.Errorf("stderr shows a stack trace:\n%s", r)
	}
	return r
}

// snapshots returns the parsed output of "snapshots --json".
func (c *cli) snapshots() []snapshotJSON {
	c.t.Helper()
	r := c.ok("snapshots", "--json")
	var out []snapshotJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		c.t.Fatalf("snapshots --json does not parse: %v\n%s", err, r)
	}
	return out
}

// backupJSON runs "backup --json" with args and returns the summary line.
func (c *cli) backupJSON(args ...string) backupSummaryJSON {
	c.t.Helper()
	r := c.ok(append([]string{"backup", "--json"}, args...)...)
	return parseBackupJSON(c.t, r)
}

// backupSummaryJSON is the last line of "backup --json".
type backupSummaryJSON struct {
	MessageType string `json:"message_type"`
	SnapshotID  string `json:"snapshot_id"`
	Errors      int    `json:"errors"`
	Summary     struct {
		FilesNew        uint64 `json:"files_new"`
		FilesChanged    uint64 `json:"files_changed"`
		FilesUnmodified uint64 `json:"files_unmodified"`
		DirsUnmodified  uint64 `json:"dirs_unmodified"`
		DataBlobs       uint64 `json:"data_blobs"`
		DataAdded       uint64 `json:"data_added"`
		FilesProcessed  uint64 `json:"files_processed"`
		BytesProcessed  uint64 `json:"bytes_processed"`
	} `json:"summary"`
}

// parseBackupJSON checks that every stdout line of a "backup --json" run is
// a JSON object with a message_type, that only the last one is the
// summary, and returns it.
func parseBackupJSON(t *testing.T, r result) backupSummaryJSON {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var sum backupSummaryJSON
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("backup --json line %d is not JSON: %v: %q", i+1, err, line)
		}
		typ, _ := m["message_type"].(string)
		last := i == len(lines)-1
		switch {
		case last && typ != "summary":
			t.Fatalf("backup --json ends with message_type %q, want summary:\n%s", typ, r)
		case !last && typ != "status":
			t.Errorf("backup --json line %d has message_type %q, want status", i+1, typ)
		}
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("backup --json summary: %v", err)
	}
	if len(sum.SnapshotID) != 64 {
		t.Errorf("backup --json summary snapshot_id = %q, want 64 hex digits", sum.SnapshotID)
	}
	return sum
}

// restoredRoot is where restore puts the backed-up directory src.
func restoredRoot(target, src string) string {
	abs, err := filepath.Abs(src)
	if err != nil {
		panic(err)
	}
	return filepath.Join(target, abs)
}

// writeFile writes a file, creating its directory.
func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// randomBytes returns n incompressible bytes drawn from seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
