package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const goldenFile = "testdata/index-v1.golden"

// sampleFile is a small index file with every feature: superseded files,
// an empty pack, both blob types, the compressed flag, a gap between blobs.
func sampleFile() *File {
	h := func(s string) oid.ID { return oid.Hash([]byte(s)) }
	return &File{
		Supersedes: []oid.ID{h("old index 1"), h("old index 2")},
		Packs: []PackEntry{
			{ID: h("pack 1"), Size: 100 + 40 + pack.MinSize + 2*pack.EntrySize, Blobs: []pack.Blob{
				{Type: pack.DataBlob, ID: h("blob a"), Offset: 0, Length: 100, RawLength: 72},
				{Type: pack.TreeBlob, ID: h("blob b"), Offset: 100, Length: 40, RawLength: 200, Compressed: true},
			}},
			{ID: h("empty pack"), Size: pack.MinSize},
			{ID: h("pack 2"), Size: 1 << 20, Blobs: []pack.Blob{
				{Type: pack.DataBlob, ID: h("blob c"), Offset: 5000, Length: 28, RawLength: 0},
			}},
		},
	}
}

func TestFileRoundTrip(t *testing.T) {
	for _, f := range []*File{{}, sampleFile()} {
		got, err := DecodeFile(f.Encode())
		if err != nil {
			t.Fatalf("DecodeFile: %v", err)
		}
		if diff := cmp.Diff(f, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip differs (-want +got):\n%s", diff)
		}
	}
}

func TestGoldenFile(t *testing.T) {
	enc := sampleFile().Encode()
	if *update {
		if err := os.WriteFile(goldenFile, enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(enc, golden) {
		t.Errorf("Encode output differs from %s: the index file format changed", goldenFile)
	}
	f, err := DecodeFile(golden)
	if err != nil {
		t.Fatalf("DecodeFile(golden): %v", err)
	}
	if diff := cmp.Diff(sampleFile(), f, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("golden file decodes differently (-want +got):\n%s", diff)
	}
}

func TestDecodeFileErrors(t *testing.T) {
	valid := sampleFile().Encode()
	// Offsets into valid: header 5, supersedes 1+64, packs count 1, pack 1 at 71.
	const pack1 = 5 + 1 + 2*oid.Size + 1
	const blob0 = pack1 + oid.Size + 8 + 1
	uvarint := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, `missing magic "SSIX"`},
		{"bad magic", []byte("SSIY\x01\x00\x00"), `missing magic`},
		{"version 2", []byte("SSIX\x02\x00\x00"), "unsupported version 2"},
		{"no counts", []byte("SSIX\x01"), "bad count of superseded files"},
		{"huge supersedes", append([]byte("SSIX\x01"), uvarint(1<<62)...), "4611686018427387904 superseded files do not fit in the remaining 0 bytes"},
		{"huge packs", append([]byte("SSIX\x01\x00"), uvarint(1<<40)...), "packs do not fit"},
		{"varint overflow", []byte("SSIX\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), "bad count of superseded files"},
		{"non-minimal varint", []byte("SSIX\x01\x80\x00\x00"), "count of superseded files is not minimally encoded"},
		{"trailing byte", append(append([]byte(nil), valid...), 0), "1 bytes of trailing data"},
		{"truncated", valid[:len(valid)-1], "blobs do not fit"},
		{"pack size small", patch(valid, pack1+oid.Size, le64(32)), "size 32 is out of range"},
		{"pack size negative", patch(valid, pack1+oid.Size, le64(1<<63)), "size 9223372036854775808 is out of range"},
		{"pack too small for blobs", patch(valid, pack1+oid.Size, le64(100+40+pack.MinSize+2*pack.EntrySize-1)), "blobs end at 140, leaving no room for the header in 256 bytes"},
		{"blob count", patch(valid, blob0-1, []byte{100}), "100 blobs do not fit"},
		{"blob type", patch(valid, blob0, []byte{7}), "index file: pack be955617: entry 0: blob 6cd268c7: unknown type 7"},
		{"blob flags", patch(valid, blob0+1, []byte{4}), "unknown flags 0x04"},
		{"blob length", patch(valid, blob0+2, le32(3)), "length 3 is below the sealing overhead 28"},
		{"overlap", patch(valid, blob0+46+42, le32(99)), "blob 1 at 99 overlaps the previous one, which ends at 100"},
		{"duplicate pack", dupPack(), "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFile(tc.in)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeFile = %v, want ErrFormat containing %q", err, tc.want)
			}
		})
	}
}

func patch(b []byte, at int, with []byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[at:], with)
	return c
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func dupPack() []byte {
	f := sampleFile()
	f.Packs = append(f.Packs, f.Packs[1])
	return f.Encode()
}

// TestDecodeFileSmallInputSmallAllocation feeds inputs whose counts claim
// huge numbers of items and checks that nothing big is allocated.
func TestDecodeFileSmallInputSmallAllocation(t *testing.T) {
	for _, in := range [][]byte{
		[]byte("SSIX\x01\xff\xff\xff\xff\x0f"),
		[]byte("SSIX\x01\x00\xff\xff\xff\xff\x0f"),
		append(append([]byte("SSIX\x01\x00\x01"), make([]byte, 40)...), 0xff, 0xff, 0xff, 0xff, 0x0f),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeFile(in)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("DecodeFile(%x) succeeded", in)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("DecodeFile(%x) allocated %d bytes", in, n)
		}
	}
}

// FuzzDecodeFile checks that DecodeFile never panics, fails only with
// ErrFormat, and that the encoding is canonical: what decodes encodes back
// to the same bytes.
func FuzzDecodeFile(f *testing.F) {
	f.Add((&File{}).Encode())
	f.Add(sampleFile().Encode())
	f.Add(dupPack())
	if golden, err := os.ReadFile(goldenFile); err == nil {
		f.Add(golden)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := DecodeFile(in)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("DecodeFile error %v does not wrap ErrFormat", err)
			}
			return
		}
		enc := file.Encode()
		if !bytes.Equal(enc, in) {
			t.Fatalf("Encode(DecodeFile(x)) != x:\n%x\n%x", enc, in)
		}
		again, err := DecodeFile(enc)
		if err != nil {
			t.Fatalf("DecodeFile(Encode(f)): %v", err)
		}
		if diff := cmp.Diff(file, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip differs:\n%s", diff)
		}
	})
}
