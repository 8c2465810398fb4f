package crashtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/store/faulty"
)

// TestReuseAfterFailedUpload keeps using one Repository after a pack upload
// failed, as a long-running agent does between scheduled backups. Every
// blob that was in the lost pack must be stored again when saved again;
// none may be taken as already stored.
func TestReuseAfterFailedUpload(t *testing.T) {
	ctx := context.Background()
	inner := newRepo(t)
	st := faulty.New(inner, faulty.WithRules(faulty.Rule{Op: faulty.OpPut, Prefix: "data/", Nth: 1, Effect: faulty.Fail}))
	o := options()
	o.PackSize = 4 << 10
	r, err := repo.Open(ctx, st, []byte(password), o)
	if err != nil {
		t.Fatal(err)
	}
	small, big := []byte("a small blob that waits in the open pack"), make([]byte, 8<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32()) // incompressible: it fills the pack
	}
	if _, _, err := r.SaveBlob(ctx, pack.DataBlob, small); err != nil {
		t.Fatal(err)
	}
	// The big blob fills the pack, whose upload (in the background) fails:
	// both blobs are lost, and the fault is reported by SaveBlob or, at the
	// latest, by Flush.
	_, _, err = r.SaveBlob(ctx, pack.DataBlob, big)
	if err == nil {
		err = r.Flush(ctx)
	}
	if !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("saving the blob that fills the pack and flushing = %v, want the injected fault", err)
	}
	for _, b := range [][]byte{small, big} {
		if _, _, err := r.SaveBlob(ctx, pack.DataBlob, b); err != nil {
			t.Fatalf("SaveBlob again: %v", err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r2 := open(t, inner)
	for _, b := range [][]byte{small, big} {
		id := r2.Key().BlobID(b)
		if _, err := r2.LoadBlob(ctx, pack.DataBlob, id, nil); err != nil {
			t.Errorf("blob %s (%d bytes) saved again after the failed upload is not in the repository: %v", id.Short(), len(b), err)
		}
	}
}
