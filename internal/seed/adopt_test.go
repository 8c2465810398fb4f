package seed

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/store/mem"
)

var testPassword = []byte("secret")

// stagingRepo makes a repository with n random data blobs of 1 MiB in
// packs of 2 MiB, and returns its store.
func stagingRepo(t *testing.T, n int) *mem.Store {
	t.Helper()
	ctx := context.Background()
	st := mem.New()
	r, err := repo.Init(ctx, st, testPassword, repo.Options{KDF: crypto.TestKDF(), PackSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	for range n {
		b := make([]byte, 1<<20)
		rng.Read(b)
		if _, _, err := r.SaveBlob(ctx, pack.DataBlob, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func openVault(t *testing.T, st store.Store) *repo.Repository {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, st, testPassword, repo.Options{KDF: crypto.TestKDF()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func names(t *testing.T, st store.Store, prefix string) []string {
	t.Helper()
	var out []string
	if err := st.List(context.Background(), prefix, func(fi store.Info) error { out = append(out, fi.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCopyFilesAndRepair: the staging metadata goes to an empty vault,
// whose repository then lists packs it lacks; Repair re-sends them from
// the staging location, and drops the one the staging location lost.
func TestCopyFilesAndRepair(t *testing.T) {
	ctx := context.Background()
	staging := stagingRepo(t, 8)
	vst := mem.New()
	n, err := CopyFiles(ctx, staging, vst, MetadataFiles)
	if err != nil || n < 3 {
		t.Fatalf("CopyFiles = %d, %v; want config, a key and index files", n, err)
	}
	if n, err := CopyFiles(ctx, staging, vst, MetadataFiles); err != nil || n != 0 {
		t.Fatalf("second CopyFiles = %d, %v; want 0 copied", n, err)
	}
	if got := names(t, vst, "data/"); len(got) != 0 {
		t.Fatalf("CopyFiles copied packs: %v", got)
	}
	packs := names(t, staging, "data/")
	if len(packs) < 3 {
		t.Fatalf("%d packs in staging, want several", len(packs))
	}
	// The staging location lost one pack; another one is damaged.
	if err := staging.Delete(ctx, packs[0]); err != nil {
		t.Fatal(err)
	}
	damaged := corruptObject(t, staging, packs[1])

	r := openVault(t, vst)
	var calls int
	res, err := Repair(ctx, r, vst, []store.Store{damaged}, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if res.Missing != len(packs) || res.Resent != len(packs)-2 || len(res.Lost) != 2 || calls != len(packs) {
		t.Fatalf("Repair = %+v (%d progress calls), want %d missing, %d re-sent, 2 lost", res, calls, len(packs), len(packs)-2)
	}
	missing, err := r.MissingPacks(ctx)
	if err != nil || len(missing) != 0 {
		t.Fatalf("MissingPacks after Repair = %v, %v", missing, err)
	}
	// A fresh open sees the same: the lost packs are no longer indexed.
	if missing, err := openVault(t, vst).MissingPacks(ctx); err != nil || len(missing) != 0 {
		t.Fatalf("MissingPacks after reopening = %v, %v", missing, err)
	}
}

// corruptObject returns a copy of st in which name has one byte flipped.
func corruptObject(t *testing.T, st *mem.Store, name string) store.Store {
	t.Helper()
	ctx := context.Background()
	out := mem.New()
	for _, n := range names(t, st, "") {
		rc, err := st.Get(ctx, n, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if n == name {
			b[len(b)/2] ^= 1
		}
		if err := out.Put(ctx, n, bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestCopyFilesOtherRepository(t *testing.T) {
	ctx := context.Background()
	a, b := stagingRepo(t, 1), stagingRepo(t, 1)
	if _, err := CopyFiles(ctx, a, b, IdentityFiles); !errors.Is(err, ErrOtherRepository) {
		t.Fatalf("CopyFiles into another repository = %v, want ErrOtherRepository", err)
	}
}

func TestFallback(t *testing.T) {
	ctx := context.Background()
	primary, staging := mem.New(), mem.New()
	put := func(st store.Store, name, content string) {
		if err := st.Put(ctx, name, bytes.NewReader([]byte(content)), int64(len(content))); err != nil {
			t.Fatal(err)
		}
	}
	put(staging, "data/ab/ab01", "pack from staging")
	put(staging, "index/01", "index only in staging")
	put(primary, "data/cd/cd01", "pack in the vault")
	f := Fallback{Store: primary, Staging: staging}
	read := func(name string) (string, error) {
		rc, err := f.Get(ctx, name, 0, -1)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	if got, err := read("data/ab/ab01"); err != nil || got != "pack from staging" {
		t.Errorf("pack only in staging: %q, %v", got, err)
	}
	if got, err := read("data/cd/cd01"); err != nil || got != "pack in the vault" {
		t.Errorf("pack in the vault: %q, %v", got, err)
	}
	if _, err := read("index/01"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("non-pack file from staging: %v, want ErrNotFound (only packs fall back)", err)
	}
	if fi, err := f.Stat(ctx, "data/ab/ab01"); err != nil || fi.Size != int64(len("pack from staging")) {
		t.Errorf("Stat of a staging pack = %+v, %v", fi, err)
	}
	if got := names(t, f, "data/"); len(got) != 1 {
		t.Errorf("List = %v, want the vault's pack only", got)
	}
	put(f, "data/ef/ef01", "new")
	if _, err := primary.Stat(ctx, "data/ef/ef01"); err != nil {
		t.Errorf("Put did not go to the vault: %v", err)
	}
}

func TestPendingRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadPending(dir); err != nil || len(got) != 0 {
		t.Fatalf("LoadPending(empty) = %v, %v", got, err)
	}
	p := &Pending{Job: "seed-1", Staging: filepath.Join(dir, "staging"), State: StateWaiting, Created: time.Unix(100, 0).UTC()}
	if err := SavePending(dir, p); err != nil {
		t.Fatal(err)
	}
	q := &Pending{Job: "seed-0", Staging: "/x", State: StateAdopted, Created: time.Unix(50, 0).UTC(), Adoption: &Adoption{Files: 3, Resent: 1}}
	if err := SavePending(dir, q); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPending(dir)
	if err != nil || len(got) != 2 || got[0].Job != "seed-0" || got[1].Job != "seed-1" || got[0].Adoption.Resent != 1 {
		t.Fatalf("LoadPending = %+v, %v", got, err)
	}
	if !got[1].Active() || got[0].Active() {
		t.Errorf("Active: waiting %v, adopted %v", got[1].Active(), got[0].Active())
	}
	if err := SavePending(dir, &Pending{Job: "../evil", Staging: "/x", State: StateWaiting}); err == nil {
		t.Errorf("SavePending accepted a job name with a path in it")
	}
}

func TestDrivesDoneAndStates(t *testing.T) {
	j := &importjob.Job{Drives: []importjob.Drive{
		{State: importjob.DriveCompleted}, {State: importjob.DriveCompletedMoreInfo},
		{State: importjob.DriveTransferring}, {State: importjob.DriveNeverReceived},
	}}
	if done, n := DrivesDone(j); done != 3 || n != 4 {
		t.Errorf("DrivesDone = %d/%d, want 3/4", done, n)
	}
	for s, want := range map[importjob.JobState]bool{importjob.JobTransferring: false, importjob.JobPackaging: true,
		importjob.JobCompletedWithErrors: true, importjob.JobCancelled: false} {
		if Adoptable(s) != want {
			t.Errorf("Adoptable(%s) = %v", s, !want)
		}
	}
}

// TestRepairInterrupted: a repair that fails part-way (the vault refuses
// or loses the acknowledgement of some writes) is finished by running it
// again: nothing is lost, nothing sent twice is a problem.
func TestRepairInterrupted(t *testing.T) {
	ctx := context.Background()
	staging := stagingRepo(t, 8)
	packs := names(t, staging, "data/")
	for _, effect := range []faulty.Effect{faulty.Fail, faulty.AckLost} {
		vault := mem.New()
		if _, err := CopyFiles(ctx, staging, vault, MetadataFiles); err != nil {
			t.Fatal(err)
		}
		if err := staging.Delete(ctx, packs[len(packs)-1]); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		fst := faulty.New(vault, faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Prefix: "", Nth: 3, Effect: effect}))
		r := openVault(t, fst)
		if _, err := Repair(ctx, r, fst, []store.Store{staging}, nil); err == nil {
			t.Fatalf("%v: the first repair did not see its fault", effect)
		}
		fst.ClearRules()
		r = openVault(t, fst)
		res, err := Repair(ctx, r, fst, []store.Store{staging}, nil)
		if err != nil {
			t.Fatalf("%v: second repair: %v", effect, err)
		}
		if len(res.Lost) != 1 {
			t.Errorf("%v: second repair lost %d packs, want the one staging lacks", effect, len(res.Lost))
		}
		if missing, err := openVault(t, vault).MissingPacks(ctx); err != nil || len(missing) != 0 {
			t.Errorf("%v: after the second repair %v missing (%v)", effect, missing, err)
		}
	}
}

// TestSyncTreePacks sends the packs holding trees, and only those.
func TestSyncTreePacks(t *testing.T) {
	ctx := context.Background()
	staging := mem.New()
	r, err := repo.Init(ctx, staging, testPassword, repo.Options{KDF: crypto.TestKDF(), PackSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{5})
	for i := range 6 {
		b := make([]byte, 1<<20)
		rng.Read(b)
		if _, _, err := r.SaveBlob(ctx, pack.DataBlob, b); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.SaveBlob(ctx, pack.TreeBlob, []byte(`{"nodes":[],"n":`+string(rune('0'+i))+`}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	vst := mem.New()
	if _, err := CopyFiles(ctx, staging, vst, MetadataFiles); err != nil {
		t.Fatal(err)
	}
	v := openVault(t, vst)
	n, size, err := SyncTreePacks(ctx, v, vst, staging)
	if err != nil || n != 1 || size == 0 {
		t.Fatalf("SyncTreePacks = %d packs, %d bytes, %v; want the one tree pack", n, size, err)
	}
	sent := names(t, vst, "data/")
	if len(sent) != 1 {
		t.Fatalf("vault holds %d packs, want 1", len(sent))
	}
	missing, err := v.MissingPacks(ctx)
	if err != nil || len(missing) != len(names(t, staging, "data/"))-1 {
		t.Fatalf("still missing %d (%v), want every data pack", len(missing), err)
	}
	if n, _, err := SyncTreePacks(ctx, v, vst, staging); err != nil || n != 0 {
		t.Errorf("second SyncTreePacks = %d, %v; want nothing to send", n, err)
	}
}
