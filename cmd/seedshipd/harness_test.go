package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a command running concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// result is one command's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// seedshipd runs the command line in-process.
func seedshipd(t testing.TB, args ...string) result {
	t.Helper()
	var out, errb lockedBuffer
	code := run(context.Background(), env{stdout: &out, stderr: &errb, getenv: os.Getenv}, args)
	return result{code, out.String(), errb.String()}
}

// mustRun runs a command that must succeed.
func mustRun(t testing.TB, args ...string) result {
	t.Helper()
	r := seedshipd(t, args...)
	if r.code != 0 {
		t.Fatalf("seedshipd %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// server is seedshipd serve running in-process.
type server struct {
	url  string
	logs *lockedBuffer
	stop func() int
}

// startServe runs seedshipd serve --data dir on a port chosen now.
func startServe(t testing.TB, dir string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan int, 1)
	s := &server{logs: &lockedBuffer{}}
	e := env{stdout: s.logs, stderr: s.logs, getenv: os.Getenv, ready: func(a string) { addr <- a }}
	go func() { done <- run(ctx, e, []string{"serve", "--data", dir, "--listen", "127.0.0.1:0"}) }()
	select {
	case a := <-addr:
		s.url = "https://" + a
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d:\n%s", code, s.logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start:\n%s", s.logs.String())
	}
	var once sync.Once
	code := 0
	s.stop = func() int {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}
