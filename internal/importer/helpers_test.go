package importer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/meta/sqlite"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
)

const testAccount = "0123456789abcdef0123456789abcdef"

// testEnv is a service database with one account and one storage account
// (a local store).
type testEnv struct {
	t        testing.TB
	db       meta.DB
	storeDir string
	st       store.Store
	clock    atomic.Int64
	jobs     int
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sa")
	e := newEnvAt(t, dir)
	var err error
	if e.st, err = local.Create(dir); err != nil {
		t.Fatal(err)
	}
	return e
}

// newEnvAt is a service database whose storage account "sa" is the store
// location loc; e.st is left nil.
func newEnvAt(t testing.TB, loc string) *testEnv {
	t.Helper()
	e := &testEnv{t: t, storeDir: loc}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), e.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	if err := db.CreateAccount(ctx, meta.Account{ID: testAccount, Name: "acme", Created: e.now()}); err != nil {
		t.Fatal(err)
	}
	sa := meta.StorageAccount{AccountID: testAccount, Name: "sa", Store: loc, Created: e.now()}
	if err := db.CreateStorageAccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	return e
}

// now is a deterministic clock, safe for concurrent imports.
func (e *testEnv) now() time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(e.clock.Add(1)) * time.Second)
}

func (e *testEnv) importer(station string) *Importer {
	return &Importer{DB: e.db, Station: station, Now: e.now, SaveEvery: -1, TempDir: e.t.TempDir(),
		OpenStore: func(_ context.Context, loc string) (store.Store, error) { return local.Create(loc) }}
}

// testJob is an import job in state Shipping with prepared drives.
type testJob struct {
	name, container string
	key             []byte
	drives          []drive.DriveResult
	files           map[string]string // path → sha256 of every staging file
}

// addJob prepares drives from a small seeded staging repository and
// registers the job, shipped.
func (e *testEnv) addJob(name string, seed uint64, packs int, capacity int64) *testJob {
	t := e.t
	t.Helper()
	j := &testJob{name: name, container: "c-" + name, key: make([]byte, drive.JobKeySize)}
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range j.key {
		j.key[i] = byte(rng.Uint32())
	}
	staging, files := makeStaging(t, rng, packs)
	j.files = files
	var ds []string
	for i := range 6 {
		d := filepath.Join(t.TempDir(), fmt.Sprintf("drive%d", i+1))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	res, err := drive.Prep(context.Background(), drive.Options{Staging: staging, Job: name, JobKey: j.key, Drives: ds,
		Capacity: capacity, SkipVerify: true, Now: e.now, Rand: rand.NewChaCha8([32]byte{byte(seed)})})
	if err != nil {
		t.Fatal(err)
	}
	j.drives = res.Drives
	e.register(j, func(i int) drive.DriveResult { return j.drives[i] }, len(j.drives))
	return j
}

// register creates the job with the given drives and reports shipping.
func (e *testEnv) register(j *testJob, d func(int) drive.DriveResult, n int) {
	t, ctx := e.t, context.Background()
	t.Helper()
	e.jobs++
	spec := importjob.Spec{ID: fmt.Sprintf("%032x", e.jobs), Account: testAccount, Name: j.name, StorageAccount: "sa",
		Container: j.container, KeyHash: importjob.KeyHash(j.key)}
	for i := range n {
		r := d(i)
		spec.Drives = append(spec.Drives, importjob.Drive{ID: r.ID, Seq: r.Seq, ManifestHash: r.ManifestHash, Bytes: r.Bytes, Files: r.Files})
	}
	job, err := importjob.New(spec, e.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := job.ReportShipping(e.now(), importjob.Shipping{Carrier: "UPS", Tracking: fmt.Sprintf("1Z%d", e.jobs),
		ShipDate: e.now(), ReturnAddress: "ACME", Contact: "ops"}); err != nil {
		t.Fatal(err)
	}
	rec := meta.JobRecord{Job: *job, JobKey: base64.StdEncoding.EncodeToString(j.key), Version: 1, Updated: e.now()}
	if err := e.db.CreateJob(ctx, rec); err != nil {
		t.Fatal(err)
	}
}

// makeStaging writes a staging repository: config, a key, a snapshot, an
// index and content-addressed packs of 1–12 KiB.
func makeStaging(t testing.TB, rng *rand.Rand, packs int) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	put := func(rel string, data []byte) {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files[rel] = hexSum(data)
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	put("config", random(155))
	for _, top := range []string{"keys", "snapshots", "index"} {
		b := random(300)
		put(top+"/"+hexSum(b), b)
	}
	for range packs {
		b := random(1<<10 + rng.IntN(11<<10))
		s := hexSum(b)
		put("data/"+s[:2]+"/"+s, b)
	}
	return dir, files
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// job reads the job back.
func (e *testEnv) job(name string) importjob.Job {
	e.t.Helper()
	r, err := e.db.GetJob(context.Background(), testAccount, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Job
}

func (e *testEnv) driveState(job, id string) importjob.DriveState {
	e.t.Helper()
	j := e.job(job)
	return j.Drive(id).State
}

// objects lists the store's objects below prefix with their contents'
// SHA-256.
func (e *testEnv) objects(prefix string) map[string]string {
	e.t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	err := e.st.List(ctx, prefix, func(i store.Info) error {
		b, err := store.ReadAll(ctx, e.st, i.Name)
		out[i.Name] = hexSum(b)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// readObject returns an object's content as a string.
func (e *testEnv) readObject(name string) string {
	e.t.Helper()
	b, err := store.ReadAll(context.Background(), e.st, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// manifest reads a drive's manifest.
func manifestOf(t testing.TB, d drive.DriveResult, key []byte) *drive.Manifest {
	t.Helper()
	m, _, err := drive.ReadManifest(d.Path, key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkImported checks that every file of the drive is in the container
// with its manifest hash.
func (e *testEnv) checkImported(j *testJob, d drive.DriveResult, except ...string) {
	e.t.Helper()
	objs := e.objects(j.container + "/")
	skip := map[string]bool{}
	for _, p := range except {
		skip[p] = true
	}
	for _, f := range manifestOf(e.t, d, j.key).Files {
		got, ok := objs[j.container+"/"+f.Path]
		switch {
		case skip[f.Path] && ok:
			e.t.Errorf("%s is in the container, want it absent", f.Path)
		case !skip[f.Path] && got != f.SHA256:
			e.t.Errorf("object %s has SHA-256 %q, manifest says %s", f.Path, got, f.SHA256)
		}
	}
}

func receiveAll(t testing.TB, im *Importer, j *testJob) {
	t.Helper()
	for _, d := range j.drives {
		if _, err := im.Receive(context.Background(), testAccount, j.name, d.Path); err != nil {
			t.Fatal(err)
		}
	}
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want %q in it", what, got, w)
		}
	}
}
