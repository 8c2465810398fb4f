package vault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
