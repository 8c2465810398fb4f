package metatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/meta"
)

// orderTests are the conformance tests of list order.
var orderTests = []struct {
	name string
	fn   func(*testing.T, meta.DB)
}{
	{"ByteOrder", testByteOrder},
}

// byteOrdered are valid names in byte order; a locale-aware collation
// orders them differently ("alpha" before "Zulu", "ab" before "a-b").
var byteOrdered = []string{"Zulu", "a-b", "a.b", "a_b", "ab", "alpha"}

// testByteOrder: lists sort names byte-wise on every engine, whatever the
// database's locale.
func testByteOrder(t *testing.T, db meta.DB) {
	ctx := context.Background()
	var accounts []string
	for i := len(byteOrdered) - 1; i >= 0; i-- {
		account(t, db, fmt.Sprintf("a%d", i), byteOrdered[i])
	}
	all, err := db.ListAccounts(ctx)
	must(t, "ListAccounts", err)
	for _, a := range all {
		accounts = append(accounts, a.Name)
	}
	var vaults, storage, jobs []string
	for i := len(byteOrdered) - 1; i >= 0; i-- {
		vault(t, db, fmt.Sprintf("v%d", i), "a0", byteOrdered[i])
		must(t, "CreateStorageAccount", db.CreateStorageAccount(ctx,
			meta.StorageAccount{AccountID: "a0", Name: byteOrdered[i], Store: "/x", Created: t0}))
		createJob(t, db, fmt.Sprintf("j%d", i), "a0", byteOrdered[i])
	}
	vs, err := db.ListVaults(ctx, "a0")
	must(t, "ListVaults", err)
	for _, v := range vs {
		vaults = append(vaults, v.Name)
	}
	sas, err := db.ListStorageAccounts(ctx, "a0")
	must(t, "ListStorageAccounts", err)
	for _, sa := range sas {
		storage = append(storage, sa.Name)
	}
	js, err := db.ListJobs(ctx, meta.JobFilter{AccountID: "a0"})
	must(t, "ListJobs", err)
	for _, j := range js {
		jobs = append(jobs, j.Job.Name)
	}
	for what, got := range map[string][]string{"ListAccounts": accounts, "ListVaults": vaults,
		"ListStorageAccounts": storage, "ListJobs": jobs} {
		if diff := cmp.Diff(byteOrdered, got); diff != "" {
			t.Errorf("%s order mismatch (-want +got):\n%s", what, diff)
		}
	}
	testMachineIDOrder(t, db)
}

// testMachineIDOrder: machines created at the same time sort by id, byte-wise.
func testMachineIDOrder(t *testing.T, db meta.DB) {
	ctx := context.Background()
	v := vault(t, db, "vm", "a0", "machines")
	for i := len(byteOrdered) - 1; i >= 0; i-- {
		tok := token(t, db, fmt.Sprintf("t%d", i), v, t0.Add(time.Hour))
		m, k := machineFor(tok, byteOrdered[i])
		must(t, "Register "+m.ID, db.Register(ctx, tok.ID, t0, m, k))
	}
	ms, err := db.ListMachines(ctx, v.ID)
	must(t, "ListMachines", err)
	var got []string
	for _, m := range ms {
		got = append(got, m.ID)
	}
	if diff := cmp.Diff(byteOrdered, got); diff != "" {
		t.Errorf("ListMachines order mismatch (-want +got):\n%s", diff)
	}
}
