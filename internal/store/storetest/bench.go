package storetest

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/seedship/seedship/internal/store"
)

// BenchmarkPutGet measures one Put of size bytes followed by a full Get and
// a Delete per iteration; b.SetBytes is size, so the reported throughput is
// per round trip. A backend's benchmark calls it with its own store:
//
//	func BenchmarkPutGet1MiB(b *testing.B) { storetest.BenchmarkPutGet(b, newStore(b), 1<<20) }
func BenchmarkPutGet(b *testing.B, st store.Store, size int) {
	data := randBytes(99, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("data/be/bench-%d", i)
		if err := st.Put(b.Context(), name, bytes.NewReader(data), int64(size)); err != nil {
			b.Fatalf("Put(%q) = %v", name, err)
		}
		rc, err := st.Get(b.Context(), name, 0, -1)
		if err != nil {
			b.Fatalf("Get(%q) = %v", name, err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != int64(size) {
			b.Fatalf("reading %q: %d bytes, %v; want %d bytes", name, n, err, size)
		}
		if err := st.Delete(b.Context(), name); err != nil {
			b.Fatalf("Delete(%q) = %v", name, err)
		}
	}
}
