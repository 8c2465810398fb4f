package repo

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/store/mem"
)

var testPassword = []byte("correct horse")

func testOptions() Options {
	return Options{KDF: crypto.TestKDF(), PackSize: 1 << 20, Host: "testhost"}
}

func newTestRepo(t *testing.T) (*Repository, store.Store) {
	t.Helper()
	st := mem.New()
	r, err := Init(context.Background(), st, testPassword, testOptions())
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return r, st
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestInitOpen(t *testing.T) {
	ctx := context.Background()
	r, st := newTestRepo(t)
	if _, err := Init(ctx, st, testPassword, testOptions()); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second Init = %v, want ErrAlreadyExists", err)
	}
	r2, err := Open(ctx, st, testPassword, testOptions())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if r2.Config() != r.Config() {
		t.Errorf("config after Open = %+v, want %+v", r2.Config(), r.Config())
	}
	if _, err := Open(ctx, st, []byte("wrong"), testOptions()); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("Open with wrong password = %v, want ErrWrongPassword", err)
	}
	if _, err := Open(ctx, mem.New(), testPassword, testOptions()); !errors.Is(err, ErrNotRepository) {
		t.Errorf("Open of empty store = %v, want ErrNotRepository", err)
	}
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	r, st := newTestRepo(t)
	id2, err := r.AddKey(ctx, []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, st, []byte("second"), testOptions())
	if err != nil {
		t.Fatalf("Open with second password: %v", err)
	}
	if r2.KeyID() != id2 {
		t.Errorf("opened with key %s, want %s", r2.KeyID().Short(), id2.Short())
	}
	if err := r2.RemoveKey(ctx, id2); err == nil {
		t.Error("removing the key in use succeeded")
	}
	if err := r2.RemoveKey(ctx, r.KeyID()); err != nil {
		t.Fatalf("RemoveKey: %v", err)
	}
	if _, err := Open(ctx, st, testPassword, testOptions()); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("Open with removed password = %v, want ErrWrongPassword", err)
	}
	if err := r2.RemoveKey(ctx, id2); !errors.Is(err, ErrLastKey) {
		t.Errorf("removing the last key = %v, want ErrLastKey", err)
	}
	if _, err := r2.ChangePassword(ctx, []byte("third")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, st, []byte("third"), testOptions()); err != nil {
		t.Errorf("Open after passwd: %v", err)
	}
	if _, err := Open(ctx, st, []byte("second"), testOptions()); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("old password after passwd = %v, want ErrWrongPassword", err)
	}
}

func TestBlobsRoundTrip(t *testing.T) {
	ctx := context.Background()
	r, st := newTestRepo(t)
	blobs := [][]byte{
		{},
		[]byte("hello"),
		bytes.Repeat([]byte("compressible "), 100000),
		randBytes(1, 3<<20),
		randBytes(2, 700<<10),
	}
	ids := make([]oid.ID, len(blobs))
	for i, b := range blobs {
		id, added, err := r.SaveBlob(ctx, pack.DataBlob, b)
		if err != nil || !added {
			t.Fatalf("SaveBlob %d = %v, %v", i, added, err)
		}
		ids[i] = id
		if _, added, _ := r.SaveBlob(ctx, pack.DataBlob, b); added {
			t.Errorf("SaveBlob %d twice: added again", i)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, st, testPassword, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		got, err := r2.LoadBlob(ctx, pack.DataBlob, id, nil)
		if err != nil {
			t.Fatalf("LoadBlob %d: %v", i, err)
		}
		if !bytes.Equal(got, blobs[i]) {
			t.Errorf("blob %d differs after round trip", i)
		}
		e, _ := r2.Index().Lookup(pack.DataBlob, id)
		if i == 2 && !e.Compressed {
			t.Error("compressible blob stored raw")
		}
		if i == 3 && e.Compressed {
			t.Error("random blob stored compressed")
		}
	}
	if _, err := r2.LoadBlob(ctx, pack.TreeBlob, ids[1], nil); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("data blob loaded as tree: %v", err)
	}
}

func TestSnapshots(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRepo(t)
	tree := &snapshot.Tree{}
	treeID, err := r.SaveTree(ctx, tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []oid.ID
	for i := range 3 {
		s := &snapshot.Snapshot{Time: base.Add(time.Duration(i) * time.Hour), Hostname: "h", Paths: []string{"/x"}, Tree: treeID}
		id, err := r.SaveSnapshot(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	latest, err := r.FindSnapshot(ctx, "latest")
	if err != nil || latest.ID != ids[2] {
		t.Fatalf("FindSnapshot(latest) = %v, %v; want %s", latest, err, ids[2].Short())
	}
	got, err := r.FindSnapshot(ctx, ids[0].String()[:10])
	if err != nil || got.ID != ids[0] {
		t.Errorf("FindSnapshot(prefix) = %v, %v", got, err)
	}
	if _, err := r.FindSnapshot(ctx, "zz"); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("FindSnapshot(zz) = %v, want ErrNoSnapshot", err)
	}
	if _, err := r.FindSnapshot(ctx, ""); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("FindSnapshot(\"\") = %v, want ErrNoSnapshot", err)
	}
	lt, err := r.LoadTree(ctx, latest.Tree)
	if err != nil || len(lt.Nodes) != 0 {
		t.Errorf("LoadTree = %v, %v", lt, err)
	}
}

func TestCorruptUnpacked(t *testing.T) {
	ctx := context.Background()
	r, st := newTestRepo(t)
	id, err := r.SaveUnpacked(ctx, KindSnapshots, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	name := KindSnapshots + "/" + id.String()
	b, _ := store.ReadAll(ctx, st, name)
	b[len(b)/2] ^= 1
	if err := st.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadUnpacked(ctx, KindSnapshots, id); !errors.Is(err, ErrCorrupt) {
		t.Errorf("LoadUnpacked of a corrupted file = %v, want ErrCorrupt", err)
	}
}

// An interrupted backup leaves packs without an index; the next run must
// find and reuse them instead of uploading the same data again.
func TestRecoverPacks(t *testing.T) {
	ctx := context.Background()
	_, st := newTestRepo(t)
	fs := faulty.New(st, faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Prefix: "index/"}))
	r, err := Open(ctx, fs, testPassword, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(3, 2<<20)
	id, _, err := r.SaveBlob(ctx, pack.DataBlob, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded although index writes fail")
	}
	if fs.Injected(faulty.OpPut) == 0 {
		t.Fatal("the index write fault did not fire")
	}
	r2, err := Open(ctx, st, testPassword, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := r2.RecoverPacks(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverPacks = %d, %v; want 1 pack", n, err)
	}
	if _, added, _ := r2.SaveBlob(ctx, pack.DataBlob, data); added {
		t.Error("blob of a recovered pack was stored again")
	}
	got, err := r2.LoadBlob(ctx, pack.DataBlob, id, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("LoadBlob after recovery: %v", err)
	}
}

func TestLocks(t *testing.T) {
	ctx := context.Background()
	r, st := newTestRepo(t)
	shared1, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	shared2, err := r.Lock(ctx, false)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if _, err := r.Lock(ctx, true); !errors.Is(err, ErrLocked) {
		t.Errorf("exclusive lock beside shared ones = %v, want ErrLocked", err)
	}
	shared1.Unlock(ctx)
	shared2.Unlock(ctx)
	ex, err := r.Lock(ctx, true)
	if err != nil {
		t.Fatalf("exclusive lock: %v", err)
	}
	if _, err := r.Lock(ctx, false); !errors.Is(err, ErrLocked) {
		t.Errorf("shared lock beside an exclusive one = %v, want ErrLocked", err)
	}
	ex.Unlock(ctx)
	if locks, _ := r.Locks(ctx); len(locks) != 0 {
		t.Errorf("%d locks left after unlocking", len(locks))
	}

	// A lock 31 minutes old is stale for anyone; a lock of a dead PID on
	// this host is stale at once.
	old := testOptions()
	old.Now = func() time.Time { return time.Now().Add(-31 * time.Minute) }
	rOld, _ := Open(ctx, st, testPassword, old)
	if _, err := rOld.Lock(ctx, true); err != nil {
		t.Fatal(err)
	}
	if l, err := r.Lock(ctx, true); err != nil {
		t.Errorf("stale (old) lock was not removed: %v", err)
	} else {
		l.Unlock(ctx)
	}
	dead := LockInfo{Time: time.Now(), Exclusive: true, Host: "testhost", PID: 1 << 30}
	if !r.IsStale(dead) {
		t.Error("lock of a dead PID on this host not stale")
	}
	otherHost := LockInfo{Time: time.Now(), Exclusive: true, Host: "elsewhere", PID: 1 << 30}
	if r.IsStale(otherHost) {
		t.Error("fresh lock of another host considered stale")
	}
}
