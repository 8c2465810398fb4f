package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func addSeeds(f *testing.F, glob string, extra ...string) {
	files, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// FuzzDecodeTree checks that DecodeTree never panics and that whatever it
// accepts re-encodes canonically: decode(encode(t)) == t and encoding is stable.
func FuzzDecodeTree(f *testing.F) {
	addSeeds(f, "tree*.json", `{"nodes":[]}`,
		`{"nodes":[{"name_raw":"/w==","type":"symlink","link_target_raw":"/v8=","mtime":"2024-01-01T00:00:00+01:00"}]}`,
		`{"nodes":[{"name":"d","type":"dir","subtree":"`+testID("x").String()+`"}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := DecodeTree(data)
		if err != nil {
			return
		}
		enc, err := EncodeTree(tr)
		if err != nil {
			t.Fatalf("EncodeTree of a decoded tree: %v", err)
		}
		tr2, err := DecodeTree(enc)
		if err != nil {
			t.Fatalf("DecodeTree(%s): %v", enc, err)
		}
		if diff := cmp.Diff(tr, tr2); diff != "" {
			t.Fatalf("round trip differs (-first +second):\n%s", diff)
		}
		enc2, err := EncodeTree(tr2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s (%v)", enc, enc2, err)
		}
	})
}

// FuzzParseSnapshot checks that ParseSnapshot never panics and that accepted
// snapshots marshal to bytes that parse back to the same snapshot.
func FuzzParseSnapshot(f *testing.F) {
	addSeeds(f, "snapshot*.json",
		`{"time":"2024-01-01T00:00:00+02:00","hostname":"h","paths":["/"],"tree":"`+testID("x").String()+`"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSnapshot(data)
		if err != nil {
			return
		}
		enc, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed snapshot: %v", err)
		}
		s2, err := ParseSnapshot(enc)
		if err != nil {
			t.Fatalf("ParseSnapshot(%s): %v", enc, err)
		}
		enc2, err := s2.Marshal()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("marshal not stable:\n%s\n%s (%v)", enc, enc2, err)
		}
	})
}
