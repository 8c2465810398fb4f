package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/vault"
)

func TestAccountAndVaultCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out := filepath.Join(t.TempDir(), "acme.json")
	mustRun(t, "account", "create", "--data", dir, "acme", "--out", out, "--url", "https://vault.example:8443")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := vault.ParseAccountSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	if acc.URL != "https://vault.example:8443" || acc.Fingerprint == "" || acc.Role != meta.RoleAdmin || acc.Name != "acme" {
		t.Errorf("account settings = %+v", acc)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("account settings file mode %v, want 0600", fi.Mode())
	}
	if r := seedshipd(t, "account", "create", "--data", dir, "acme2", "--out", out); r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("account create over an existing file: exit %d, %q", r.code, r.stderr)
	}
	if r := seedshipd(t, "account", "create", "--data", dir, "acme", "--out", "-"); r.code == 0 {
		t.Errorf("account create of a duplicate name succeeded")
	}
	vid := strings.TrimSpace(mustRun(t, "vault", "create", "--data", dir, "--account", "acme", "web").stdout)
	if len(vid) != 32 {
		t.Errorf("vault create printed %q, want the vault id", vid)
	}
	if r := mustRun(t, "vault", "list", "--data", dir, "--account", "acme"); !strings.Contains(r.stdout, vid) {
		t.Errorf("vault list = %q, want %s", r.stdout, vid)
	}
	cred := mustRun(t, "vault", "credentials", "--data", dir, "--account", "acme", "web", "--out", "-", "--valid", "2h").stdout
	vc, err := vault.ParseVaultCredentials([]byte(cred))
	if err != nil || vc.VaultID != vid || vc.Fingerprint != acc.Fingerprint {
		t.Errorf("vault credentials = %+v, %v", vc, err)
	}
	if r := seedshipd(t, "vault", "credentials", "--data", dir, "--account", "acme", "web", "--out", "-", "--valid", "9000h"); r.code == 0 {
		t.Errorf("vault credentials valid 9000h succeeded")
	}
	if r := seedshipd(t, "vault", "credentials", "--data", dir, "--account", "nobody", "web", "--out", "-"); r.code == 0 || !strings.Contains(r.stderr, "no account") {
		t.Errorf("vault credentials of an unknown account: exit %d, %q", r.code, r.stderr)
	}
	mustRun(t, "vault", "grant-delete", "--data", dir, "--account", "acme", "web")
	if r := mustRun(t, "vault", "list", "--data", dir, "--account", "acme"); !strings.Contains(r.stdout, "true") {
		t.Errorf("vault list after grant-delete = %q", r.stdout)
	}
	if r := seedshipd(t, "vault", "prune", "--data", dir, "--account", "acme", "web"); r.code != exitFailure || !strings.Contains(r.stderr, "no policy given") {
		t.Errorf("vault prune without a policy: exit %d, %q; want %d and a clear message", r.code, r.stderr, exitFailure)
	}
	mustRun(t, "account", "disable", "--data", dir, "acme")
	if r := mustRun(t, "account", "list", "--data", dir); !strings.Contains(r.stdout, "disabled") {
		t.Errorf("account list after disable = %q", r.stdout)
	}
	mustRun(t, "operator", "create", "--data", dir, "staff", "--out", filepath.Join(t.TempDir(), "op.json"))
}

func TestMissingFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"account", "create", "x", "--out", "-"},
		{"vault", "create", "--data", "d", "web"},
		{"vault", "credentials", "--data", "d", "--account", "a", "web"},
	} {
		if r := seedshipd(t, args...); r.code == 0 || !strings.Contains(r.stderr, "required") {
			t.Errorf("seedshipd %v: exit %d, %q; want a required-flag error", args, r.code, r.stderr)
		}
	}
}
