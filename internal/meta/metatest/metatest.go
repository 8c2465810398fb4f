// Package metatest is the conformance suite every meta.DB backend passes:
// call Run from the backend's test with a function that opens an empty
// database.
package metatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/meta"
)

// Open returns a new, empty database; the suite closes it.
type Open func(t *testing.T) meta.DB

// t0 is the suite's fixed clock: times round-trip at nanosecond precision.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// Run runs every conformance test against databases from open.
func Run(t *testing.T, open Open) { RunOnly(t, open) }

// Concurrent returns the names of the tests of concurrent writers, for
// RunOnly.
func Concurrent() []string {
	return []string{"RegisterConcurrent", "JobConcurrentUpdate", "JobModifyConcurrent", "JobTrackingConcurrent"}
}

// RunOnly runs the conformance tests named (all when none are) against
// databases from open.
func RunOnly(t *testing.T, open Open, names ...string) {
	tests := []struct {
		name string
		fn   func(*testing.T, meta.DB)
	}{
		{"Accounts", testAccounts},
		{"AccountErrors", testAccountErrors},
		{"Vaults", testVaults},
		{"VaultErrors", testVaultErrors},
		{"Keys", testKeys},
		{"Register", testRegister},
		{"RegisterExpired", testRegisterExpired},
		{"RegisterConcurrent", testRegisterConcurrent},
		{"Machines", testMachines},
	}
	tests = append(tests, jobTests...)
	tests = append(tests, orderTests...)
	for _, tc := range tests {
		if len(names) > 0 && !slices.Contains(names, tc.name) {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			db := open(t)
			t.Cleanup(func() {
				if err := db.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, db)
		})
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func account(t *testing.T, db meta.DB, id, name string) meta.Account {
	t.Helper()
	a := meta.Account{ID: id, Name: name, Created: t0}
	must(t, "CreateAccount "+name, db.CreateAccount(context.Background(), a))
	return a
}

func vault(t *testing.T, db meta.DB, id, accountID, name string) meta.Vault {
	t.Helper()
	v := meta.Vault{ID: id, AccountID: accountID, Name: name, Created: t0.Add(time.Second)}
	must(t, "CreateVault "+name, db.CreateVault(context.Background(), v))
	return v
}

func token(t *testing.T, db meta.DB, id string, v meta.Vault, expires time.Time) meta.Token {
	t.Helper()
	tok := meta.Token{ID: id, Hash: "hash-" + id, AccountID: v.AccountID, VaultID: v.ID, Created: t0, Expires: expires}
	must(t, "CreateToken "+id, db.CreateToken(context.Background(), tok))
	return tok
}

func machineFor(tok meta.Token, id string) (meta.Machine, meta.Key) {
	m := meta.Machine{ID: id, AccountID: tok.AccountID, VaultID: tok.VaultID, Hostname: "host-" + id, Created: t0.Add(time.Minute)}
	k := meta.Key{ID: "key-" + id, Hash: "hash-key-" + id, Role: meta.RoleMachine, Name: m.Hostname,
		AccountID: m.AccountID, VaultID: m.VaultID, MachineID: m.ID, Created: m.Created}
	return m, k
}

func testAccounts(t *testing.T, db meta.DB) {
	ctx := context.Background()
	b := account(t, db, "a2", "bravo")
	a := account(t, db, "a1", "alpha")
	got, err := db.GetAccount(ctx, "a1")
	must(t, "GetAccount", err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("GetAccount mismatch (-want +got):\n%s", diff)
	}
	got, err = db.AccountByName(ctx, "bravo")
	must(t, "AccountByName", err)
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("AccountByName mismatch (-want +got):\n%s", diff)
	}
	must(t, "SetAccountDisabled", db.SetAccountDisabled(ctx, "a2", true))
	b.Disabled = true
	all, err := db.ListAccounts(ctx)
	must(t, "ListAccounts", err)
	if diff := cmp.Diff([]meta.Account{a, b}, all); diff != "" {
		t.Errorf("ListAccounts mismatch (-want +got):\n%s", diff)
	}
}

func testAccountErrors(t *testing.T, db meta.DB) {
	ctx := context.Background()
	all, err := db.ListAccounts(ctx)
	must(t, "ListAccounts (empty)", err)
	if len(all) != 0 {
		t.Errorf("ListAccounts on an empty database = %v, want none", all)
	}
	account(t, db, "a1", "alpha")
	wantErr(t, "CreateAccount same id", db.CreateAccount(ctx, meta.Account{ID: "a1", Name: "other", Created: t0}), meta.ErrExists)
	wantErr(t, "CreateAccount same name", db.CreateAccount(ctx, meta.Account{ID: "a9", Name: "alpha", Created: t0}), meta.ErrExists)
	_, err = db.GetAccount(ctx, "nope")
	wantErr(t, "GetAccount missing", err, meta.ErrNotFound)
	_, err = db.AccountByName(ctx, "nope")
	wantErr(t, "AccountByName missing", err, meta.ErrNotFound)
	wantErr(t, "SetAccountDisabled missing", db.SetAccountDisabled(ctx, "nope", true), meta.ErrNotFound)
}

func testVaults(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	account(t, db, "a2", "bravo")
	v2 := vault(t, db, "v2", "a1", "web")
	v1 := vault(t, db, "v1", "a1", "db")
	other := vault(t, db, "v3", "a2", "web") // same name, other account
	got, err := db.GetVault(ctx, "v3")
	must(t, "GetVault", err)
	if diff := cmp.Diff(other, got); diff != "" {
		t.Errorf("GetVault mismatch (-want +got):\n%s", diff)
	}
	got, err = db.VaultByName(ctx, "a1", "web")
	must(t, "VaultByName", err)
	if diff := cmp.Diff(v2, got); diff != "" {
		t.Errorf("VaultByName mismatch (-want +got):\n%s", diff)
	}
	must(t, "SetVaultMachineDelete", db.SetVaultMachineDelete(ctx, "v1", true))
	v1.MachineDelete = true
	all, err := db.ListVaults(ctx, "a1")
	must(t, "ListVaults", err)
	if diff := cmp.Diff([]meta.Vault{v1, v2}, all); diff != "" {
		t.Errorf("ListVaults mismatch (-want +got):\n%s", diff)
	}
}

func testVaultErrors(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	vault(t, db, "v1", "a1", "web")
	wantErr(t, "CreateVault same name", db.CreateVault(ctx, meta.Vault{ID: "v2", AccountID: "a1", Name: "web", Created: t0}), meta.ErrExists)
	wantErr(t, "CreateVault same id", db.CreateVault(ctx, meta.Vault{ID: "v1", AccountID: "a1", Name: "x", Created: t0}), meta.ErrExists)
	wantErr(t, "CreateVault no account", db.CreateVault(ctx, meta.Vault{ID: "v9", AccountID: "nope", Name: "x", Created: t0}), meta.ErrNotFound)
	_, err := db.GetVault(ctx, "nope")
	wantErr(t, "GetVault missing", err, meta.ErrNotFound)
	_, err = db.VaultByName(ctx, "a2", "web")
	wantErr(t, "VaultByName other account", err, meta.ErrNotFound)
	wantErr(t, "SetVaultMachineDelete missing", db.SetVaultMachineDelete(ctx, "nope", true), meta.ErrNotFound)
	all, err := db.ListVaults(ctx, "nope")
	must(t, "ListVaults no account", err)
	if len(all) != 0 {
		t.Errorf("ListVaults(unknown account) = %v, want none", all)
	}
}

func testKeys(t *testing.T, db meta.DB) {
	ctx := context.Background()
	admin := meta.Key{ID: "k1", Hash: "h1", Role: meta.RoleAdmin, Name: "alpha", AccountID: "a1", Created: t0}
	op := meta.Key{ID: "k2", Hash: "h2", Role: meta.RoleOperator, Name: "night shift", Created: t0, Expires: t0.Add(24 * time.Hour)}
	must(t, "CreateKey admin", db.CreateKey(ctx, admin))
	must(t, "CreateKey operator", db.CreateKey(ctx, op))
	wantErr(t, "CreateKey same id", db.CreateKey(ctx, admin), meta.ErrExists)
	for _, want := range []meta.Key{admin, op} {
		got, err := db.GetKey(ctx, want.ID)
		must(t, "GetKey "+want.ID, err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetKey %s mismatch (-want +got):\n%s", want.ID, diff)
		}
	}
	must(t, "SetKeyDisabled", db.SetKeyDisabled(ctx, "k1", true))
	got, err := db.GetKey(ctx, "k1")
	must(t, "GetKey after disable", err)
	if !got.Disabled {
		t.Errorf("GetKey after SetKeyDisabled: Disabled = false, want true")
	}
	_, err = db.GetKey(ctx, "nope")
	wantErr(t, "GetKey missing", err, meta.ErrNotFound)
	wantErr(t, "SetKeyDisabled missing", db.SetKeyDisabled(ctx, "nope", true), meta.ErrNotFound)
}

func testRegister(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	v := vault(t, db, "v1", "a1", "web")
	tok := token(t, db, "t1", v, t0.Add(48*time.Hour))
	wantErr(t, "CreateToken same id", db.CreateToken(ctx, tok), meta.ErrExists)
	got, err := db.GetToken(ctx, "t1")
	must(t, "GetToken", err)
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("GetToken mismatch (-want +got):\n%s", diff)
	}
	m, k := machineFor(tok, "m1")
	now := t0.Add(time.Hour)
	must(t, "Register", db.Register(ctx, "t1", now, m, k))
	gotM, err := db.GetMachine(ctx, "m1")
	must(t, "GetMachine", err)
	if diff := cmp.Diff(m, gotM); diff != "" {
		t.Errorf("GetMachine mismatch (-want +got):\n%s", diff)
	}
	gotK, err := db.GetKey(ctx, k.ID)
	must(t, "GetKey of machine", err)
	if diff := cmp.Diff(k, gotK); diff != "" {
		t.Errorf("machine key mismatch (-want +got):\n%s", diff)
	}
	got, err = db.GetToken(ctx, "t1")
	must(t, "GetToken after Register", err)
	if !got.Used.Equal(now) || got.MachineID != "m1" {
		t.Errorf("token after Register: Used %v MachineID %q, want %v and m1", got.Used, got.MachineID, now)
	}
	m2, k2 := machineFor(tok, "m2")
	wantErr(t, "Register reused token", db.Register(ctx, "t1", now, m2, k2), meta.ErrTokenUsed)
	_, err = db.GetMachine(ctx, "m2")
	wantErr(t, "GetMachine after refused Register", err, meta.ErrNotFound)
	wantErr(t, "Register unknown token", db.Register(ctx, "nope", now, m2, k2), meta.ErrNotFound)
	bad := meta.Token{ID: "t9", Hash: "h", AccountID: "a1", VaultID: "nope", Created: t0, Expires: t0.Add(time.Hour)}
	wantErr(t, "CreateToken unknown vault", db.CreateToken(ctx, bad), meta.ErrNotFound)
}

func testRegisterExpired(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	v := vault(t, db, "v1", "a1", "web")
	exp := t0.Add(time.Hour)
	tok := token(t, db, "t1", v, exp)
	m, k := machineFor(tok, "m1")
	wantErr(t, "Register at expiry", db.Register(ctx, "t1", exp, m, k), meta.ErrExpired)
	if _, err := db.GetKey(ctx, k.ID); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("GetKey after expired Register: %v, want ErrNotFound", err)
	}
	must(t, "Register just before expiry", db.Register(ctx, "t1", exp.Add(-time.Nanosecond), m, k))
}

func testRegisterConcurrent(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	tok := token(t, db, "t1", vault(t, db, "v1", "a1", "web"), t0.Add(time.Hour))
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, k := machineFor(tok, fmt.Sprintf("m%d", i))
			errs[i] = db.Register(ctx, "t1", t0, m, k)
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, meta.ErrTokenUsed):
			t.Errorf("Register #%d: %v, want nil or ErrTokenUsed", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent registrations with one token succeeded, want exactly 1", ok)
	}
	ms, err := db.ListMachines(ctx, "v1")
	must(t, "ListMachines", err)
	if len(ms) != 1 {
		t.Errorf("ListMachines after concurrent Register = %d machines, want 1", len(ms))
	}
}

func testMachines(t *testing.T, db meta.DB) {
	ctx := context.Background()
	account(t, db, "a1", "alpha")
	v1, v2 := vault(t, db, "v1", "a1", "web"), vault(t, db, "v2", "a1", "db")
	var want []meta.Machine
	for i, id := range []string{"mc", "ma", "mb"} {
		tok := token(t, db, "t-"+id, v1, t0.Add(time.Hour))
		m, k := machineFor(tok, id)
		m.Created = t0.Add(time.Duration(i) * time.Second)
		must(t, "Register "+id, db.Register(ctx, tok.ID, t0, m, k))
		want = append(want, m)
	}
	tok := token(t, db, "t-other", v2, t0.Add(time.Hour))
	m, k := machineFor(tok, "mz")
	must(t, "Register mz", db.Register(ctx, tok.ID, t0, m, k))
	must(t, "SetMachineDelete", db.SetMachineDelete(ctx, "ma", true))
	want[1].Delete = true
	got, err := db.ListMachines(ctx, "v1")
	must(t, "ListMachines", err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListMachines mismatch (-want +got):\n%s", diff)
	}
	wantErr(t, "SetMachineDelete missing", db.SetMachineDelete(ctx, "nope", true), meta.ErrNotFound)
	_, err = db.GetMachine(ctx, "nope")
	wantErr(t, "GetMachine missing", err, meta.ErrNotFound)
}
