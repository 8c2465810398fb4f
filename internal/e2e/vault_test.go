package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVaultBackupRestore is issue 4's end-to-end walk with the real
// binaries: a service, an account and a vault, a registered machine that
// backs up and restores over HTTPS without --repo, a second machine that
// sees none of the first one's data, and deletes that the vault refuses.
func TestVaultBackupRestore(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "service")
	port := freePort(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	ops := newUser(t)
	ops.ok("seedshipd", "account", "create", "--data", data, "acme", "--out", filepath.Join(tmp, "acme.json"), "--url", url)
	ops.ok("seedshipd", "vault", "create", "--data", data, "--account", "acme", "servers")
	for _, m := range []string{"m1", "m2"} {
		ops.ok("seedshipd", "vault", "credentials", "--data", data, "--account", "acme", "servers", "--out", filepath.Join(tmp, m+"-cred.json"), "--valid", "1h", "--url", url)
	}
	serve(t, ops, data, port)

	m1 := newUser(t, "SEEDSHIP_CONFIG="+filepath.Join(tmp, "m1-config"), "SEEDSHIP_PASSWORD=m1-secret")
	m1.ok("seedship", "register", "--vault-credentials", filepath.Join(tmp, "m1-cred.json"))
	if fi, err := os.Stat(filepath.Join(tmp, "m1-config", "vault.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("machine config: %v, mode %v; want 0600", err, fi)
	}
	if r := m1.run(nil, "seedship", "register", "--vault-credentials", filepath.Join(tmp, "m1-cred.json")); r.code == 0 {
		t.Errorf("a vault credentials file registered twice")
	}
	m1.ok("seedship", "init")

	src := filepath.Join(tmp, "src")
	writeTree(t, src, 1)
	first := hashTree(t, src)
	m1.ok("seedship", "backup", src)
	writeTree(t, src, 2)
	if err := os.WriteFile(filepath.Join(src, "new-file"), []byte("added later"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := hashTree(t, src)
	m1.ok("seedship", "backup", src)

	var snaps []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(m1.ok("seedship", "snapshots", "--json").stdout), &snaps); err != nil || len(snaps) != 2 {
		t.Fatalf("snapshots --json: %v, %d snapshots", err, len(snaps))
	}
	for i, want := range []map[string]string{first, second} {
		target := filepath.Join(tmp, fmt.Sprintf("restore-%d", i))
		m1.ok("seedship", "restore", snaps[i].ID, "--target", target, "--verify")
		sameTree(t, fmt.Sprintf("restore of snapshot %d", i+1), hashTree(t, filepath.Join(target, src)), want)
	}
	m1.ok("seedship", "check", "--read-data")

	// Another machine of the same vault has a repository of its own: it
	// sees no snapshot of m1 and cannot open m1's repository.
	m2 := newUser(t, "SEEDSHIP_CONFIG="+filepath.Join(tmp, "m2-config"), "SEEDSHIP_PASSWORD=m1-secret")
	m2.ok("seedship", "register", "--vault-credentials", filepath.Join(tmp, "m2-cred.json"))
	if r := m2.run(nil, "seedship", "snapshots"); r.code == 0 || !strings.Contains(r.stderr, "not a seedship repository") {
		t.Errorf("second machine listing snapshots: exit %d, stderr %q; want not a repository", r.code, r.stderr)
	}

	// Append-only: the machine may not delete what it stored.
	r := m1.run(nil, "seedship", "forget", "--keep-last", "1", "--prune")
	if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "permission") {
		t.Errorf("forget --prune by the machine: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
	if got := len(mustSnapshots(t, m1)); got != 2 {
		t.Errorf("%d snapshots after a refused forget, want 2", got)
	}
	m1.ok("seedship", "check", "--read-data")
}

func mustSnapshots(t *testing.T, u *user) []json.RawMessage {
	t.Helper()
	var snaps []json.RawMessage
	if err := json.Unmarshal([]byte(u.ok("seedship", "snapshots", "--json").stdout), &snaps); err != nil {
		t.Fatal(err)
	}
	return snaps
}
