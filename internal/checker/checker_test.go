package checker_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/checker/checkertest"
	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// fixture is a repository with three snapshots sharing some files.
func fixture(t *testing.T) (*mem.Store, *repo.Repository) {
	t.Helper()
	st := mem.New()
	r := checkertest.Init(t, st)
	rng := rand.New(rand.NewPCG(1, 2))
	base := checkertest.RandomFiles(rng, "f", 12, 3000)
	checkertest.AddSnapshot(t, r, "h", t0, base)
	more := checkertest.RandomFiles(rng, "g", 6, 3000)
	for k, v := range base {
		more[k] = v
	}
	checkertest.AddSnapshot(t, r, "h", t0.Add(time.Hour), more)
	checkertest.AddSnapshot(t, r, "other", t0.Add(2*time.Hour), checkertest.RandomFiles(rng, "o", 4, 5000))
	return st, checkertest.Open(t, st)
}

func check(t *testing.T, r checker.Repository, o checker.Options) (*checker.Report, error) {
	t.Helper()
	rep, err := checker.Check(context.Background(), r, o)
	if err != nil && !errors.Is(err, checker.ErrBroken) {
		t.Fatalf("Check: %v", err)
	}
	return rep, err
}

// wantProblem fails unless list has a problem of kind whose message
// contains substr.
func wantProblem(t *testing.T, list []checker.Problem, kind error, substr string) {
	t.Helper()
	for _, p := range list {
		if errors.Is(p, kind) && strings.Contains(p.Error(), substr) {
			return
		}
	}
	t.Errorf("no %q problem mentioning %q in:\n%s", kind, substr, describe(list))
}

func describe(list []checker.Problem) string {
	var b strings.Builder
	for _, p := range list {
		b.WriteString("  " + p.Error() + "\n")
	}
	return b.String()
}

func names(t *testing.T, st store.Store, prefix string) []string {
	t.Helper()
	var out []string
	err := st.List(context.Background(), prefix, func(fi store.Info) error {
		out = append(out, fi.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// packOfType returns the name of a pack whose blobs are all of type typ.
func packOfType(t *testing.T, r *repo.Repository, typ pack.BlobType) string {
	t.Helper()
	ctx := context.Background()
	for _, name := range names(t, r.Store(), "data/") {
		fi, err := r.Store().Stat(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		blobs, err := pack.ReadHeader(ctx, r.Store(), name, fi.Size, r.Key())
		if err != nil {
			t.Fatal(err)
		}
		if blobs[0].Type == typ {
			return name
		}
	}
	t.Fatalf("no %s pack", typ)
	return ""
}

// rewrite replaces an object's bytes with change(bytes).
func rewrite(t *testing.T, st store.Store, name string, change func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	b, err := store.ReadAll(ctx, st, name)
	if err != nil {
		t.Fatal(err)
	}
	b = change(b)
	if err := st.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

func flipByte(at int) func([]byte) []byte {
	return func(b []byte) []byte { b[at] ^= 0x01; return b }
}

// replaceIndex deletes every index file and writes one made by change from
// the merged content of the old ones.
func replaceIndex(t *testing.T, st store.Store, r *repo.Repository, change func(*index.File)) {
	t.Helper()
	ctx := context.Background()
	merged := &index.File{}
	ids, err := r.List(ctx, repo.KindIndex)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		f, err := r.LoadIndexFile(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		merged.Packs = append(merged.Packs, f.Packs...)
		if err := st.Delete(ctx, "index/"+id.String()); err != nil {
			t.Fatal(err)
		}
	}
	change(merged)
	if _, err := r.SaveIndexFile(ctx, merged); err != nil {
		t.Fatal(err)
	}
}

func TestHealthyRepository(t *testing.T) {
	_, r := fixture(t)
	var phases []string
	rep, err := check(t, r, checker.Options{ReadData: true, Progress: func(p checker.Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}})
	if err != nil || len(rep.Warnings) > 0 {
		t.Fatalf("Check = %v, warnings:\n%s", err, describe(rep.Warnings))
	}
	if rep.Snapshots != 3 || rep.Trees < 4 || rep.Packs < 3 || rep.PacksRead != rep.Packs || rep.BytesRead == 0 {
		t.Errorf("report = %+v", rep)
	}
	want := []string{"index", "packs", "snapshots", "trees", "read data"}
	if !slices.Equal(phases, want) {
		t.Errorf("progress phases = %v, want %v", phases, want)
	}
}

func TestMissingPack(t *testing.T) {
	st, r := fixture(t)
	name := packOfType(t, r, pack.DataBlob)
	if err := st.Delete(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	rep, err := check(t, r, checker.Options{})
	if !errors.Is(err, checker.ErrBroken) {
		t.Fatalf("Check = %v, want ErrBroken", err)
	}
	wantProblem(t, rep.Errors, checker.ErrMissingPack, name)
	wantProblem(t, rep.Errors, checker.ErrMissingPack, "in snapshot")
}

func TestMissingTreePack(t *testing.T) {
	st, r := fixture(t)
	name := packOfType(t, r, pack.TreeBlob)
	if err := st.Delete(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrMissingPack, name)
	wantProblem(t, rep.Errors, checker.ErrTree, "in snapshot")
}

func TestUnreferencedPackIsAWarning(t *testing.T) {
	st, r := fixture(t)
	w := pack.NewWriter(nil)
	plain := []byte("orphan")
	id := r.Key().BlobID(plain)
	w.Add(pack.DataBlob, id, r.Key().Seal(nil, plain, id[:]), uint32(len(plain)), false)
	data, packID, _ := w.Finish(r.Key())
	if err := st.Put(context.Background(), repo.PackName(packID), bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	rep, err := check(t, r, checker.Options{ReadData: true})
	if err != nil {
		t.Fatalf("Check = %v, want no error; errors:\n%s", err, describe(rep.Errors))
	}
	wantProblem(t, rep.Warnings, checker.ErrUnreferencedPack, packID.String())
}

func TestPackSizeMismatch(t *testing.T) {
	st, r := fixture(t)
	name := packOfType(t, r, pack.DataBlob)
	rewrite(t, st, name, func(b []byte) []byte { return b[1:] })
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrPackSize, name)
}

func TestFlippedBitNeedsReadData(t *testing.T) {
	st, r := fixture(t)
	name := packOfType(t, r, pack.DataBlob)
	rewrite(t, st, name, flipByte(100)) // inside the first blob
	if rep, err := check(t, r, checker.Options{}); err != nil {
		t.Fatalf("Check without ReadData = %v, want nil (only headers are read):\n%s", err, describe(rep.Errors))
	}
	rep, err := check(t, r, checker.Options{ReadData: true})
	if !errors.Is(err, checker.ErrBroken) {
		t.Fatalf("Check with ReadData = %v, want ErrBroken", err)
	}
	wantProblem(t, rep.Errors, checker.ErrPackHash, name)
	wantProblem(t, rep.Errors, checker.ErrBlob, "data blob")
}

func TestFlippedHeaderBit(t *testing.T) {
	st, r := fixture(t)
	name := packOfType(t, r, pack.DataBlob)
	rewrite(t, st, name, func(b []byte) []byte { b[len(b)-10] ^= 0x80; return b })
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrPackHeader, name)
}

func TestCorruptIndexFile(t *testing.T) {
	st, r := fixture(t)
	idx := names(t, st, "index/")[0]
	rewrite(t, st, idx, flipByte(40))
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrIndexFile, idx)
}

func TestIndexLacksBlobOfHeader(t *testing.T) {
	st, r := fixture(t)
	var victim oid.ID
	replaceIndex(t, st, r, func(f *index.File) {
		for i := range f.Packs {
			if len(f.Packs[i].Blobs) > 1 && f.Packs[i].Blobs[0].Type == pack.DataBlob {
				victim = f.Packs[i].ID
				f.Packs[i].Blobs = f.Packs[i].Blobs[1:]
				return
			}
		}
	})
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrHeaderMismatch, victim.String())
	wantProblem(t, rep.Errors, checker.ErrMissingBlob, "chunk 0 of ")
}

func TestOverlappingBlobsInIndexFile(t *testing.T) {
	st, r := fixture(t)
	replaceIndex(t, st, r, func(f *index.File) {
		f.Packs[0].Blobs[1].Offset -= 10
	})
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrIndexFile, "overlaps")
}

// lenientIndex hands the checker index files changed after decoding, to
// reach the checks that a validating decoder would otherwise pre-empt.
type lenientIndex struct {
	*repo.Repository
	change func(*index.File)
	mu     sync.Mutex // Check loads index files concurrently
}

func (l *lenientIndex) LoadIndexFile(ctx context.Context, id oid.ID) (*index.File, error) {
	f, err := l.Repository.LoadIndexFile(ctx, id)
	if err == nil {
		l.mu.Lock()
		l.change(f)
		l.mu.Unlock()
	}
	return f, err
}

func TestOverlappingBlobs(t *testing.T) {
	_, r := fixture(t)
	var victim oid.ID
	rep, _ := check(t, &lenientIndex{Repository: r, change: func(f *index.File) {
		for i := range f.Packs {
			if b := f.Packs[i].Blobs; len(b) > 1 && victim.IsNull() {
				victim = f.Packs[i].ID
				b[1].Offset -= 10
			}
		}
	}}, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrOverlap, victim.String())
	wantProblem(t, rep.Errors, checker.ErrHeaderMismatch, victim.String())
}

func TestBlobBeyondPackEnd(t *testing.T) {
	_, r := fixture(t)
	var victim oid.ID
	rep, _ := check(t, &lenientIndex{Repository: r, change: func(f *index.File) {
		if victim.IsNull() {
			victim = f.Packs[0].ID
			f.Packs[0].Blobs[len(f.Packs[0].Blobs)-1].Length += 1 << 20
		}
	}}, checker.Options{ReadData: true})
	wantProblem(t, rep.Errors, checker.ErrOverlap, "beyond")
	wantProblem(t, rep.Errors, checker.ErrHeaderMismatch, victim.String())
}

func TestIndexFilesDisagree(t *testing.T) {
	_, r := fixture(t)
	ctx := context.Background()
	ids, _ := r.List(ctx, repo.KindIndex)
	f, err := r.LoadIndexFile(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	f.Packs = f.Packs[:1]
	f.Packs[0].Size++
	if _, err := r.SaveIndexFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrIndexConflict, f.Packs[0].ID.String())
}

func TestSupersededIndexIsAWarning(t *testing.T) {
	_, r := fixture(t)
	ctx := context.Background()
	ids, _ := r.List(ctx, repo.KindIndex)
	merged := &index.File{Supersedes: ids[:1]}
	for _, id := range ids {
		f, _ := r.LoadIndexFile(ctx, id)
		merged.Packs = append(merged.Packs, f.Packs...)
	}
	if _, err := r.SaveIndexFile(ctx, merged); err != nil {
		t.Fatal(err)
	}
	rep, err := check(t, r, checker.Options{ReadData: true})
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, describe(rep.Errors))
	}
	wantProblem(t, rep.Warnings, checker.ErrSuperseded, ids[0].String())
}

// A superseded index file may list packs that are gone on purpose (dropped
// as lost): check reads the file and warns, but does not check its packs.
func TestSupersededIndexPacksAreNotChecked(t *testing.T) {
	_, r := fixture(t)
	ctx := context.Background()
	ghost := index.PackEntry{ID: oid.Hash([]byte("lost pack")), Size: pack.MinSize}
	old, err := r.SaveIndexFile(ctx, &index.File{Packs: []index.PackEntry{ghost}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.SaveIndexFile(ctx, &index.File{Supersedes: []oid.ID{old}}); err != nil {
		t.Fatal(err)
	}
	rep, err := check(t, r, checker.Options{ReadData: true})
	if err != nil {
		t.Fatalf("Check = %v:\n%s", err, describe(rep.Errors))
	}
	wantProblem(t, rep.Warnings, checker.ErrSuperseded, old.String())
}

func TestMissingChunkAndTree(t *testing.T) {
	_, r := fixture(t)
	ctx := context.Background()
	ghost := oid.Hash([]byte("ghost chunk"))
	ghostTree := oid.Hash([]byte("ghost tree"))
	tree := &snapshot.Tree{Nodes: []snapshot.Node{
		{Name: "dir", Type: snapshot.TypeDir, Subtree: &ghostTree},
		{Name: "file", Type: snapshot.TypeFile, Content: []oid.ID{ghost}},
	}}
	id, err := r.SaveTree(ctx, tree)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := &snapshot.Snapshot{Time: t0, Hostname: "h", Paths: []string{"/x"}, Tree: id}
	if _, err := r.SaveSnapshot(ctx, s); err != nil {
		t.Fatal(err)
	}
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrMissingBlob, "data blob "+ghost.Short()+" (chunk 0 of /file)")
	wantProblem(t, rep.Errors, checker.ErrMissingBlob, "tree "+ghostTree.Short()+" in snapshot "+s.ID.Short()+" at /dir")
	if len(rep.Errors) != 2 {
		t.Errorf("errors:\n%s", describe(rep.Errors))
	}
}

func TestUnreadableSnapshot(t *testing.T) {
	st, r := fixture(t)
	junk := []byte("not a sealed snapshot")
	name := "snapshots/" + oid.Hash(junk).String()
	if err := st.Put(context.Background(), name, bytes.NewReader(junk), int64(len(junk))); err != nil {
		t.Fatal(err)
	}
	rep, _ := check(t, r, checker.Options{})
	wantProblem(t, rep.Errors, checker.ErrSnapshot, oid.Hash(junk).String())
	if rep.Snapshots != 3 {
		t.Errorf("Snapshots = %d, want 3", rep.Snapshots)
	}
}

func TestReadDataSubsetIsDeterministic(t *testing.T) {
	_, r := fixture(t)
	full, _ := check(t, r, checker.Options{ReadData: true})
	var read []int
	for range 2 {
		rep, err := check(t, r, checker.Options{ReadDataSubset: 0.3, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, rep.PacksRead)
	}
	want := (full.Packs*3 + 9) / 10
	if read[0] != want || read[1] != want {
		t.Errorf("PacksRead = %v, want %d of %d twice", read, want, full.Packs)
	}
}

func TestSubsetChoiceDependsOnSeed(t *testing.T) {
	st, r := fixture(t)
	name := packOfType(t, r, pack.DataBlob)
	rewrite(t, st, name, flipByte(50))
	found := func(seed uint64) bool {
		rep, _ := check(t, r, checker.Options{ReadDataSubset: 0.5, Seed: seed})
		return len(rep.Errors) > 0
	}
	var hits, misses int
	for seed := range uint64(30) { // both outcomes are certain but for 2^-30
		first := found(seed)
		if found(seed) != first {
			t.Fatalf("seed %d: result differs between runs", seed)
		}
		if first {
			hits++
		} else {
			misses++
		}
	}
	if hits == 0 || misses == 0 {
		t.Errorf("hits %d, misses %d: want both over 30 seeds", hits, misses)
	}
}

func TestCancelled(t *testing.T) {
	_, r := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := checker.Check(ctx, r, checker.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Check(cancelled) = %v, want context.Canceled", err)
	}
}
