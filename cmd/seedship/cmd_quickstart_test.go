package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// quickstartRun runs seedship quickstart with args in-process, with a
// HOME, a SEEDSHIP_CONFIG and a SEEDSHIP_REPO of the user's that it must
// leave alone, and checks that it did.
func quickstartRun(t *testing.T, args ...string) result {
	t.Helper()
	home, userConfig := t.TempDir(), t.TempDir()
	userRepo := filepath.Join(t.TempDir(), "repo")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	vars := map[string]string{
		"HOME": home, "SEEDSHIP_CONFIG": userConfig, "SEEDSHIP_REPO": userRepo,
		"SEEDSHIP_PASSWORD": "the user's password", testKDFEnv: "1",
	}
	var stdout, stderr bytes.Buffer
	e := env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), e, append([]string{"quickstart"}, args...))
	r := result{args: args, code: code, stdout: stdout.String(), stderr: stderr.String()}
	for _, d := range []string{home, userConfig} {
		if ents, _ := os.ReadDir(d); len(ents) > 0 {
			t.Errorf("quickstart wrote into the user's %s: %v", d, ents)
		}
	}
	if _, err := os.Stat(userRepo); !os.IsNotExist(err) {
		t.Errorf("quickstart touched the user's SEEDSHIP_REPO: %v", err)
	}
	return r
}

// quickstartSteps are the lines the workflow prints, each with a piece of
// what it must say.
var quickstartSteps = []struct{ step, says string }{
	{"service", "seedshipd at https://127.0.0.1:"},
	{"account", "account acme"},
	{"storage", "storage account sa1"},
	{"vault", "vault servers"},
	{"register", "in vault servers"},
	{"init", "repository created in the vault"},
	{"offline backup", "into staging/"},
	{"diskprep", "import job created"},
	{"shipping", "shipment reported"},
	{"receive 1", "manifest authenticated, Received"},
	{"import 1", "each verified"},
	{"adoption", "the vault adopted the seed"},
	{"change", "added added-after-seeding.txt"},
	{"incremental", "1 new, 1 changed"},
	{"restore", "verified, identical to"},
	{"check", "0 errors"},
	{"ship back", "job Completed"},
	{"seed status", "seed adopted"},
}

func checkQuickstartOutput(t *testing.T, r result) {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("quickstart failed:\n%s", r)
	}
	for _, s := range quickstartSteps {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(s.step) + ` +\d+\.\d\ds  .*` + regexp.QuoteMeta(s.says))
		if !re.MatchString(r.stdout) {
			t.Errorf("no line for step %q saying %q:\n%s", s.step, s.says, r.stdout)
		}
	}
	for _, want := range []string{"summary", "  source ", "  staging repo ", "of the source after deduplication and compression",
		"  throughput        offline backup ", " MB/s, diskprep ", "  incremental ", "sent to the service", "  time "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestQuickstart runs the whole workflow on the generated sample: the seed
// spreads over two drives at least, and the incremental sends about what
// changed (whole chunks), not the seed again.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	r := quickstartRun(t, "--dir", dir)
	checkQuickstartOutput(t, r)
	if !regexp.MustCompile(`(?m)^import 2 `).MatchString(r.stdout) {
		t.Errorf("the seed was not spread over two drives:\n%s", r.stdout)
	}
	// About 300 KiB changed in a 12 MiB file and a small file was added:
	// the chunks holding the change are sent (at most 4 MiB each, their
	// boundaries depend on the repository's chunker key), not the seed's
	// 23 MiB again.
	m := regexp.MustCompile(`(?m)^  incremental .* ([0-9.]+) (B|KiB|MiB) sent to the service`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("the summary does not say what the incremental sent:\n%s", r.stdout)
	}
	if sent, _ := strconv.ParseFloat(m[1], 64); m[2] == "MiB" && sent > 16 {
		t.Errorf("the incremental sent %s %s, want a few chunks:\n%s", m[1], m[2], r.stdout)
	}
	for _, p := range []string{"service/seedshipd.db", "service/seedshipd.log", "config/vault.json", "staging/seedship-seed.json",
		"drive1/seedship-manifest.json", "datacenter/quickstart/config", "restore"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("work folder lacks %s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "drive3")); err == nil && !strings.Contains(r.stdout, "import 3") {
		t.Errorf("an unused drive folder was left behind")
	}
}

// TestQuickstartPath backs up a given folder: a copy of it, so the folder
// itself is not changed; then a missing folder and a failing step.
func TestQuickstartPath(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), []byte("alpha\n"))
	writeFile(t, filepath.Join(src, "sub", "b.bin"), randomBytes(3, 200<<10))
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	before := hashFiles(t, src)
	dir := t.TempDir()
	r := quickstartRun(t, "--dir", dir, src)
	checkQuickstartOutput(t, r)
	if !strings.Contains(r.stdout, "source/, a copy of "+src) || !strings.Contains(r.stdout, "rewrote 4.0 KiB in the middle of sub/b.bin") {
		t.Errorf("quickstart did not back up a copy of %s:\n%s", src, r.stdout)
	}
	if after := hashFiles(t, src); after != before {
		t.Errorf("quickstart changed %s:\n%s\nbecame\n%s", src, before, after)
	}

	t.Run("not a folder", func(t *testing.T) {
		r := quickstartRun(t, "--dir", t.TempDir(), filepath.Join(src, "a.txt"))
		if r.code != exitFailure || !strings.Contains(r.stderr, "is not a folder") {
			t.Errorf("quickstart of a file:\n%s", r)
		}
	})
	t.Run("earlier quickstart", func(t *testing.T) {
		r := quickstartRun(t, "--dir", dir, src)
		if r.code != exitFailure || !strings.Contains(r.stderr, "holds an earlier quickstart") {
			t.Errorf("quickstart in the folder of an earlier one:\n%s", r)
		}
	})
	t.Run("failing step", func(t *testing.T) {
		// Interrupted once diskprep is done: shipping fails, the
		// quickstart stops with the step's output and stops the service.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stdout, stderr bytes.Buffer
		w := cancelAfter{w: &stdout, line: "diskprep ", cancel: cancel}
		e := env{stdin: strings.NewReader(""), stdout: &w, stderr: &stderr,
			getenv: func(k string) string { return map[string]string{testKDFEnv: "1"}[k] }}
		code := run(ctx, e, []string{"quickstart", "--dir", t.TempDir(), src})
		if code != exitFailure || !regexp.MustCompile(`(?m)^shipping +\d+\.\d\ds  FAILED`).MatchString(stdout.String()) ||
			!strings.Contains(stderr.String(), "step shipping failed") || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("a failing step does not stop the quickstart with its output: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
		if strings.Contains(stdout.String(), "summary") {
			t.Errorf("summary printed after a failure:\n%s", stdout.String())
		}
	})
}

// cancelAfter writes to w and cancels once a line starts with line.
type cancelAfter struct {
	w      io.Writer
	line   string
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte(c.line)) {
		c.cancel()
	}
	return c.w.Write(p)
}

// hashFiles describes every file below dir by path and content hash.
func hashFiles(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			b.WriteString(rel + " -> " + l + "\n")
			return nil
		}
		h, err := fileHash(p)
		fmt.Fprintf(&b, "%s %x\n", rel, h)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
