package vault

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
)

// callers of the authorisation matrix, in column order.
var callers = []string{"none", "forged", "expired", "regtoken", "otherAdmin", "otherMachine", "machine", "admin", "operator"}

// authWorld is the population the matrix runs against: account acme with
// vault web and machines m1 (the target) and m2, account rival with its
// own admin, and an operator.
type authWorld struct {
	f            *fixture
	vault        meta.Vault
	m1           *MachineConfig
	creds        map[string]string
	machinePath  string
	objectsPaths string
	acmeID       string
}

func newAuthWorld(t *testing.T) *authWorld {
	sa := mem.New() // every storage account's store
	f := newFixture(t, func(c *ServerConfig) {
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
		c.OpenStorage = func(context.Context, string) (store.Store, error) { return sa, nil }
	})
	ctx := context.Background()
	acme, rival := f.account("acme"), f.account("rival")
	v := f.vault(acme, "web")
	f.vault(rival, "web")
	m1, m2 := f.machine(acme, v), f.machine(acme, v)
	op, err := f.admin.CreateOperator(ctx, "dc-staff")
	if err != nil {
		t.Fatal(err)
	}
	w := &authWorld{f: f, vault: v, m1: m1, creds: map[string]string{
		"none": "", "otherAdmin": rival.APIKey, "otherMachine": m2.Key, "machine": m1.Key,
		"admin": acme.APIKey, "operator": op.APIKey,
	}}
	w.creds["forged"] = forge(t, acme.APIKey)
	w.creds["expired"] = w.expiredKey(t, acme.AccountID)
	vc, err := f.admin.VaultCredentials(ctx, acme.AccountID, v.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.creds["regtoken"] = vc.Token
	w.machinePath = "/v1/vaults/" + v.ID + "/machines/" + m1.MachineID
	w.acmeID = acme.AccountID
	w.addJobs(t, acme.AccountID, rival.AccountID)
	w.addSeedJobs(v.ID, m2.MachineID, acme.AccountID, rival.AccountID)
	// Each caller reads and deletes its own object, so the order of rows
	// and columns does not matter.
	for _, c := range callers {
		if err := f.st.Put(ctx, repoPrefix(v.ID, m1.MachineID)+"data/"+c, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// forge keeps a key's kind and id and replaces its secret.
func forge(t *testing.T, key string) string {
	c, err := parseCredential(key)
	if err != nil {
		t.Fatal(err)
	}
	c.Secret = make([]byte, secretBytes)
	return c.String()
}

// expiredKey stores an admin key of the account that expired a second ago.
func (w *authWorld) expiredKey(t *testing.T, accountID string) string {
	c, err := newCredential(kindAdmin, newRand(9))
	if err != nil {
		t.Fatal(err)
	}
	now := w.f.clock.Now()
	k := meta.Key{ID: c.ID, Hash: c.Hash(), Role: meta.RoleAdmin, Name: "old", AccountID: accountID,
		Created: now.Add(-time.Hour), Expires: now.Add(-time.Second)}
	if err := w.f.db.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// TestAuthorization sends every endpoint from every kind of caller.
func TestAuthorization(t *testing.T) {
	const (
		u = http.StatusUnauthorized
		f = http.StatusForbidden
		n = http.StatusNotFound
		c = http.StatusConflict
	)
	// Columns: none, forged, expired, regtoken, otherAdmin, otherMachine, machine, admin, operator.
	tests := []struct {
		method, path string // {c} is replaced by the caller's name
		body         string
		want         [9]int
	}{
		{"GET", "/healthz", "", [9]int{200, 200, 200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/metrics", "", [9]int{u, u, u, u, f, f, f, f, 200}},
		{"GET", "/v1/whoami", "", [9]int{u, u, u, u, 200, 200, 200, 200, 200}},
		{"POST", "/v1/register", `{"hostname":"h"}`, [9]int{u, u, u, 201, u, u, u, u, u}},
		{"GET", "/v1/vaults", "", [9]int{u, u, u, u, 200, f, f, 200, f}},
		{"POST", "/v1/vaults", `{"name":"new-{c}"}`, [9]int{u, u, u, u, 201, f, f, 201, f}},
		{"GET", "/v1/vaults/{v}", "", [9]int{u, u, u, u, f, 200, 200, 200, f}},
		{"POST", "/v1/vaults/{v}/credentials", `{"valid":"1h"}`, [9]int{u, u, u, u, f, f, f, 201, f}},
		{"GET", "/v1/vaults/{v}/machines", "", [9]int{u, u, u, u, f, f, f, 200, f}},
		{"GET", "{m}", "", [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"GET", "{m}/objects?prefix=data/", "", [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"PUT", "{m}/objects/new/{c}", "payload", [9]int{u, u, u, u, f, f, 201, 201, f}},
		{"GET", "{m}/objects/data/{c}", "", [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"HEAD", "{m}/objects/data/{c}", "", [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"DELETE", "{m}/objects/data/{c}", "", [9]int{u, u, u, u, f, f, f, 204, f}},
		// Import jobs: another account's job is 404 job_not_found, never 403.
		{"GET", "/v1/datacenter", "", [9]int{u, u, u, u, 200, f, f, 200, 200}},
		{"GET", "/v1/storage-accounts", "", [9]int{u, u, u, u, 200, f, f, 200, f}},
		{"GET", "/v1/jobs", "", [9]int{u, u, u, u, 200, f, f, 200, 200}},
		{"GET", "/v1/jobs?account={a}&state=Creating", "", [9]int{u, u, u, u, 200, f, f, 200, 200}},
		{"GET", "/v1/jobs/get-me", "", [9]int{u, u, u, u, n, f, f, 200, 200}},
		{"GET", "/v1/jobs/get-me?account={a}", "", [9]int{u, u, u, u, n, f, f, 200, 200}},
		{"GET", "/v1/jobs/no-such-job", "", [9]int{u, u, u, u, n, f, f, n, n}},
		{"POST", "/v1/jobs", jobBody("job-{c}"), [9]int{u, u, u, u, 201, f, f, 201, f}},
		{"POST", "/v1/jobs/ship-me/shipping", shipBody("T-{c}"), [9]int{u, u, u, u, n, f, f, 200, f}},
		{"POST", "/v1/jobs/cancel-me/cancel", "", [9]int{u, u, u, u, n, f, f, 200, f}},
		// Seeds: the repository's access rules, then the job must be the
		// account's and for this machine (or none), and ready (409).
		{"GET", "{m}/seed/get-me", "", [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"POST", "{m}/seed/get-me/adopt", `{"after":""}`, [9]int{u, u, u, u, f, f, c, c, f}},
		{"POST", "{m}/seed/get-me/cleanup", `{"after":""}`, [9]int{u, u, u, u, f, f, c, c, f}},
		{"GET", "{m}/seed/seed-ready", "", [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"POST", "{m}/seed/seed-ready/adopt", `{"after":""}`, [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"POST", "{m}/seed/seed-ready/cleanup", `{"after":""}`, [9]int{u, u, u, u, f, f, 200, 200, f}},
		{"GET", "{m}/seed/seed-m2", "", [9]int{u, u, u, u, f, f, n, n, f}},
		{"POST", "{m}/seed/seed-m2/adopt", `{"after":""}`, [9]int{u, u, u, u, f, f, n, n, f}},
		{"POST", "{m}/seed/seed-m2/cleanup", `{"after":""}`, [9]int{u, u, u, u, f, f, n, n, f}},
		{"GET", "{m}/seed/rival-seed", "", [9]int{u, u, u, u, f, f, n, n, f}},
		{"POST", "{m}/seed/rival-seed/adopt", `{"after":""}`, [9]int{u, u, u, u, f, f, n, n, f}},
		{"POST", "{m}/seed/rival-seed/cleanup", `{"after":""}`, [9]int{u, u, u, u, f, f, n, n, f}},
	}
	w := newAuthWorld(t)
	for _, tc := range tests {
		for i, caller := range callers {
			path := strings.NewReplacer("{m}", w.machinePath, "{v}", w.vault.ID, "{c}", caller, "{a}", w.acmeID).Replace(tc.path)
			body := strings.ReplaceAll(tc.body, "{c}", caller)
			resp := w.f.request(tc.method, path, w.creds[caller], strings.NewReader(body))
			if resp.StatusCode != tc.want[i] {
				t.Errorf("%s %s as %s: status %d, want %d", tc.method, tc.path, caller, resp.StatusCode, tc.want[i])
			}
			checkErrorBody(t, tc.method+" "+tc.path+" as "+caller, resp)
		}
	}
}

// checkErrorBody checks that an error answer has the JSON error body.
func checkErrorBody(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if resp.StatusCode < 400 || resp.Request.Method == http.MethodHead {
		return
	}
	var e errorBody
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || e.Code == "" {
		t.Errorf("%s: error body %q is not {\"error\", \"code\"}", what, b)
	}
}

// TestAccountIsolation checks what the matrix's statuses do not show:
// listings only reveal the caller's own records.
func TestAccountIsolation(t *testing.T) {
	w := newAuthWorld(t)
	resp := w.f.request("GET", "/v1/vaults", w.creds["otherAdmin"], nil)
	var got struct{ Vaults []VaultInfo }
	json.NewDecoder(resp.Body).Decode(&got)
	for _, v := range got.Vaults {
		if v.ID == w.vault.ID || v.AccountID == w.vault.AccountID {
			t.Errorf("rival's vault list contains acme's vault %+v", v)
		}
	}
	if len(got.Vaults) != 1 {
		t.Errorf("rival's vault list has %d vaults, want 1", len(got.Vaults))
	}
}

func TestDisabledAccount(t *testing.T) {
	w := newAuthWorld(t)
	if err := w.f.admin.SetAccountDisabled(context.Background(), "acme", true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"admin", "machine"} {
		resp := w.f.request("GET", "/v1/whoami", w.creds[c], nil)
		var e errorBody
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != http.StatusForbidden || e.Code != CodeDisabled {
			t.Errorf("whoami as %s of a disabled account = %d %q, want 403 %s", c, resp.StatusCode, e.Code, CodeDisabled)
		}
	}
	if resp := w.f.request("GET", "/v1/whoami", w.creds["otherAdmin"], nil); resp.StatusCode != http.StatusOK {
		t.Errorf("whoami as another account's admin = %d, want 200", resp.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.Limits.AuthFailures = 3 })
	a := f.account("acme")
	bad := forge(t, a.APIKey)
	for i := range 3 {
		if resp := f.request("GET", "/v1/whoami", bad, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, resp.StatusCode)
		}
	}
	for _, cred := range []string{bad, a.APIKey} {
		resp := f.request("GET", "/v1/whoami", cred, nil)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("after 3 failures: status %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if resp := f.request("POST", "/v1/register", "ssr_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("register while blocked: status %d, want 429", resp.StatusCode)
	}
	f.clock.Add(30 * time.Second) // refills 1.5 attempts
	if resp := f.request("GET", "/v1/whoami", a.APIKey, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after waiting: status %d, want 200", resp.StatusCode)
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	w := newAuthWorld(t)
	for _, c := range callers {
		w.f.request("GET", "/v1/whoami", w.creds[c], nil)
		w.f.request("PUT", w.machinePath+"/objects/logs/"+c, w.creds[c], strings.NewReader("x"))
	}
	w.f.request("POST", "/v1/register", w.creds["regtoken"], strings.NewReader(`{}`))
	logs := w.f.logs.String()
	if !strings.Contains(logs, `"route"`) {
		t.Fatalf("no request logs captured:\n%s", logs)
	}
	for c, cred := range w.creds {
		if cred == "" {
			continue
		}
		_, rest, _ := strings.Cut(cred, "_")
		_, secret, _ := strings.Cut(rest, "_") // base64url may contain '_' too
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the secret of %s's credential", c)
		}
	}
}
