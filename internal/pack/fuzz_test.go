package pack

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzDecodeHeader checks that DecodeHeader never panics, fails only with
// ErrFormat, and that the encoding is canonical: whatever decodes encodes
// back to the same bytes and decodes to the same blobs.
func FuzzDecodeHeader(f *testing.F) {
	f.Add(EncodeHeader(nil))
	f.Add(EncodeHeader(sampleBlobs()))
	f.Add(EncodeHeader(goldenBlobs()))
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, plain []byte) {
		blobs, err := DecodeHeader(plain)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("DecodeHeader error %v does not wrap ErrFormat", err)
			}
			return
		}
		enc := EncodeHeader(blobs)
		if !bytes.Equal(enc, plain) {
			t.Fatalf("EncodeHeader(DecodeHeader(x)) != x:\n%x\n%x", enc, plain)
		}
		again, err := DecodeHeader(enc)
		if err != nil {
			t.Fatalf("DecodeHeader(EncodeHeader(blobs)): %v", err)
		}
		if diff := cmp.Diff(blobs, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip differs:\n%s", diff)
		}
	})
}

// FuzzDecodePack feeds whole pack files through DecodePack and ReadHeader
// with a sealer that does not authenticate, so that the trailer and layout
// checks are reached: both must agree, never panic, and accept only files
// whose blobs fill the space before the header.
func FuzzDecodePack(f *testing.F) {
	for _, n := range []int{0, 1, 3, 70} {
		data, _, _ := buildPack(f, nullSealer{}, n)
		f.Add(data)
	}
	if golden, err := os.ReadFile(goldenPack); err == nil {
		f.Add(golden)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		blobs, err := DecodePack(data, nullSealer{})
		g := &memGetter{files: map[string][]byte{"p": data}}
		blobs2, err2 := ReadHeader(context.Background(), g, "p", int64(len(data)), nullSealer{})
		if (err == nil) != (err2 == nil) || !cmp.Equal(blobs, blobs2) {
			t.Fatalf("DecodePack = %v, %v; ReadHeader = %v, %v", blobs, err, blobs2, err2)
		}
		if err != nil {
			if !isFormatOrAuth(err) || !isFormatOrAuth(err2) {
				t.Fatalf("unexpected errors %v, %v", err, err2)
			}
			return
		}
		var end uint64
		for _, b := range blobs {
			if uint64(b.Offset) != end {
				t.Fatalf("blob %s at %d, want %d", b.ID.Short(), b.Offset, end)
			}
			end = b.End()
		}
		if want := uint64(len(data)) - uint64(MinHeaderSize+EntrySize*len(blobs)+TrailerSize); end != want {
			t.Fatalf("blobs end at %d, header starts at %d", end, want)
		}
	})
}
