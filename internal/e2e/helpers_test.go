package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binaries builds seedship and seedshipd once per test binary run.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "seedship-e2e-bin-")
	if err != nil {
		return "", err
	}
	for _, cmd := range []string{"seedship", "seedshipd"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, cmd), "../../cmd/"+cmd).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", cmd, err, out)
		}
	}
	return dir, nil
})

// user runs commands with its own environment, as one person on one machine.
type user struct {
	t   *testing.T
	bin string
	env []string
}

func newUser(t *testing.T, env ...string) *user {
	t.Helper()
	bin, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SEEDSHIP_INSECURE_TEST_KDF=1"}
	return &user{t: t, bin: bin, env: append(base, env...)}
}

type result struct {
	code           int
	stdout, stderr string
}

func (u *user) run(stdin io.Reader, name string, args ...string) result {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(u.bin, name), args...)
	cmd.Env = u.env
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		u.t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return result{code, out.String(), errb.String()}
}

// ok runs a command that must succeed.
func (u *user) ok(name string, args ...string) result {
	u.t.Helper()
	r := u.run(nil, name, args...)
	if r.code != 0 {
		u.t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serve starts seedshipd serve and waits until it listens; the process
// is stopped (SIGTERM, by its PID) when the test ends.
func serve(t *testing.T, u *user, data string, port int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(u.bin, "seedshipd"), "serve", "--data", data, "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env = u.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("seedshipd serve exited with %v\n%s", err, logs.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("seedshipd serve did not stop within 15 s of SIGINT")
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			t.Fatalf("seedshipd serve ended before listening:\n%s", logs.String())
		}
		t.Log(line)
	case <-time.After(30 * time.Second):
		t.Fatalf("seedshipd serve did not listen within 30 s:\n%s", logs.String())
	}
}

// writeTree fills dir with a few files of seeded content.
func writeTree(t *testing.T, dir string, seed int) {
	t.Helper()
	files := map[string]string{
		"etc/app.conf":  fmt.Sprintf("setting = %d\n", seed),
		"var/log/a.log": strings.Repeat(fmt.Sprintf("line %d of a log\n", seed), 20000),
		"home/u/notes":  "notes",
	}
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i*7 + seed)
	}
	files["home/u/big.bin"] = string(big)
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hashTree maps every regular file below dir to its SHA-256.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d files, want %d", what, len(got), len(want))
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s: %s differs", what, name)
		}
	}
}
