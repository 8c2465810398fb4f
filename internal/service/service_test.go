package service

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/storetest"
	"github.com/seedship/seedship/internal/vault"
)

// running is a Serve in a goroutine.
type running struct {
	svc    *Service
	url    string
	cancel context.CancelFunc
	done   chan error
}

func serve(t *testing.T, dir string) *running {
	t.Helper()
	svc, err := Open(context.Background(), dir, Options{LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{svc: svc, cancel: cancel, done: make(chan error, 1)}
	addr := make(chan net.Addr, 1)
	go func() { r.done <- svc.Serve(ctx, "127.0.0.1:0", func(a net.Addr) { addr <- a }) }()
	select {
	case a := <-addr:
		r.url = "https://" + a.String()
	case err := <-r.done:
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		r.cancel()
		<-r.done
	})
	return r
}

// registerMachine creates account, vault and a registered machine.
func registerMachine(t *testing.T, r *running) (*vault.AccountSettings, *vault.MachineConfig) {
	t.Helper()
	ctx := context.Background()
	adm := r.svc.Admin(r.url)
	acc, err := adm.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	v, err := adm.CreateVault(ctx, acc.AccountID, "web")
	if err != nil {
		t.Fatal(err)
	}
	vc, err := adm.VaultCredentials(ctx, acc.AccountID, v.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := vc.Marshal()
	cred := filepath.Join(t.TempDir(), "cred")
	os.WriteFile(cred, b, 0o600)
	mc, err := vault.Register(ctx, cred, filepath.Join(t.TempDir(), "cfg"))
	if err != nil {
		t.Fatal(err)
	}
	return acc, mc
}

// TestGracefulShutdownFinishesUploads starts an upload, shuts the service
// down in the middle of it, and checks that the upload completes.
func TestGracefulShutdownFinishesUploads(t *testing.T) {
	dir := t.TempDir()
	r := serve(t, dir)
	_, mc := registerMachine(t, r)
	// A client with no idle connection: a request written onto a kept-alive
	// connection that the server has not begun to read is, by HTTP's rules,
	// the client's to retry; a new connection is never closed as idle.
	st, err := vault.NewClient(vault.ClientConfig{Endpoint: mc.Endpoint, Key: mc.Key, VaultID: mc.VaultID, MachineID: mc.MachineID})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	data := bytes.Repeat([]byte("seedship"), 256<<10) // 2 MiB
	putErr := make(chan error, 1)
	go func() { putErr <- st.Put(context.Background(), "data/00/slow", pr, int64(len(data))) }()
	const first = 1 << 20 // past the client's write buffer: the server is reading
	pw.Write(data[:first])
	r.cancel()
	time.Sleep(200 * time.Millisecond) // shutdown has begun
	go func() {
		pw.Write(data[first:])
		pw.Close()
	}()
	if err := <-putErr; err != nil {
		t.Fatalf("upload during shutdown = %v, want success", err)
	}
	if err := <-r.done; err != nil {
		t.Fatalf("Serve after shutdown = %v", err)
	}
	r.done <- nil // for the cleanup
	got, err := os.ReadFile(filepath.Join(dir, "objects", "vaults", mc.VaultID, "machines", mc.MachineID, "data", "00", "slow"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored object: %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
	// New connections are refused.
	if _, err := st.Stat(context.Background(), "data/00/slow"); err == nil {
		t.Errorf("request after shutdown succeeded")
	}
}

func TestMetricsAndHealth(t *testing.T) {
	r := serve(t, t.TempDir())
	_, mc := registerMachine(t, r)
	st, err := vault.OpenStore(context.Background(), mc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st.Put(ctx, "data/00/a", strings.NewReader("12345"), 5)
	if _, err := st.Get(ctx, "data/00/missing", 0, -1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
	op, err := r.svc.Admin(r.url).CreateOperator(ctx, "staff")
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := vault.NewHTTPClient(mc.Endpoint)
	get := func(path, cred string) (int, string) {
		req, _ := http.NewRequest("GET", r.url+path, nil)
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz = %d %q", code, body)
	}
	// A stock TLS client (as curl would be) against the batched listener.
	stock := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := stock.Get(r.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz with a stock TLS client: %v", err)
	}
	resp.Body.Close()
	if code, _ := get("/metrics", mc.Key); code != http.StatusForbidden {
		t.Errorf("metrics as a machine = %d, want 403", code)
	}
	code, body := get("/metrics", op.APIKey)
	if code != 200 {
		t.Fatalf("metrics as operator = %d", code)
	}
	for _, want := range []string{
		`seedshipd_http_requests_total{method="PUT",route="PUT /v1/vaults/{vault}/machines/{machine}/objects/{name...}",code="201"} 1`,
		`seedshipd_http_request_errors_total{method="GET",route="GET /v1/vaults/{vault}/machines/{machine}/objects/{name...}",code="404"} 1`,
		`seedshipd_vault_stored_bytes{vault="` + mc.VaultID + `"} 5`,
		"seedshipd_http_received_bytes_total ",
		"seedshipd_http_requests_in_flight 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestConformanceOverService runs the store conformance suite through a
// real seedshipd (batched TLS listener, local store), one new machine per
// subtest, each with the delete right.
func TestConformanceOverService(t *testing.T) {
	r := serve(t, t.TempDir())
	ctx := context.Background()
	adm := r.svc.Admin(r.url)
	acc, err := adm.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	v, err := adm.CreateVault(ctx, acc.AccountID, "web")
	if err != nil {
		t.Fatal(err)
	}
	if err := adm.GrantDelete(ctx, acc.AccountID, v.ID, "", true); err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		vc, err := adm.VaultCredentials(ctx, acc.AccountID, v.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := vc.Marshal()
		cred := filepath.Join(t.TempDir(), "cred")
		os.WriteFile(cred, b, 0o600)
		mc, err := vault.Register(ctx, cred, filepath.Join(t.TempDir(), "cfg"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := vault.OpenStore(ctx, mc)
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
