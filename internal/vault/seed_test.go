package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/importer"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/verify"
)

// seedWorld is account acme with vault web, machines m1 and m2, and
// storage account sa1 whose store is sa.
type seedWorld struct {
	f      *fixture
	acme   *AccountSettings
	v      meta.Vault
	m1, m2 *MachineConfig
	sa     *mem.Store
	rnd    *rand.ChaCha8
}

func newSeedWorld(t *testing.T, modify func(*ServerConfig)) *seedWorld {
	w := &seedWorld{sa: mem.New(), rnd: rand.NewChaCha8([32]byte{7})}
	w.f = newFixture(t, func(c *ServerConfig) {
		c.OpenStorage = func(ctx context.Context, loc string) (store.Store, error) {
			if loc != "/srv/sa1-"+w.acme.AccountID {
				return nil, fmt.Errorf("no storage at %s", loc)
			}
			return w.sa, nil
		}
		if modify != nil {
			modify(c)
		}
	})
	w.acme = w.f.account("acme")
	w.f.storageAccount(w.acme.AccountID)
	w.v = w.f.vault(w.acme, "web")
	w.m1, w.m2 = w.f.machine(w.acme, w.v), w.f.machine(w.acme, w.v)
	return w
}

// seedJob creates job name of the account with container "c-<name>",
// targeting vault and machine (ids, or ""), moved to Packaging when ready.
func (f *fixture) seedJob(accountID, name, vault, machine string, ready bool) {
	f.t.Helper()
	ctx := context.Background()
	req := testCreateRequest(name)
	req.Container, req.Vault, req.Machine = "c-"+name, vault, machine
	if _, err := f.srv.jobs.Create(ctx, accountID, req); err != nil {
		f.t.Fatal(err)
	}
	if !ready {
		return
	}
	now := f.clock.Now()
	_, err := meta.ModifyJob(ctx, f.db, accountID, name, now, func(j *importjob.Job) (bool, error) {
		d := j.Drives[0].ID
		return true, errors.Join(j.ReportShipping(now, testShipping("T-"+name)), j.ReceiveDrive(now, d),
			j.StartDrive(now, d, "st"), j.FinishDrive(now, d, 1000, 0))
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// addSeedJobs gives the authorisation world three ready seeds: seed-ready
// without a target, seed-m2 for machine m2, and rival-seed of the rival
// account.
func (w *authWorld) addSeedJobs(vaultID, m2, acmeID, rivalID string) {
	w.f.seedJob(acmeID, "seed-ready", "", "", true)
	w.f.seedJob(acmeID, "seed-m2", vaultID, m2, true)
	w.f.seedJob(rivalID, "rival-seed", "", "", true)
}

// content returns n deterministic random bytes.
func (w *seedWorld) content(n int) []byte {
	b := make([]byte, n)
	w.rnd.Read(b)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// named returns the repository name of content-named b in dir.
func named(dir string, b []byte) string {
	h := sha(b)
	if dir == "data" {
		return "data/" + h[:2] + "/" + h
	}
	return dir + "/" + h
}

// repoFiles returns a small repository: config, a key, an index, a
// snapshot and five packs.
func (w *seedWorld) repoFiles() map[string][]byte {
	files := map[string][]byte{"config": w.content(90)}
	for _, d := range []struct {
		dir  string
		size int
	}{{"keys", 300}, {"index", 500}, {"snapshots", 200}, {"data", 1000}, {"data", 1100}, {"data", 1200}, {"data", 1300}, {"data", 1400}} {
		b := w.content(d.size)
		files[named(d.dir, b)] = b
	}
	return files
}

// fill puts files into the job's container, with two import logs of the
// job and one of another job.
func (w *seedWorld) fill(job string, files map[string][]byte) {
	w.put(job, files)
	w.put(job, map[string][]byte{
		importer.LogsDir + "/" + job + "/d1/copy.log":   []byte("log"),
		importer.LogsDir + "/" + job + "/d1/errors.log": []byte("log"),
		importer.LogsDir + "/other/d1/copy.log":         []byte("other"),
	})
}

// put puts files into the job's container.
func (w *seedWorld) put(job string, files map[string][]byte) {
	w.f.t.Helper()
	for name, b := range files {
		if err := w.sa.Put(context.Background(), "c-"+job+"/"+name, bytes.NewReader(b), int64(len(b))); err != nil {
			w.f.t.Fatal(err)
		}
	}
}

// objects returns the names (below prefix) and contents in st.
func objects(t testing.TB, st store.Store, prefix string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := st.List(context.Background(), prefix, func(fi store.Info) error {
		b, err := store.ReadAll(context.Background(), st, fi.Name)
		out[strings.TrimPrefix(fi.Name, prefix)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *seedWorld) repo(mc *MachineConfig) map[string][]byte {
	return objects(w.f.t, w.f.st, repoPrefix(mc.VaultID, mc.MachineID))
}

func total(files map[string][]byte) (n int64) {
	for _, b := range files {
		n += int64(len(b))
	}
	return n
}

func TestLogsDirMatchesImporter(t *testing.T) {
	if importLogsDir != importer.LogsDir {
		t.Errorf("importLogsDir = %q, importer.LogsDir = %q", importLogsDir, importer.LogsDir)
	}
}

func TestAdoptSeed(t *testing.T) {
	w := newSeedWorld(t, nil)
	ctx := context.Background()
	w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
	files := w.repoFiles()
	w.fill("seed", files)
	c := w.f.machineClient(w.m1)

	info, err := c.SeedJob(ctx, "seed")
	if err != nil || info.Job.Name != "seed" || info.Job.State != importjob.JobPackaging || info.Job.Machine != "" {
		t.Fatalf("SeedJob = %+v, %v; want the unbound Packaging job", info, err)
	}
	rep, err := c.Adopt(ctx, "seed", "")
	if err != nil {
		t.Fatal(err)
	}
	want := &AdoptReport{Job: "seed", State: importjob.JobPackaging, Files: len(files), Copied: len(files),
		Bytes: total(files), Damaged: []Damaged{}, Done: true}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("first Adopt (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(files, w.repo(w.m1)); diff != "" {
		t.Errorf("repository after adopt (-want +got):\n%s", diff)
	}
	if u := w.f.srv.Usage()[w.v.ID]; u.Bytes != total(files) || u.Objects != int64(len(files)) {
		t.Errorf("vault usage = %+v, want %d bytes in %d objects", u, total(files), len(files))
	}
	if info, err := c.SeedJob(ctx, "seed"); err != nil || info.Job.Vault != w.v.ID || info.Job.Machine != w.m1.MachineID {
		t.Errorf("after adopt the job targets %s/%s (%v), want the adopting machine", info.Job.Vault, info.Job.Machine, err)
	}

	// Again, as the machine and as the admin: everything is present.
	admin := w.f.client(w.acme.APIKey, w.v.ID, w.m1.MachineID)
	for _, cl := range []*Client{c, admin} {
		rep, err = cl.Adopt(ctx, "seed", "")
		want := &AdoptReport{Job: "seed", State: importjob.JobPackaging, Files: len(files), Present: len(files),
			Damaged: []Damaged{}, Done: true}
		if err != nil || !cmp.Equal(want, rep) {
			t.Errorf("second Adopt = %+v, %v; want everything present", rep, err)
		}
	}
	// The job is bound now: the other machine does not see it.
	m2 := w.f.machineClient(w.m2)
	_, err = m2.SeedJob(ctx, "seed")
	wantErrIs(t, "SeedJob by another machine", err, ErrJobNotFound)
	_, err = m2.Adopt(ctx, "seed", "")
	wantErrIs(t, "Adopt by another machine", err, ErrJobNotFound)
	if !strings.Contains(w.f.logs.String(), `"msg":"seed adopt finished"`) {
		t.Errorf("no adopt log line:\n%s", w.f.logs.String())
	}
}

func TestAdoptResumesFromAfter(t *testing.T) {
	w := newSeedWorld(t, nil)
	w.f.seedJob(w.acme.AccountID, "seed", w.v.ID, w.m1.MachineID, true)
	files := w.repoFiles()
	w.fill("seed", files)
	names := slices.Sorted(maps.Keys(files))
	rep, err := w.f.machineClient(w.m1).Adopt(context.Background(), "seed", names[2])
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != len(names)-3 || rep.Copied != len(names)-3 || !rep.Done {
		t.Errorf("Adopt after %s = %+v, want the %d later files copied", names[2], rep, len(names)-3)
	}
	got := w.repo(w.m1)
	for i, n := range names {
		if _, ok := got[n]; ok != (i > 2) {
			t.Errorf("%s in the repository: %v, want %v", n, ok, i > 2)
		}
	}
}

// damagedSeed adds to files, in the container only, objects that adopt must
// refuse, and returns the reasons expected for them.
func (w *seedWorld) damagedSeed(files map[string][]byte) map[string]string {
	tampered := named("data", []byte("the real pack"))
	empty := named("index", []byte("x"))
	bad := map[string][]byte{
		tampered:                          []byte("not the real pack"),
		empty:                             {},
		"foo/bar":                         []byte("x"),
		"keys/" + strings.Repeat("A", 64): []byte("x"),
		"data/00/" + sha([]byte("y")):     []byte("y"),
	}
	why := map[string]string{
		tampered:                          "does not match its name: the object has SHA-256 " + sha([]byte("not the real pack")) + ", expected " + sha([]byte("the real pack")),
		empty:                             "does not match its name: the object has SHA-256 " + sha(nil) + ", expected " + sha([]byte("x")),
		"foo/bar":                         "not a repository file",
		"keys/" + strings.Repeat("A", 64): "not a repository file", "data/00/" + sha([]byte("y")): "not a repository file",
	}
	for n, b := range bad {
		files[n] = b
	}
	return why
}

func TestAdoptDamaged(t *testing.T) {
	w := newSeedWorld(t, nil)
	ctx := context.Background()
	w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
	files := w.repoFiles()
	good := len(files)
	wantWhy := w.damagedSeed(files)
	w.fill("seed", files)
	rep, err := w.f.machineClient(w.m1).Adopt(ctx, "seed", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != good || rep.Files != len(files) || len(rep.Damaged) != len(wantWhy) || !rep.Done {
		t.Errorf("Adopt = %+v, want %d copied and %d damaged", rep, good, len(wantWhy))
	}
	repo := w.repo(w.m1)
	for _, d := range rep.Damaged {
		if want, ok := wantWhy[d.Name]; !ok || !strings.Contains(d.Reason, want) {
			t.Errorf("damaged %s: %q, want %q", d.Name, d.Reason, want)
		}
		if _, ok := repo[d.Name]; ok {
			t.Errorf("damaged %s appeared in the repository", d.Name)
		}
	}
}

func TestAdoptConflicts(t *testing.T) {
	w := newSeedWorld(t, nil)
	ctx := context.Background()
	w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
	files := w.repoFiles()
	w.fill("seed", files)
	prefix := repoPrefix(w.v.ID, w.m1.MachineID)
	var pack string
	for n := range files {
		if strings.HasPrefix(n, "data/") {
			pack = n
			break
		}
	}
	for name, b := range map[string][]byte{"config": []byte("another repository"), pack: []byte("short")} {
		if err := w.f.st.Put(ctx, prefix+name, bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := w.f.machineClient(w.m1).Adopt(ctx, "seed", "")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rep.Damaged, func(a, b Damaged) int { return strings.Compare(a.Name, b.Name) })
	want := []Damaged{{"config", "config of another repository"},
		{pack, fmt.Sprintf("the repository holds it with 5 bytes, the seed with %d", len(files[pack]))}}
	if diff := cmp.Diff(want, rep.Damaged); diff != "" || rep.Copied != len(files)-2 {
		t.Errorf("Adopt over a foreign config and a short pack: %d copied, damaged (-want +got):\n%s", rep.Copied, diff)
	}
}

func TestSeedRefusals(t *testing.T) {
	w := newSeedWorld(t, nil)
	ctx := context.Background()
	w.f.seedJob(w.acme.AccountID, "early", "", "", false)
	w.f.seedJob(w.acme.AccountID, "for-m2", w.v.ID, w.m2.MachineID, true)
	c := w.f.machineClient(w.m1)
	_, err := c.Adopt(ctx, "early", "")
	wantErrIs(t, "Adopt of a Creating job", err, ErrJobState)
	_, err = c.CleanupContainer(ctx, "early", "")
	wantErrIs(t, "CleanupContainer of a Creating job", err, ErrJobState)
	if info, err := c.SeedJob(ctx, "early"); err != nil || info.Job.Machine != "" {
		t.Errorf("SeedJob of a Creating job = %+v, %v; want it, unbound", info, err)
	}
	for what, err := range map[string]error{
		"SeedJob for m2": second(c.SeedJob(ctx, "for-m2")), "Adopt for m2": second(c.Adopt(ctx, "for-m2", "")),
		"Cleanup for m2": second(c.CleanupContainer(ctx, "for-m2", "")), "unknown job": second(c.Adopt(ctx, "nope", "")),
	} {
		wantErrIs(t, what, err, ErrJobNotFound)
	}
	path := "/v1/vaults/" + w.v.ID + "/machines/" + w.m1.MachineID + "/seed/early/adopt"
	for _, body := range []string{`{"after":"../x"}`, `{"from":""}`, `[]`, `{"after":""} {}`} {
		resp := w.f.request("POST", path, w.m1.Key, strings.NewReader(body))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("adopt with body %s: status %d, want 400", body, resp.StatusCode)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestSeedWithoutStorage(t *testing.T) {
	w := newSeedWorld(t, func(c *ServerConfig) { c.OpenStorage = nil })
	w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
	resp := w.f.request("POST", "/v1/vaults/"+w.v.ID+"/machines/"+w.m1.MachineID+"/seed/seed/adopt", w.m1.Key, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("adopt without OpenStorage: status %d, want 503", resp.StatusCode)
	}
}

func TestCleanupContainer(t *testing.T) {
	w := newSeedWorld(t, nil)
	ctx := context.Background()
	w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
	files := w.repoFiles()
	wantWhy := w.damagedSeed(files)
	w.fill("seed", files)
	c := w.f.machineClient(w.m1)
	if _, err := c.Adopt(ctx, "seed", ""); err != nil {
		t.Fatal(err)
	}
	late := []byte("a snapshot that arrived after the adoption")
	w.put("seed", map[string][]byte{named("snapshots", late): late})
	wantWhy[named("snapshots", late)] = "not in the repository"
	rep, err := c.CleanupContainer(ctx, "seed", "")
	if err != nil {
		t.Fatal(err)
	}
	adopted := len(files) - (len(wantWhy) - 1)
	if rep.Deleted != adopted+2 || len(rep.Kept) != len(wantWhy) || !rep.Done || rep.Next != "" {
		t.Errorf("CleanupContainer = %+v, want %d + 2 logs deleted, %d kept", rep, adopted, len(wantWhy))
	}
	var kept []string
	for _, k := range rep.Kept {
		kept = append(kept, k.Name)
		if k.Reason == "" {
			t.Errorf("kept %s without a reason", k.Name)
		}
	}
	kept = append(kept, importer.LogsDir+"/other/d1/copy.log")
	sort.Strings(kept)
	left := objects(t, w.sa, "c-seed/")
	if diff := cmp.Diff(kept, slices.Sorted(maps.Keys(left))); diff != "" {
		t.Errorf("container after cleanup (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(len(files)-len(wantWhy)+1, len(w.repo(w.m1))); diff != "" {
		t.Errorf("repository objects after cleanup (-want +got):\n%s", diff)
	}
}

// runAdopt calls Adopt until done and returns the calls' sum.
func runAdopt(t *testing.T, c *Client, job string) (sum AdoptReport, calls int) {
	t.Helper()
	after := ""
	for calls = 1; ; calls++ {
		rep, err := c.Adopt(context.Background(), job, after)
		if err != nil {
			t.Fatal(err)
		}
		sum.Files += rep.Files
		sum.Copied += rep.Copied
		sum.Present += rep.Present
		sum.Bytes += rep.Bytes
		sum.Damaged = append(sum.Damaged, rep.Damaged...)
		if rep.Done {
			return sum, calls
		}
		if rep.Next <= after || calls > 100 {
			t.Fatalf("Adopt after %q: next %q does not advance", after, rep.Next)
		}
		after = rep.Next
	}
}

// runCleanup calls CleanupContainer until done and returns the calls' sum.
func runCleanup(t *testing.T, c *Client, job string) (sum CleanupReport, calls int) {
	t.Helper()
	after := ""
	for calls = 1; ; calls++ {
		rep, err := c.CleanupContainer(context.Background(), job, after)
		if err != nil {
			t.Fatal(err)
		}
		sum.Deleted += rep.Deleted
		sum.Kept = append(sum.Kept, rep.Kept...)
		if rep.Done {
			return sum, calls
		}
		if rep.Next <= after || calls > 100 {
			t.Fatalf("CleanupContainer after %q: next %q does not advance", after, rep.Next)
		}
		after = rep.Next
	}
}

// TestSeedBatches: with tiny batch limits the calls' union is what one
// call does.
func TestSeedBatches(t *testing.T) {
	type result struct {
		Adopt   AdoptReport
		Cleanup CleanupReport
		Repo    map[string][]byte
		Left    map[string][]byte
	}
	run := func(lim Limits) (result, int, int) {
		w := newSeedWorld(t, func(c *ServerConfig) {
			c.Limits.SeedBatchBytes, c.Limits.SeedBatchObjects = lim.SeedBatchBytes, lim.SeedBatchObjects
		})
		w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
		files := w.repoFiles()
		w.damagedSeed(files)
		w.fill("seed", files)
		c := w.f.machineClient(w.m1)
		var r result
		var adoptCalls, cleanupCalls int
		r.Adopt, adoptCalls = runAdopt(t, c, "seed")
		r.Cleanup, cleanupCalls = runCleanup(t, c, "seed")
		r.Repo, r.Left = w.repo(w.m1), objects(t, w.sa, "c-seed/")
		return r, adoptCalls, cleanupCalls
	}
	one, a1, c1 := run(Limits{})
	many, an, cn := run(Limits{SeedBatchBytes: 1, SeedBatchObjects: 2})
	if a1 != 1 || c1 != 1 || an < 5 || cn < 5 {
		t.Errorf("calls: %d adopt and %d cleanup in one batch, %d and %d in small ones", a1, c1, an, cn)
	}
	if diff := cmp.Diff(one, many); diff != "" {
		t.Errorf("small batches differ from one (-one +many):\n%s", diff)
	}
}

// TestSeedMismatch: a store that reads exactly the announced size never
// receives all of a seed object whose hash does not match, and the
// reason says how it differs.
func TestSeedMismatch(t *testing.T) {
	good := []byte("pack bytes")
	for _, tc := range []struct {
		name    string
		content []byte
		want    string // the reason; "" when it matches
	}{
		{"match", good, ""},
		{"mismatch", []byte("pack bytez"), "does not match its name: the object has SHA-256 " + sha([]byte("pack bytez")) + ", expected " + sha(good)},
		{"longer", append(bytes.Clone(good), '!'), "does not match its name: the object is longer than the expected 10 bytes"},
		{"shorter", good[:5], "does not match its name: the object ends after 5 bytes, expected 10"},
	} {
		v := verify.NewReader(bytes.NewReader(tc.content), int64(len(good)), sha(good))
		buf := make([]byte, len(good))
		_, err := io.ReadFull(io.LimitReader(v, int64(len(good))), buf)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: read the whole size: %v", tc.name, err)
		case tc.want != "" && (err == nil || !errors.Is(v.Err(), verify.ErrMismatch) || seedMismatch(v.Err()) != tc.want):
			t.Errorf("%s: read the whole size: %v, reason %q; want %q", tc.name, err, seedMismatch(v.Err()), tc.want)
		}
	}
}

func TestRepoFile(t *testing.T) {
	h := sha([]byte("x"))
	for name, want := range map[string]bool{
		"config": true, "keys/" + h: true, "index/" + h: true, "snapshots/" + h: true, "data/" + h[:2] + "/" + h: true,
		"locks/" + h: false, "data/" + h: false, "data/00/" + h: false, "keys/" + h + "/x": false, "keys/" + h[:63]: false,
		"keys/" + strings.ToUpper(h): false, "config/x": false, importLogsDir + "/x": false,
	} {
		if _, ok := repoFile(name); ok != want {
			t.Errorf("repoFile(%q) = %v, want %v", name, ok, want)
		}
	}
}
