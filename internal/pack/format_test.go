package pack

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seedship/seedship/internal/oid"
)

func sampleBlobs() []Blob {
	return []Blob{
		{Type: DataBlob, ID: oid.Hash([]byte("a")), Offset: 0, Length: 128, RawLength: 100},
		{Type: TreeBlob, ID: oid.Hash([]byte("b")), Offset: 128, Length: 50, RawLength: 300, Compressed: true},
		{Type: DataBlob, ID: oid.Hash([]byte("c")), Offset: 178, Length: Overhead, RawLength: 0},
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	want := sampleBlobs()
	h := EncodeHeader(want)
	if len(h) != VersionSize+EntrySize*len(want) {
		t.Fatalf("EncodeHeader length = %d, want %d", len(h), VersionSize+EntrySize*len(want))
	}
	got, err := DecodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeHeader(EncodeHeader(b)) differs (-want +got):\n%s", diff)
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	valid := EncodeHeader(sampleBlobs())
	entry := func(h []byte, i int) []byte { return h[VersionSize+i*EntrySize:] }
	for _, tc := range []struct {
		name   string
		mutate func(h []byte) []byte
		want   string
	}{
		{"empty", func(h []byte) []byte { return nil }, "empty header"},
		{"version 0", func(h []byte) []byte { h[0] = 0; return h }, "unsupported header version 0"},
		{"version 2", func(h []byte) []byte { h[0] = 2; return h }, "unsupported header version 2"},
		{"partial entry", func(h []byte) []byte { return h[:len(h)-1] }, "is not 1 + 42*n"},
		{"extra byte", func(h []byte) []byte { return append(h, 0) }, "is not 1 + 42*n"},
		{"type 2", func(h []byte) []byte { entry(h, 1)[entryType] = 2; return h }, "entry 1: blob 3e23e816: unknown type 2"},
		{"type 255", func(h []byte) []byte { entry(h, 0)[entryType] = 255; return h }, "unknown type 255"},
		{"flag bit 1", func(h []byte) []byte { entry(h, 0)[entryFlags] = 2; return h }, "unknown flags 0x02"},
		{"flag bit 7", func(h []byte) []byte { entry(h, 2)[entryFlags] = 0x81; return h }, "entry 2: blob 2e7d2c03: unknown flags 0x81"},
		{"length 0", func(h []byte) []byte { put32(entry(h, 0)[entryLength:], 0); return h }, "length 0 is below the sealing overhead 28"},
		{"length 27", func(h []byte) []byte { put32(entry(h, 2)[entryLength:], 27); return h }, "length 27 is below"},
		{"rawLength", func(h []byte) []byte { put32(entry(h, 1)[entryRawLength:], MaxRawLength+1); return h }, "raw length 67108865 exceeds the limit 67108864"},
		{"beyond 4 GiB", func(h []byte) []byte {
			put32(entry(h, 0)[entryLength:], 1<<31)
			put32(entry(h, 1)[entryLength:], 1<<31)
			return h
		}, "entry 1: blob 3e23e816 ends at 4294967296, beyond 4 GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.mutate(append([]byte(nil), valid...))
			_, err := DecodeHeader(h)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeHeader = %v, want ErrFormat containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeHeaderLimits(t *testing.T) {
	b := sampleBlobs()
	b[0].RawLength = MaxRawLength
	b[1].Length = 1<<32 - 1 - 128 - Overhead
	if _, err := DecodeHeader(EncodeHeader(b)); err != nil {
		t.Errorf("DecodeHeader at the limits: %v", err)
	}
}

func put32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }

func TestParseTrailer(t *testing.T) {
	trailer := func(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
	for _, tc := range []struct {
		tail []byte
		size int64
		want string // "" = valid
	}{
		{trailer(29), 33, ""},
		{trailer(29 + 42), 33 + 42 + 28, ""},
		{trailer(29), 32, "file size 32 is below the minimum pack size 33"},
		{trailer(29)[:3], 100, "trailer is 3 bytes, want 4"},
		{trailer(99999), 123, "header length 99999 exceeds file size 123"},
		{trailer(1<<32 - 1), 1 << 40, "header length 4294967295 is not 29 + 42*n"},
		{trailer(28), 100, "header length 28 is below the minimum 29"},
		{trailer(30), 100, "header length 30 is not 29 + 42*n"},
		{trailer(29 + 42*2), 33 + 84 + 55, "header lists 2 blobs but only 55 bytes precede it"},
	} {
		_, err := ParseTrailer(tc.tail, tc.size)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ParseTrailer(%x, %d) = %v, want nil", tc.tail, tc.size, err)
		case tc.want != "" && (!errors.Is(err, ErrFormat) || err.Error() != tc.want):
			t.Errorf("ParseTrailer(%x, %d) = %v, want ErrFormat %q", tc.tail, tc.size, err, tc.want)
		}
	}
}
