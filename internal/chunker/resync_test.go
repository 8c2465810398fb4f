package chunker

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

// chunkSizes maps each chunk of b (by content hash) to its length.
func chunkSizes(tb testing.TB, b []byte, seed uint64) map[[32]byte]int {
	c := New(bytes.NewReader(b), seed)
	out := map[[32]byte]int{}
	var buf []byte
	for {
		ch, err := c.Next(buf)
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out[sha256.Sum256(ch)] = len(ch)
		buf = ch[:0]
	}
}

// BenchmarkResync measures what a small edit costs: 400 KiB rewritten 5 MiB
// into a 12 MiB random file, chunked with b.N different keys. It reports
// the mean, 90th and 99th percentile and maximum of the new chunks' bytes
// (what a backup of the edit sends) — how fast the chunker finds its old
// boundaries again after the edit.
//
//	go test -run XXX -bench Resync -benchtime 300x ./internal/chunker/
func BenchmarkResync(b *testing.B) {
	data := make([]byte, 12<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	edited := bytes.Clone(data)
	rand.NewChaCha8([32]byte{2}).Read(edited[5<<20 : 5<<20+400<<10])
	keys := rand.New(rand.NewPCG(3, 4))
	var sent []int
	var chunks int
	for b.Loop() {
		key := keys.Uint64()
		old := chunkSizes(b, data, key)
		n := 0
		for h, l := range chunkSizes(b, edited, key) {
			if _, ok := old[h]; !ok {
				n += l
				chunks++
			}
		}
		sent = append(sent, n)
	}
	slices.Sort(sent)
	pct := func(p float64) float64 { return float64(sent[int(p*float64(len(sent)-1))]) / (1 << 20) }
	total := 0
	for _, n := range sent {
		total += n
	}
	b.ReportMetric(float64(total)/float64(len(sent))/(1<<20), "mean-MiB")
	b.ReportMetric(pct(0.9), "p90-MiB")
	b.ReportMetric(pct(0.99), "p99-MiB")
	b.ReportMetric(pct(1), "max-MiB")
	b.ReportMetric(float64(chunks)/float64(len(sent)), "new-chunks")
}
