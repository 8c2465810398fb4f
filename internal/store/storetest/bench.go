package storetest

import (
	"bytes"
	crand "crypto/rand"
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

// BenchmarkPut measures Put of GenReader(7, size) bytes for each of sizes,
// in a sub-benchmark named after the size in MiB. Object names are new
// across -count runs, so st need not be emptied between them.
func BenchmarkPut(b *testing.B, st store.Store, sizes []int) {
	for _, size := range sizes {
		data := genBytes(size)
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(size))
			run := crand.Text()
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprintf("data/be/put-%s-%d", run, i)
				if err := st.Put(b.Context(), name, bytes.NewReader(data), int64(size)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet stores GenReader(7, size) bytes for each of sizes, then
// measures a full Get of them in a sub-benchmark named after the size in
// MiB. Objects already stored under the benchmark's names (an earlier -count
// run) make it fail.
func BenchmarkGet(b *testing.B, st store.Store, sizes []int) {
	for _, size := range sizes {
		name := fmt.Sprintf("data/be/get-%d", size)
		if err := st.Put(b.Context(), name, bytes.NewReader(genBytes(size)), int64(size)); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				rc, err := st.Get(b.Context(), name, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(size) {
					b.Fatalf("read %d bytes, %v", n, err)
				}
				rc.Close()
			}
		})
	}
}

// genBytes is the benchmarks' data: GenReader(7, size) in memory, the same
// bytes a backend's own SDK comparison benchmarks upload.
func genBytes(size int) []byte {
	b, _ := io.ReadAll(GenReader(7, int64(size)))
	return b
}
