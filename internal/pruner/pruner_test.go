package pruner_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/checker"
	"github.com/seedship/seedship/internal/checker/checkertest"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/pruner"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/mem"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// world is a repository after a forget: the snapshots that remain and
// the files each must restore to.
type world struct {
	st   *mem.Store
	keep map[string]checkertest.Files // snapshot ID -> files
}

// newWorld builds four snapshots that share files, then forgets two, so
// that some packs are fully unused, some partly and some fully used.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st := mem.New()
	r := checkertest.Init(t, st)
	rng := rand.New(rand.NewPCG(3, 4))
	shared := checkertest.RandomFiles(rng, "s", 8, 3000)
	sets := []checkertest.Files{
		checkertest.RandomFiles(rng, "a", 6, 4000),
		checkertest.RandomFiles(rng, "b", 6, 4000),
		checkertest.RandomFiles(rng, "c", 6, 4000),
		checkertest.RandomFiles(rng, "d", 3, 4000),
	}
	w := &world{st: st, keep: map[string]checkertest.Files{}}
	for i, files := range sets {
		for k, v := range shared {
			if i%2 == 0 || len(k)%2 == 0 {
				files[k] = v
			}
		}
		s := checkertest.AddSnapshot(t, r, "h", t0.Add(time.Duration(i)*time.Hour), files)
		if i == 0 || i == 2 {
			if err := r.DeleteSnapshot(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w.keep[s.ID.String()] = files
	}
	return w
}

// clone copies every object of src into a new store.
func clone(t *testing.T, src store.Store) *mem.Store {
	t.Helper()
	ctx := context.Background()
	dst := mem.New()
	err := src.List(ctx, "", func(fi store.Info) error {
		b, err := store.ReadAll(ctx, src, fi.Name)
		if err != nil {
			return err
		}
		return dst.Put(ctx, fi.Name, bytes.NewReader(b), int64(len(b)))
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// verify checks every invariant and restores every remaining snapshot.
func (w *world) verify(t *testing.T, st store.Store) *checker.Report {
	t.Helper()
	rep := checkertest.MustCheck(t, st)
	r := checkertest.Open(t, st)
	snaps, err := r.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != len(w.keep) {
		t.Fatalf("%d snapshots, want %d", len(snaps), len(w.keep))
	}
	for _, s := range snaps {
		if ok, diff := checkertest.Equal(checkertest.Restore(t, r, s), w.keep[s.ID.String()]); !ok {
			t.Fatalf("snapshot %s: %s", s.ID.Short(), diff)
		}
	}
	return rep
}

func prune(t *testing.T, st store.Store, o pruner.Options) (*pruner.Stats, error) {
	t.Helper()
	ctx := context.Background()
	r, err := repo.Open(ctx, st, []byte(checkertest.Password), repo.Options{PackSize: checkertest.PackSize})
	if err != nil {
		t.Fatal(err)
	}
	return pruner.Prune(ctx, r, o)
}

func objects(t *testing.T, st store.Store) []string {
	t.Helper()
	var out []string
	if err := st.List(context.Background(), "", func(fi store.Info) error {
		out = append(out, fi.Name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestPruneRepacksEverything(t *testing.T) {
	w := newWorld(t)
	stats, err := prune(t, w.st, pruner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.PacksRemoved == 0 || stats.PacksRepacked == 0 || stats.BlobsRepacked == 0 || stats.BytesFreed <= 0 {
		t.Errorf("stats = %+v: want removed and repacked packs", stats)
	}
	if stats.IndexFilesRemoved == 0 || len(stats.NewIndexFiles) != 1 {
		t.Errorf("stats = %+v: want old index files replaced by one", stats)
	}
	rep := w.verify(t, w.st)
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings after prune: %v", rep.Warnings)
	}
	// Nothing unused is left: every indexed blob belongs to a snapshot.
	again, err := prune(t, w.st, pruner.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.UnusedBytes != 0 || again.PacksRemoved+again.PacksRepacked+again.PacksUnreferenced != 0 {
		t.Errorf("second prune plan = %+v, want nothing to do", again)
	}
}

func TestPruneTwiceIsANoOp(t *testing.T) {
	w := newWorld(t)
	if _, err := prune(t, w.st, pruner.Options{MaxUnusedPercent: pruner.DefaultMaxUnusedPercent}); err != nil {
		t.Fatal(err)
	}
	before := objects(t, w.st)
	stats, err := prune(t, w.st, pruner.Options{MaxUnusedPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if after := objects(t, w.st); !slices.Equal(before, after) || len(stats.NewIndexFiles) != 0 {
		t.Errorf("second prune changed the store (stats %+v)", stats)
	}
}

func TestPruneToleratesUnused(t *testing.T) {
	w := newWorld(t)
	stats, err := prune(t, w.st, pruner.Options{MaxUnusedPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if stats.PacksRepacked != 0 || stats.PacksRemoved == 0 || stats.UnusedBytes == 0 {
		t.Errorf("stats = %+v: want fully unused packs removed, none repacked", stats)
	}
	w.verify(t, w.st)
}

func TestPruneDryRunChangesNothing(t *testing.T) {
	w := newWorld(t)
	before := objects(t, w.st)
	stats, err := prune(t, w.st, pruner.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if stats.PacksRemoved == 0 || stats.PacksRepacked == 0 {
		t.Errorf("dry-run stats = %+v: want a plan", stats)
	}
	if after := objects(t, w.st); !slices.Equal(before, after) {
		t.Errorf("dry run changed the store")
	}
}

func TestPruneDeletesUnreferencedPacks(t *testing.T) {
	w := newWorld(t)
	r := checkertest.Open(t, w.st)
	wr := pack.NewWriter(nil)
	plain := []byte("left by a crashed backup")
	id := r.Key().BlobID(plain)
	wr.Add(pack.DataBlob, id, r.Key().Seal(nil, plain, id[:]), uint32(len(plain)), false)
	data, packID, _ := wr.Finish(r.Key())
	name := repo.PackName(packID)
	if err := w.st.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	stats, err := prune(t, w.st, pruner.Options{MaxUnusedPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if stats.PacksUnreferenced != 1 {
		t.Errorf("PacksUnreferenced = %d, want 1", stats.PacksUnreferenced)
	}
	if _, err := w.st.Stat(context.Background(), name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("orphan pack still there: %v", err)
	}
	w.verify(t, w.st)
}

func TestPruneRefusesIncompleteRepository(t *testing.T) {
	w := newWorld(t)
	r := checkertest.Open(t, w.st)
	snaps, err := r.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Remove a tree that a kept snapshot needs.
	e, ok := r.Index().Lookup(pack.TreeBlob, snaps[0].Tree)
	if !ok {
		t.Fatal("root tree not indexed")
	}
	if err := w.st.Delete(context.Background(), repo.PackName(e.Pack)); err != nil {
		t.Fatal(err)
	}
	before := objects(t, w.st)
	if _, err := prune(t, w.st, pruner.Options{}); !errors.Is(err, pruner.ErrIncomplete) {
		t.Errorf("Prune = %v, want ErrIncomplete", err)
	}
	if after := objects(t, w.st); !slices.Equal(before, after) {
		t.Errorf("prune of an incomplete repository changed the store")
	}
}

func TestPruneRefusesToCopyDamagedBlob(t *testing.T) {
	w := newWorld(t)
	dry, err := prune(t, w.st, pruner.Options{DryRun: true})
	if err != nil || dry.PacksRepacked == 0 {
		t.Fatalf("dry run: %v, %+v", err, dry)
	}
	// Damage every data blob: some of them are repacked.
	r := checkertest.Open(t, w.st)
	for _, name := range objects(t, w.st) {
		if len(name) > 5 && name[:5] == "data/" {
			fi, _ := w.st.Stat(context.Background(), name)
			blobs, err := pack.ReadHeader(context.Background(), w.st, name, fi.Size, r.Key())
			if err != nil {
				t.Fatal(err)
			}
			if blobs[0].Type == pack.DataBlob {
				rewriteObject(t, w.st, name, func(b []byte) {
					for _, bl := range blobs {
						b[bl.Offset+20] ^= 1
					}
				})
			}
		}
	}
	before := objects(t, w.st)
	if _, err := prune(t, w.st, pruner.Options{}); !errors.Is(err, pruner.ErrDamaged) {
		t.Fatalf("Prune = %v, want ErrDamaged", err)
	}
	for _, name := range before {
		if _, err := w.st.Stat(context.Background(), name); err != nil {
			t.Errorf("%s was deleted: %v", name, err)
		}
	}
}

func rewriteObject(t *testing.T, st store.Store, name string, change func([]byte)) {
	t.Helper()
	ctx := context.Background()
	b, err := store.ReadAll(ctx, st, name)
	if err != nil {
		t.Fatal(err)
	}
	change(b)
	if err := st.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, name, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

func TestPruneAllSnapshotsForgotten(t *testing.T) {
	w := newWorld(t)
	r := checkertest.Open(t, w.st)
	snaps, _ := r.Snapshots(context.Background())
	for _, s := range snaps {
		if err := r.DeleteSnapshot(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
	}
	w.keep = map[string]checkertest.Files{}
	if _, err := prune(t, w.st, pruner.Options{}); err != nil {
		t.Fatal(err)
	}
	w.verify(t, w.st)
	var left []string
	for _, name := range objects(t, w.st) {
		if name[:5] == "data/" {
			left = append(left, name)
		}
	}
	if len(left) != 0 {
		t.Errorf("packs left: %v", left)
	}
}

func TestProgress(t *testing.T) {
	w := newWorld(t)
	seen := map[string]bool{}
	_, err := prune(t, w.st, pruner.Options{Progress: func(p pruner.Progress) { seen[p.Phase] = true }})
	if err != nil {
		t.Fatal(err)
	}
	for _, phase := range []string{"index", "trees", "repack", "delete index", "delete packs"} {
		if !seen[phase] {
			t.Errorf("no progress for phase %q (saw %v)", phase, seen)
		}
	}
}

// A pack that arrived damaged (truncated) is dropped from the index as lost.
// The superseded index file still lists it, but prune reads only the files
// no present file supersedes: it refuses to run until a backup has stored
// the lost chunks again, then deletes the damaged pack.
func TestPruneAfterDropPacks(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	r := checkertest.Open(t, w.st)
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := r.LoadTree(ctx, snaps[0].Tree)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(root.Nodes, func(n snapshot.Node) bool { return len(n.Content) > 0 })
	e, ok := r.Index().Lookup(pack.DataBlob, root.Nodes[i].Content[0])
	if !ok {
		t.Fatal("chunk not indexed")
	}
	name := repo.PackName(e.Pack)
	b, _ := store.ReadAll(ctx, w.st, name)
	if err := w.st.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := w.st.Put(ctx, name, bytes.NewReader(b[:len(b)/2]), int64(len(b)/2)); err != nil {
		t.Fatal(err)
	}

	missing, err := r.MissingPacks(ctx)
	if err != nil || !slices.Equal(missing, []oid.ID{e.Pack}) {
		t.Fatalf("MissingPacks = %v, %v; want [%s]", missing, err, e.Pack.Short())
	}
	if err := r.DropPacks(ctx, missing); err != nil {
		t.Fatal(err)
	}
	before := objects(t, w.st)
	if _, err := prune(t, w.st, pruner.Options{}); !errors.Is(err, pruner.ErrIncomplete) {
		t.Errorf("Prune before the chunks are stored again = %v, want ErrIncomplete", err)
	}
	if after := objects(t, w.st); !slices.Equal(before, after) {
		t.Errorf("prune of an incomplete repository changed the store")
	}
	for _, files := range maps.Clone(w.keep) { // the next backups of the same files
		s := checkertest.AddSnapshot(t, r, "h", t0.Add(10*time.Hour), files)
		w.keep[s.ID.String()] = files
	}
	if _, err := prune(t, w.st, pruner.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.Stat(ctx, name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("damaged pack %s still there after prune: %v", e.Pack.Short(), err)
	}
	w.verify(t, w.st)
}
