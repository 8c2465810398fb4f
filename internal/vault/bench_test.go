package vault

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/store/storetest"
)

// BenchmarkClientPutGet16MiB measures raw object throughput through the
// vault (TLS on loopback, memory store behind it); compare with
// BenchmarkMemPutGet16MiB.
func BenchmarkClientPutGet16MiB(b *testing.B) {
	f := newFixture(b, nil)
	a, err := f.admin.CreateAccount(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	v, _ := f.admin.CreateVault(context.Background(), a.AccountID, "web")
	f.admin.DB.SetVaultMachineDelete(context.Background(), v.ID, true)
	mc := f.machine(a, v)
	storetest.BenchmarkPutGet(b, f.machineClient(mc), 16<<20)
}

func BenchmarkMemPutGet16MiB(b *testing.B) {
	storetest.BenchmarkPutGet(b, mem.New(), 16<<20)
}

// BenchmarkPlainHTTPPutGet16MiB is BenchmarkClientPutGet16MiB without TLS
// (the client forced onto plain HTTP), to tell TLS's share of the cost.
func BenchmarkPlainHTTPPutGet16MiB(b *testing.B) {
	f := newFixture(b, nil)
	a, err := f.admin.CreateAccount(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	v, _ := f.admin.CreateVault(context.Background(), a.AccountID, "web")
	f.admin.DB.SetVaultMachineDelete(context.Background(), v.ID, true)
	mc := f.machine(a, v)
	plain := httptest.NewServer(f.srv)
	defer plain.Close()
	c := f.machineClient(mc)
	c.hc = &http.Client{Transport: &http.Transport{WriteBufferSize: 128 << 10, ReadBufferSize: 128 << 10}}
	c.objects = strings.Replace(c.objects, c.base, plain.URL, 1)
	c.base = plain.URL
	storetest.BenchmarkPutGet(b, c, 16<<20)
}

// BenchmarkTransfer measures the CPU time the vault's transfer layer
// costs per MB: 16 MiB puts into a store that discards them, and 16 MiB
// gets, read in 1 MiB pieces, from a store that serves one buffer. No disk
// is involved, so the CPU figures vary little between runs:
//
//	go test -run XXX -bench Transfer -count 5 ./internal/vault
func BenchmarkTransfer(b *testing.B) {
	const size = 16 << 20
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ns := &nullStore{data: data}
	f := newFixture(b, func(c *ServerConfig) { c.Store = ns })
	c := serveBatched(b, f)
	ctx := context.Background()
	buf := make([]byte, 1<<20)
	var put, get phaseStat
	for i := 0; b.Loop(); i++ {
		t0, c0 := time.Now(), cpuTime()
		if err := c.Put(ctx, fmt.Sprintf("data/00/%d", i), bytes.NewReader(data), size); err != nil {
			b.Fatal(err)
		}
		t1, c1 := time.Now(), cpuTime()
		rc, err := c.Get(ctx, "data/00/x", 0, size)
		if err != nil {
			b.Fatal(err)
		}
		for range size / len(buf) {
			if _, err := io.ReadFull(rc, buf); err != nil {
				b.Fatal(err)
			}
		}
		rc.Close()
		put.wall += t1.Sub(t0)
		put.cpu += c1 - c0
		get.wall += time.Since(t1)
		get.cpu += cpuTime() - c1
	}
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/put.wall.Seconds(), "put-MB/s")
	b.ReportMetric(mb/get.wall.Seconds(), "get-MB/s")
	b.ReportMetric(float64(put.cpu.Microseconds())/mb, "put-cpu-µs/MB")
	b.ReportMetric(float64(get.cpu.Microseconds())/mb, "get-cpu-µs/MB")
}

// nullStore discards what is put and serves data for every get.
type nullStore struct {
	store.Store
	data []byte
}

func (n *nullStore) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	buf := make([]byte, 256<<10)
	var got int64
	for {
		m, err := r.Read(buf)
		got += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if got != size {
		return fmt.Errorf("put %s: %d bytes, want %d", name, got, size)
	}
	return nil
}

func (n *nullStore) Get(ctx context.Context, name string, off, length int64) (io.ReadCloser, error) {
	if length < 0 {
		length = int64(len(n.data)) - off
	}
	return io.NopCloser(bytes.NewReader(n.data[off : off+length])), nil
}

func (n *nullStore) Stat(ctx context.Context, name string) (store.Info, error) {
	return store.Info{Name: name, Size: int64(len(n.data))}, nil
}

// phaseStat is the wall and CPU time of one kind of operation.
type phaseStat struct{ wall, cpu time.Duration }

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serveBatched serves f's server as seedshipd does (NewTLSListener) and
// returns a client of a machine registered with it.
func serveBatched(b *testing.B, f *fixture) *Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: f.srv, ErrorLog: log.New(io.Discard, "", 0)}
	go hs.Serve(NewTLSListener(ln, f.ts.TLS))
	b.Cleanup(func() { hs.Close() })
	a := f.account("bench")
	mc := f.machine(a, f.vault(a, "web"))
	e := f.srv.cfg.Endpoint
	e.URL = "https://" + ln.Addr().String()
	c, err := NewClient(ClientConfig{Endpoint: e, Key: mc.Key, VaultID: mc.VaultID, MachineID: mc.MachineID})
	if err != nil {
		b.Fatal(err)
	}
	return c
}
