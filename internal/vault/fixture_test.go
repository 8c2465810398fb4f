package vault

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/meta/sqlite"
	"github.com/seedship/seedship/internal/store/mem"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedRand is a seeded, goroutine-safe random source.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

func newRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return &lockedRand{r: rand.NewChaCha8(s)}
}

// fixture is an in-process vault service over TLS with a fresh database
// and memory store.
type fixture struct {
	t     testing.TB
	db    meta.DB
	st    *mem.Store
	clock *testClock
	srv   *Server
	ts    *httptest.Server
	admin *Admin
	logs  *syncBuffer
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t testing.TB, modify func(*ServerConfig)) *fixture {
	t.Helper()
	f := &fixture{t: t, st: mem.New(), clock: &testClock{t: time.Now().UTC().Truncate(time.Second)}, logs: &syncBuffer{}}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.srv.ServeHTTP(w, r) }))
	f.ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	f.ts.StartTLS()
	t.Cleanup(f.ts.Close)
	cfg := ServerConfig{
		DB: db, Store: f.st, Now: f.clock.Now, Rand: newRand(1),
		Endpoint: Endpoint{URL: f.ts.URL, Fingerprint: FingerprintOf(f.ts.Certificate().Raw)},
		Logger:   slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Limits:   Limits{AuthFailures: -1},
	}
	if modify != nil {
		modify(&cfg)
	}
	f.srv = NewServer(cfg)
	f.admin = &Admin{DB: db, Endpoint: cfg.Endpoint, Now: f.clock.Now, Rand: newRand(2)}
	return f
}

func (f *fixture) account(name string) *AccountSettings {
	f.t.Helper()
	a, err := f.admin.CreateAccount(context.Background(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) vault(a *AccountSettings, name string) meta.Vault {
	f.t.Helper()
	v, err := f.admin.CreateVault(context.Background(), a.AccountID, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// credFile issues vault credentials and writes them to a file.
func (f *fixture) credFile(a *AccountSettings, v meta.Vault) string {
	f.t.Helper()
	vc, err := f.admin.VaultCredentials(context.Background(), a.AccountID, v.ID, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := vc.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	path := filepath.Join(f.t.TempDir(), "vault.credentials")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		f.t.Fatal(err)
	}
	return path
}

// machine registers a new machine through the API, as seedship register does.
func (f *fixture) machine(a *AccountSettings, v meta.Vault) *MachineConfig {
	f.t.Helper()
	mc, err := Register(context.Background(), f.credFile(a, v), filepath.Join(f.t.TempDir(), "config"))
	if err != nil {
		f.t.Fatal(err)
	}
	return mc
}

func (f *fixture) client(key string, vaultID, machineID string) *Client {
	f.t.Helper()
	c, err := NewClient(ClientConfig{Endpoint: f.srv.cfg.Endpoint, Key: key, VaultID: vaultID, MachineID: machineID})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) machineClient(mc *MachineConfig) *Client {
	return f.client(mc.Key, mc.VaultID, mc.MachineID)
}

// request sends a raw request with an optional bearer credential.
func (f *fixture) request(method, path, cred string, body io.Reader) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}
