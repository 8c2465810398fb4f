package pack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/seedship/seedship/internal/oid"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ blobs, gets int }{
		{0, 1}, {1, 1}, {5, 1}, {speculativeEntries, 1}, {speculativeEntries + 1, 2}, {300, 2},
	} {
		t.Run(fmt.Sprint(tc.blobs), func(t *testing.T) {
			s := newTestSealer(t)
			data, id, blobs := buildPack(t, s, tc.blobs)
			if id != oid.Hash(data) {
				t.Errorf("Finish id = %s, want sha256 of data %s", id, oid.Hash(data))
			}
			g := &memGetter{files: map[string][]byte{packName(id): data}}
			got, err := ReadHeader(context.Background(), g, packName(id), int64(len(data)), s)
			if err != nil {
				t.Fatalf("ReadHeader: %v", err)
			}
			if diff := cmp.Diff(blobs, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ReadHeader blobs differ (-want +got):\n%s", diff)
			}
			if g.gets != tc.gets {
				t.Errorf("ReadHeader made %d Gets, want %d", g.gets, tc.gets)
			}
			got, err = DecodePack(data, s)
			if err != nil {
				t.Fatalf("DecodePack: %v", err)
			}
			if diff := cmp.Diff(blobs, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("DecodePack blobs differ (-want +got):\n%s", diff)
			}
			checkBlobs(t, s, data, blobs)
		})
	}
}

// checkBlobs opens every blob at its offset with its ID as AD.
func checkBlobs(t *testing.T, s Sealer, data []byte, blobs []Blob) {
	t.Helper()
	for i, b := range blobs {
		plain, err := s.Open(nil, data[b.Offset:b.End()], b.ID[:])
		if err != nil {
			t.Errorf("blob %d: open: %v", i, err)
			continue
		}
		if uint32(len(plain)) != b.RawLength || oid.Hash(plain) != b.ID {
			t.Errorf("blob %d: got %d bytes with hash %s, want %d bytes, %s", i, len(plain), oid.Hash(plain).Short(), b.RawLength, b.ID.Short())
		}
	}
}

func TestWriterSizeAndReuse(t *testing.T) {
	s := newTestSealer(t)
	w := NewWriter(make([]byte, 0, 4096))
	if got := w.Size(); got != MinSize {
		t.Errorf("empty Size() = %d, want %d", got, MinSize)
	}
	for i := range 3 {
		id, stored := testBlob(s, i, 100)
		w.Add(DataBlob, id, stored, 100, i == 1)
	}
	size, count := w.Size(), w.Count()
	data, _, blobs := w.Finish(s)
	if size != len(data) || count != 3 || len(blobs) != 3 {
		t.Errorf("Size() = %d, Count() = %d; pack has %d bytes, %d blobs", size, count, len(data), len(blobs))
	}
	if w.Count() != 0 || w.Size() != MinSize {
		t.Errorf("after Finish Count() = %d, Size() = %d, want empty", w.Count(), w.Size())
	}
	if !blobs[1].Compressed || blobs[0].Compressed {
		t.Errorf("compressed flags = %v, %v, want false, true", blobs[0].Compressed, blobs[1].Compressed)
	}
	p := &data[0]
	w = NewWriter(data)
	id, stored := testBlob(s, 9, 10)
	w.Add(TreeBlob, id, stored, 10, false)
	data2, _, blobs2 := w.Finish(s)
	if &data2[0] != p {
		t.Error("NewWriter(data) did not reuse the buffer")
	}
	if got, err := DecodePack(data2, s); err != nil || !cmp.Equal(got, blobs2) {
		t.Errorf("DecodePack(reused) = %v, %v; want %v", got, err, blobs2)
	}
}

func TestAddPanicsOnBadBlob(t *testing.T) {
	s := newTestSealer(t)
	id, stored := testBlob(s, 1, 10)
	for name, add := range map[string]func(w *Writer){
		"type":      func(w *Writer) { w.Add(2, id, stored, 10, false) },
		"short":     func(w *Writer) { w.Add(DataBlob, id, stored[:Overhead-1], 10, false) },
		"rawLength": func(w *Writer) { w.Add(DataBlob, id, stored, MaxRawLength+1, false) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Add did not panic")
				}
			}()
			add(NewWriter(nil))
		})
	}
}

// TestCorruptPacks truncates a pack at every length and flips every byte:
// each result is an error wrapping ErrFormat or the auth error, or (for
// flips inside blob data, which the header does not cover) the same blobs.
func TestCorruptPacks(t *testing.T) {
	s := newTestSealer(t)
	data, id, blobs := buildPack(t, s, 4)
	name := packName(id)
	headerStart := int(blobs[len(blobs)-1].End())
	check := func(what string, file []byte, wantOK bool) {
		g := &memGetter{files: map[string][]byte{name: file}}
		got, err := ReadHeader(context.Background(), g, name, int64(len(file)), s)
		got2, err2 := DecodePack(file, s)
		switch {
		case wantOK && (err != nil || err2 != nil || !cmp.Equal(got, blobs) || !cmp.Equal(got2, blobs)):
			t.Errorf("%s: ReadHeader = %v, DecodePack = %v; want the original blobs", what, err, err2)
		case !wantOK && (!isFormatOrAuth(err) || !isFormatOrAuth(err2)):
			t.Errorf("%s: ReadHeader = %v, DecodePack = %v; want ErrFormat or auth error", what, err, err2)
		}
	}
	for n := 0; n < len(data); n++ {
		check(fmt.Sprintf("truncated to %d", n), data[:n], false)
	}
	for i := range data {
		c := append([]byte(nil), data...)
		c[i] ^= 0x41
		check(fmt.Sprintf("byte %d flipped", i), c, i < headerStart)
	}
}

func isFormatOrAuth(err error) bool {
	return errors.Is(err, ErrFormat) || errors.Is(err, errTestAuth)
}

func TestReadHeaderErrorMessages(t *testing.T) {
	s := newTestSealer(t)
	data, id, _ := buildPack(t, s, 2)
	name := packName(id)
	huge := binary.LittleEndian.AppendUint32(append([]byte(nil), data[:len(data)-4]...), 99999)
	for _, tc := range []struct {
		file []byte
		size int64
		want string
	}{
		{huge, int64(len(huge)), fmt.Sprintf("pack %s: header length 99999 exceeds file size %d", name, len(huge))},
		{data[:10], 10, fmt.Sprintf("pack %s: file size 10 is below the minimum pack size 33", name)},
		{data, int64(len(data)) + 1, fmt.Sprintf("pack %s: read", name)},
	} {
		g := &memGetter{files: map[string][]byte{name: tc.file}}
		_, err := ReadHeader(context.Background(), g, name, tc.size, s)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ReadHeader(size %d) = %v, want prefix %q", tc.size, err, tc.want)
		}
	}
}
