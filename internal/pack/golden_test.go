package pack

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seedship/seedship/internal/oid"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenPack = "testdata/pack-v1.golden"

// goldenBlobs is what the golden pack must contain: three blobs written by
// goldenWriter, with their offsets spelled out to pin the layout.
func goldenBlobs() []Blob {
	return []Blob{
		{Type: DataBlob, ID: oid.Hash([]byte("hello, seedship")), Offset: 0, Length: 15 + Overhead, RawLength: 15},
		{Type: TreeBlob, ID: oid.Hash([]byte(`{"nodes":[]}`)), Offset: 43, Length: 12 + Overhead, RawLength: 12, Compressed: true},
		{Type: DataBlob, ID: oid.Hash(nil), Offset: 83, Length: Overhead, RawLength: 0},
	}
}

// goldenPackBytes writes the golden pack with the deterministic test sealer.
// The tree blob is flagged compressed (its content is not really zstd) so
// that the flag bit is pinned too.
func goldenPackBytes(t testing.TB) []byte {
	s := newTestSealer(t)
	w := NewWriter(nil)
	for i, p := range []string{"hello, seedship", `{"nodes":[]}`, ""} {
		id := oid.Hash([]byte(p))
		w.Add(BlobType(i%2), id, s.Seal(nil, []byte(p), id[:]), uint32(len(p)), i == 1)
	}
	data, _, _ := w.Finish(s)
	return data
}

func TestGoldenPack(t *testing.T) {
	data := goldenPackBytes(t)
	if *update {
		if err := os.WriteFile(goldenPack, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(goldenPack)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(data, golden) {
		t.Errorf("Writer output differs from %s: the pack format changed", goldenPack)
	}
	s := newTestSealer(t)
	name := filepath.Base(goldenPack)
	g := &memGetter{files: map[string][]byte{name: golden}}
	got, err := ReadHeader(context.Background(), g, name, int64(len(golden)), s)
	if err != nil {
		t.Fatalf("ReadHeader(golden): %v", err)
	}
	if diff := cmp.Diff(goldenBlobs(), got); diff != "" {
		t.Errorf("golden blobs differ (-want +got):\n%s", diff)
	}
}
