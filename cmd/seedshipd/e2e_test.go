package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/archiver"
	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/restorer"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/vault"
)

var password = []byte("correct horse battery staple")

// TestEndToEnd runs the vault as a user does: seedshipd serve on a port
// chosen at run time, account, vault and credentials from the command
// line, two registered machines, two backups of a changing folder
// restored bit-exact, a full check, and the isolation and append-only
// rules.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "service")
	srv := startServe(t, data)
	tmp := t.TempDir()
	mustRun(t, "account", "create", "--data", data, "acme", "--out", filepath.Join(tmp, "acme.json"), "--url", srv.url)
	mustRun(t, "vault", "create", "--data", data, "--account", "acme", "web")
	var machines [2]*vault.MachineConfig
	for i := range machines {
		cred := filepath.Join(tmp, "cred"+string(rune('1'+i)))
		mustRun(t, "vault", "credentials", "--data", data, "--account", "acme", "web", "--out", cred, "--url", srv.url)
		mc, err := vault.Register(ctx, cred, filepath.Join(tmp, "config"+string(rune('1'+i))))
		if err != nil {
			t.Fatalf("register machine %d: %v", i+1, err)
		}
		machines[i] = mc
	}
	st, err := vault.OpenRegistered(ctx, filepath.Join(tmp, "config1"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(ctx, st, password, repo.Options{KDF: crypto.TestKDF()})
	if err != nil {
		t.Fatal(err)
	}

	src := filepath.Join(tmp, "src")
	writeTree(t, src, 1)
	want1 := readTree(t, src)
	snap1 := backup(t, r, src, nil)
	changeTree(t, src)
	want2 := readTree(t, src)
	snap2 := backup(t, r, src, snap1)

	// A fresh open reads everything back through the vault.
	r, err = repo.Open(ctx, st, password, repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		snap *snapshot.Snapshot
		want map[string]string
	}{{snap1, want1}, {snap2, want2}} {
		target := filepath.Join(tmp, "restore"+string(rune('1'+i)))
		restore(t, r, tc.snap, target)
		got := readTree(t, filepath.Join(target, src))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("restore of snapshot %d differs (-want +got):\n%s", i+1, diff)
		}
	}
	rep, err := checker.Check(ctx, r, checker.Options{ReadData: true})
	if err != nil || !rep.OK() || rep.PacksRead == 0 {
		t.Fatalf("check --read-data: %v, report %+v", err, rep)
	}

	checkIsolation(t, machines)
	checkAppendOnly(t, st)
	if code := srv.stop(); code != 0 {
		t.Errorf("serve exited with %d after SIGTERM, want 0:\n%s", code, srv.logs.String())
	}
}

// checkIsolation: machine 2 of the same vault cannot read machine 1's
// repository, and sees none of it in its own.
func checkIsolation(t *testing.T, ms [2]*vault.MachineConfig) {
	ctx := context.Background()
	m1, m2 := ms[0], ms[1]
	intruder, err := vault.NewClient(vault.ClientConfig{Endpoint: m2.Endpoint, Key: m2.Key, VaultID: m1.VaultID, MachineID: m1.MachineID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := intruder.Get(ctx, "config", 0, -1); !errors.Is(err, store.ErrPermission) {
		t.Errorf("machine 2 reading machine 1's config: %v, want ErrPermission", err)
	}
	if err := intruder.List(ctx, "", func(store.Info) error { return nil }); !errors.Is(err, store.ErrPermission) {
		t.Errorf("machine 2 listing machine 1's repository: %v, want ErrPermission", err)
	}
	own, err := vault.OpenStore(ctx, m2)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	own.List(ctx, "", func(store.Info) error { n++; return nil })
	if n != 0 {
		t.Errorf("machine 2's own repository lists %d objects, want 0", n)
	}
}

// checkAppendOnly: the machine may not delete its packs, index or snapshots.
func checkAppendOnly(t *testing.T, st store.Store) {
	ctx := context.Background()
	var victims []string
	for _, prefix := range []string{"data/", "index/", "snapshots/", "keys/", "config"} {
		st.List(ctx, prefix, func(fi store.Info) error {
			victims = append(victims, fi.Name)
			return errors.New("one is enough")
		})
	}
	if len(victims) != 5 {
		t.Fatalf("found %d object kinds to try deleting, want 5: %v", len(victims), victims)
	}
	for _, name := range victims {
		if err := st.Delete(ctx, name); !errors.Is(err, store.ErrPermission) {
			t.Errorf("delete %s by the machine: %v, want ErrPermission", name, err)
		}
	}
}

// backup takes a snapshot of dir under a lock, as seedship backup does.
func backup(t testing.TB, r *repo.Repository, dir string, parent *snapshot.Snapshot) *snapshot.Snapshot {
	t.Helper()
	ctx := context.Background()
	lock, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := lock.Unlock(ctx); err != nil { // the machine may delete its locks
			t.Errorf("unlock: %v", err)
		}
	}()
	a, err := archiver.New(r, archiver.Options{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	snap, res, err := a.Snapshot(ctx, []string{dir})
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("backup: %v %v", err, res.Errors)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if snap.ID, err = r.SaveSnapshot(ctx, snap); err != nil {
		t.Fatal(err)
	}
	return snap
}

func restore(t *testing.T, r *repo.Repository, snap *snapshot.Snapshot, target string) {
	t.Helper()
	rs, err := restorer.New(r, restorer.Options{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Restore(context.Background(), snap, target); err != nil {
		t.Fatalf("restore to %s: %v", target, err)
	}
}

// writeTree fills dir with nested files: small, empty, multi-chunk
// random, compressible, and a symlink.
func writeTree(t *testing.T, dir string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 42))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"a.txt":             []byte("hello vault\n"),
		"empty":             nil,
		"sub/big.bin":       random(5 << 20),
		"sub/deeper/z.bin":  random(300 << 10),
		"sub/compressible":  bytes.Repeat([]byte("seedship "), 200<<10),
		"other/notes.md":    []byte("# notes\n"),
		"other/deleted.txt": []byte("goes away in the second backup\n"),
	}
	for name, b := range files {
		writeFile(t, filepath.Join(dir, name), b)
	}
	if err := os.Symlink("../a.txt", filepath.Join(dir, "sub", "link")); err != nil {
		t.Fatal(err)
	}
}

// changeTree edits, adds and removes files.
func changeTree(t *testing.T, dir string) {
	t.Helper()
	big := filepath.Join(dir, "sub", "big.bin")
	b, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[3<<20:], "changed in the middle")
	writeFile(t, big, b)
	writeFile(t, filepath.Join(dir, "a.txt"), []byte("hello again\n"))
	writeFile(t, filepath.Join(dir, "new", "file"), []byte("new in the second backup\n"))
	if err := os.Remove(filepath.Join(dir, "other", "deleted.txt")); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readTree maps every path below dir to its kind, mode and content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		}
		out[filepath.ToSlash(rel)] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
