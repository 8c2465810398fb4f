package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/restorer"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/vault"
)

// BenchmarkVaultOverhead backs up and restores the same data to a local
// directory and through the vault (seedshipd serve on loopback, storing in
// a local directory on the same disk), alternating the two in every
// iteration so that both see the same machine load. It reports each
// throughput and the vault's cost in percent:
//
//	go test -run XXX -bench VaultOverhead -benchtime 3x ./cmd/seedshipd
func BenchmarkVaultOverhead(b *testing.B) {
	size := 64 << 20
	if s := os.Getenv("SEEDSHIP_BENCH_MIB"); s != "" {
		n, _ := strconv.Atoi(s)
		size = n << 20
	}
	tmp := b.TempDir()
	src := filepath.Join(tmp, "src")
	writeRandomFiles(b, src, size)
	data := filepath.Join(tmp, "service")
	srv := startServe(b, data)
	mustRun(b, "account", "create", "--data", data, "bench", "--out", filepath.Join(tmp, "acct"), "--url", srv.url)
	mustRun(b, "vault", "create", "--data", data, "--account", "bench", "web")

	var loc, vlt phases
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(tmp, strconv.Itoa(i))
		ls, err := local.Create(filepath.Join(dir, "repo"))
		if err != nil {
			b.Fatal(err)
		}
		vs := registerBench(b, data, srv.url, dir)
		runLocal := func() { loc.add(backupRestore(b, ls, src, filepath.Join(dir, "local-restore"))) }
		runVault := func() { vlt.add(backupRestore(b, vs, src, filepath.Join(dir, "vault-restore"))) }
		if i%2 == 0 { // alternate, so neither always runs second
			runLocal()
			runVault()
		} else {
			runVault()
			runLocal()
		}
		os.RemoveAll(dir)
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	for _, m := range []struct {
		name string
		l, v time.Duration
	}{{"", loc.backup + loc.restore, vlt.backup + vlt.restore}, {"backup-", loc.backup, vlt.backup}, {"restore-", loc.restore, vlt.restore}} {
		b.ReportMetric(mbps(m.l), "local-"+m.name+"MB/s")
		b.ReportMetric(mbps(m.v), "vault-"+m.name+"MB/s")
		b.ReportMetric(100*(1-mbps(m.v)/mbps(m.l)), "vault-"+m.name+"cost-%")
	}
}

// phases sums the time of backups and of restores.
type phases struct{ backup, restore time.Duration }

func (p *phases) add(q phases) {
	p.backup += q.backup
	p.restore += q.restore
}

// registerBench registers a new machine and returns its store.
func registerBench(b *testing.B, data, url, dir string) store.Store {
	cred := filepath.Join(dir, "cred")
	mustRun(b, "vault", "credentials", "--data", data, "--account", "bench", "web", "--out", cred, "--url", url)
	mc, err := vault.Register(context.Background(), cred, filepath.Join(dir, "config"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := vault.OpenStore(context.Background(), mc)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// backupRestore initialises a repository in st, backs src up, restores it
// to target, and returns the time the backup and the restore took.
func backupRestore(b *testing.B, st store.Store, src, target string) phases {
	ctx := context.Background()
	r, err := repo.Init(ctx, st, password, repo.Options{KDF: crypto.TestKDF()})
	if err != nil {
		b.Fatal(err)
	}
	syscall.Sync() // start each phase without the last one's dirty pages
	start := time.Now()
	snap := backup(b, r, src, nil)
	syscall.Sync()
	mid := time.Now()
	rs, err := restorer.New(r, restorer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := rs.Restore(ctx, snap, target); err != nil {
		b.Fatal(err)
	}
	return phases{backup: mid.Sub(start), restore: time.Since(mid)}
}

// writeRandomFiles writes size bytes of incompressible data in 4 MiB files.
func writeRandomFiles(b *testing.B, dir string, size int) {
	rng := rand.New(rand.NewPCG(7, 7))
	buf := make([]byte, 4<<20)
	for i := 0; i*len(buf) < size; i++ {
		for j := 0; j < len(buf); j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				buf[j+k] = byte(v >> (8 * k))
			}
		}
		writeFile(b, filepath.Join(dir, "f"+strconv.Itoa(i)), buf)
	}
}
