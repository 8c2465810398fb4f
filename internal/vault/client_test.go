package vault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/storetest"
)

// TestConformance runs the store conformance suite against the client,
// through an in-process vault server, as a machine with the delete right.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		f := newFixture(t, nil)
		a := f.account("acme")
		v := f.vault(a, "web")
		mc := f.machine(a, v)
		if err := f.admin.GrantDelete(context.Background(), a.AccountID, v.ID, mc.MachineID, true); err != nil {
			t.Fatal(err)
		}
		return f.machineClient(mc)
	})
}

// TestConformanceAdmin runs the suite as the account admin on a machine's
// repository (the admin may delete without a grant).
func TestConformanceAdmin(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		f := newFixture(t, nil)
		a := f.account("acme")
		mc := f.machine(a, f.vault(a, "web"))
		return f.client(a.APIKey, mc.VaultID, mc.MachineID)
	})
}

// TestRepositoriesAreDisjoint checks that each machine sees only its own
// prefix of the service's store.
func TestRepositoriesAreDisjoint(t *testing.T) {
	f := newFixture(t, nil)
	a := f.account("acme")
	v := f.vault(a, "web")
	m1, m2 := f.machineClient(f.machine(a, v)), f.machineClient(f.machine(a, v))
	ctx := context.Background()
	for i, c := range []*Client{m1, m2} {
		if err := c.Put(ctx, "config", strings.NewReader("repo"+string(rune('1'+i))), 5); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []*Client{m1, m2} {
		got, err := store.ReadAll(ctx, c, "config")
		if want := "repo" + string(rune('1'+i)); err != nil || string(got) != want {
			t.Errorf("machine %d: config = %q, %v; want %q", i+1, got, err, want)
		}
		n := 0
		if err := c.List(ctx, "", func(store.Info) error { n++; return nil }); err != nil || n != 1 {
			t.Errorf("machine %d: List = %d objects, %v; want 1", i+1, n, err)
		}
	}
	n := 0
	f.st.List(ctx, "vaults/"+v.ID+"/machines/", func(store.Info) error { n++; return nil })
	if n != 2 {
		t.Errorf("service store holds %d objects under the vault, want 2", n)
	}
}

func TestAppendOnly(t *testing.T) {
	f := newFixture(t, nil)
	a := f.account("acme")
	v := f.vault(a, "web")
	mc := f.machine(a, v)
	c := f.machineClient(mc)
	ctx := context.Background()
	for _, name := range []string{"data/ab/pack", "locks/l1", "snapshots/s1"} {
		if err := c.Put(ctx, name, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Put(ctx, "snapshots/s1", strings.NewReader("yy"), 2); !errors.Is(err, store.ErrExists) {
		t.Errorf("overwrite by machine = %v, want ErrExists", err)
	}
	if err := c.Delete(ctx, "data/ab/pack"); !errors.Is(err, store.ErrPermission) || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("Delete of a pack by the machine = %v, want ErrPermission (append-only)", err)
	}
	if err := c.Delete(ctx, "locks/l1"); err != nil {
		t.Errorf("Delete of a lock by the machine = %v, want nil", err)
	}
	// Vault-wide grant, then revoke; then a grant to this machine alone.
	for _, step := range []struct {
		machine string
		allow   bool
		wantErr error
	}{
		{"", true, nil}, {"", false, store.ErrPermission}, {mc.MachineID, true, nil},
	} {
		if err := f.admin.GrantDelete(ctx, a.AccountID, v.ID, step.machine, step.allow); err != nil {
			t.Fatal(err)
		}
		c.Put(ctx, "data/ab/pack", strings.NewReader("x"), 1)
		if err := c.Delete(ctx, "data/ab/pack"); !errors.Is(err, step.wantErr) {
			t.Errorf("Delete after GrantDelete(machine %q, %v) = %v, want %v", step.machine, step.allow, err, step.wantErr)
		}
	}
	other := f.account("other")
	if err := f.admin.GrantDelete(ctx, other.AccountID, v.ID, "", true); err == nil {
		t.Errorf("GrantDelete by another account succeeded")
	}
}

func TestRangeRequests(t *testing.T) {
	f := newFixture(t, nil)
	a := f.account("acme")
	mc := f.machine(a, f.vault(a, "web"))
	c := f.machineClient(mc)
	data := []byte("0123456789")
	if err := c.Put(context.Background(), "data/00/x", bytes.NewReader(data), 10); err != nil {
		t.Fatal(err)
	}
	path := "/v1/vaults/" + mc.VaultID + "/machines/" + mc.MachineID + "/objects/data/00/x"
	for _, tc := range []struct {
		rng, want string
		status    int
	}{
		{"", "0123456789", 200},
		{"bytes=2-4", "234", 206},
		{"bytes=7-", "789", 206},
		{"bytes=-3", "789", 206},
		{"bytes=-30", "0123456789", 206},
		{"bytes=10-", "", 206},
		{"bytes=11-", "", 416},
		{"bytes=5-10", "", 416},
		{"bytes=1-2,4-5", "", 416},
		{"items=1-2", "", 416},
	} {
		req, _ := http.NewRequest("GET", f.ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+mc.Key)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := f.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || tc.status < 300 && string(body) != tc.want {
			t.Errorf("GET Range %q = %d %q, want %d %q", tc.rng, resp.StatusCode, body, tc.status, tc.want)
		}
	}
}

func TestWrongFingerprintRefused(t *testing.T) {
	f := newFixture(t, nil)
	a := f.account("acme")
	mc := f.machine(a, f.vault(a, "web"))
	mc.Fingerprint = "sha256:" + strings.Repeat("ab", 32)
	_, err := OpenStore(context.Background(), mc)
	if !errors.Is(err, ErrFingerprint) {
		t.Fatalf("OpenStore with a wrong fingerprint = %v, want ErrFingerprint", err)
	}
	mc.Fingerprint = "" // the test server's certificate is not in the system roots either
	if _, err := OpenStore(context.Background(), mc); err == nil {
		t.Fatalf("OpenStore without a pin against a self-signed certificate succeeded")
	}
}

func TestIdleUploadIsCut(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Limits.IdleTimeout = 300 * time.Millisecond })
	a := f.account("acme")
	mc := f.machine(a, f.vault(a, "web"))
	c := f.machineClient(mc)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 1000))
		time.Sleep(2 * time.Second) // stall past the idle timeout
		pw.Write(make([]byte, 1000))
		pw.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Put(ctx, "data/00/stalled", pr, 2000); err == nil {
		t.Fatalf("stalled upload succeeded")
	}
	if _, err := c.Stat(ctx, "data/00/stalled"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a stalled upload, Stat = %v, want ErrNotFound", err)
	}
}

func TestObjectSizeLimit(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Limits.MaxObjectSize = 1000 })
	a := f.account("acme")
	c := f.machineClient(f.machine(a, f.vault(a, "web")))
	ctx := context.Background()
	if err := c.Put(ctx, "data/00/big", bytes.NewReader(make([]byte, 1001)), 1001); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("Put over the limit = %v, want a too-large error", err)
	}
	if err := c.Put(ctx, "data/00/big2", onlyReader{bytes.NewReader(make([]byte, 5000))}, -1); err == nil {
		t.Errorf("Put of unknown size over the limit succeeded")
	}
	if err := c.Put(ctx, "data/00/ok", bytes.NewReader(make([]byte, 1000)), 1000); err != nil {
		t.Errorf("Put at the limit = %v", err)
	}
}

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestUsage(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) {})
	a := f.account("acme")
	v := f.vault(a, "web")
	mc := f.machine(a, v)
	f.admin.GrantDelete(context.Background(), a.AccountID, v.ID, "", true)
	c := f.machineClient(mc)
	ctx := context.Background()
	c.Put(ctx, "data/00/a", bytes.NewReader(make([]byte, 100)), 100)
	c.Put(ctx, "data/00/b", bytes.NewReader(make([]byte, 50)), -1)
	c.Delete(ctx, "data/00/a")
	if got, want := f.srv.Usage()[v.ID], (VaultUsage{Bytes: 50, Objects: 1}); got != want {
		t.Errorf("usage after put, put, delete = %+v, want %+v", got, want)
	}
	f.st.Put(ctx, "vaults/"+v.ID+"/machines/"+mc.MachineID+"/data/00/c", bytes.NewReader(make([]byte, 7)), 7)
	if err := f.srv.ScanUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := f.srv.Usage()[v.ID], (VaultUsage{Bytes: 57, Objects: 2}); got != want {
		t.Errorf("usage after scan = %+v, want %+v", got, want)
	}
}
