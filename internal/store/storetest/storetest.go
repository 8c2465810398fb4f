// Package storetest is the conformance suite every store.Store
// implementation must pass: local disk, memory, the fault-injecting wrapper,
// the cloud backends and the vault client.
//
// A backend's test calls Run with a constructor that returns a fresh, empty
// store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mem.New() })
//	}
//
// A backend whose stores implement store.Copier also calls RunCopier.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/seedship/seedship/internal/store"
)

// Run runs the whole conformance suite. newStore must return a new, empty
// store each time it is called; it is called once per subtest, with that
// subtest's t, so cleanups registered on t run when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"PutGet", testPutGet},
		{"UnknownSize", testUnknownSize},
		{"CreateOnly", testCreateOnly},
		{"FailingReader", testFailingReader},
		{"ShortReader", testShortReader},
		{"RangedGet", testRangedGet},
		{"Missing", testMissing},
		{"Stat", testStat},
		{"List", testList},
		{"ListStop", testListStop},
		{"Delete", testDelete},
		{"InvalidName", testInvalidName},
		{"ConcurrentPut", testConcurrentPut},
		{"ConcurrentSameName", testConcurrentSameName},
		{"Canceled", testCanceled},
		{"CanceledDuringPut", testCanceledDuringPut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n:n]
}

// packName returns a realistic pack-file name derived from i.
func packName(i int) string {
	sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
	h := hex.EncodeToString(sum[:])
	return "data/" + h[:2] + "/" + h
}

// onlyReader hides io.Seeker, io.WriterTo and friends, so stores cannot take
// shortcuts through them.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func mustPut(t *testing.T, st store.Store, name string, data []byte) {
	t.Helper()
	if err := st.Put(t.Context(), name, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q, %d bytes) = %v", name, len(data), err)
	}
}

// get reads a range; an error from Get or from reading is returned.
func get(ctx context.Context, st store.Store, name string, off, n int64) ([]byte, error) {
	rc, err := st.Get(ctx, name, off, n)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return b, err
}

func mustGet(t *testing.T, st store.Store, name string) []byte {
	t.Helper()
	b, err := get(t.Context(), st, name, 0, -1)
	if err != nil {
		t.Fatalf("Get(%q) = %v", name, err)
	}
	return b
}

// checkContent fails t unless name holds exactly want.
func checkContent(t *testing.T, st store.Store, name string, want []byte) {
	t.Helper()
	got := mustGet(t, st, name)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) returned %d bytes (sha256 %x), want %d bytes (sha256 %x)",
			name, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

// checkAbsent fails t unless name is invisible to Stat, Get and List.
func checkAbsent(t *testing.T, st store.Store, name string) {
	t.Helper()
	if _, err := st.Stat(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", name, err)
	}
	if _, err := st.Get(t.Context(), name, 0, -1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q) = %v, want ErrNotFound", name, err)
	}
	names := listNames(t, st, name)
	if len(names) != 0 {
		t.Errorf("List(%q) = %v, want nothing", name, names)
	}
}

// listNames lists prefix and returns name -> size, failing t on duplicates.
func listNames(t *testing.T, st store.Store, prefix string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := st.List(t.Context(), prefix, func(fi store.Info) error {
		if _, dup := got[fi.Name]; dup {
			t.Errorf("List(%q) reported %q twice", prefix, fi.Name)
		}
		got[fi.Name] = fi.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q) = %v", prefix, err)
	}
	return got
}
