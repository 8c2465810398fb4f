package chunker

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

const testSeed = 0x5eed

// bigSize returns n, or a quarter of it under the race detector.
func bigSize(n int) int {
	if raceEnabled {
		return n / 4
	}
	return n
}

// randomData returns n deterministic pseudo-random bytes.
func randomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}

// chunkAll splits everything r yields, reusing one buffer as callers should,
// and returns copies of the chunks.
func chunkAll(t testing.TB, r io.Reader, seed uint64) [][]byte {
	t.Helper()
	c := New(r, seed)
	var chunks [][]byte
	var buf []byte
	for {
		var err error
		buf, err = c.Next(buf)
		if err == io.EOF {
			return chunks
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		chunks = append(chunks, bytes.Clone(buf))
	}
}

func lengths(chunks [][]byte) []int {
	n := make([]int, len(chunks))
	for i, c := range chunks {
		n[i] = len(c)
	}
	return n
}

// checkChunks verifies that chunks cover data exactly and respect the bounds.
func checkChunks(t *testing.T, name string, data []byte, chunks [][]byte) {
	t.Helper()
	if got := bytes.Join(chunks, nil); !bytes.Equal(got, data) {
		t.Fatalf("%s: chunks joined are %d bytes, differ from the %d-byte input", name, len(got), len(data))
	}
	for i, c := range chunks {
		last := i == len(chunks)-1
		if len(c) > MaxSize || len(c) == 0 || !last && len(c) <= MinSize {
			t.Errorf("%s: chunk %d of %d has %d bytes, want (%d, %d]", name, i, len(chunks), len(c), MinSize, MaxSize)
		}
	}
}

func TestChunksCoverInput(t *testing.T) {
	for _, n := range []int{0, 1, MinSize - 1, MinSize, MinSize + 1, MaxSize - 1, MaxSize, MaxSize + 1, bigSize(3*MaxSize + 17)} {
		data := randomData(uint64(n), n)
		want := chunkAll(t, bytes.NewReader(data), testSeed)
		checkChunks(t, "bytes.Reader", data, want)
		readers := map[string]io.Reader{
			"HalfReader":    iotest.HalfReader(bytes.NewReader(data)),
			"DataErrReader": iotest.DataErrReader(bytes.NewReader(data)),
		}
		if n <= MinSize+1 {
			readers["OneByteReader"] = iotest.OneByteReader(bytes.NewReader(data))
		}
		for name, r := range readers {
			// Boundaries depend on the content only, never on read sizes.
			if diff := cmp.Diff(lengths(want), lengths(chunkAll(t, r, testSeed))); diff != "" {
				t.Errorf("%d bytes through %s: lengths differ (-bytes.Reader +%s):\n%s", n, name, name, diff)
			}
		}
	}
}

func TestSmallInputsAreOneChunk(t *testing.T) {
	for _, n := range []int{1, MinSize - 1, MinSize} {
		got := lengths(chunkAll(t, bytes.NewReader(randomData(1, n)), testSeed))
		if diff := cmp.Diff([]int{n}, got); diff != "" {
			t.Errorf("%d bytes: chunk lengths (-want +got):\n%s", n, diff)
		}
	}
}

func TestEmptyInput(t *testing.T) {
	c := New(bytes.NewReader(nil), testSeed)
	for i := range 2 {
		if b, err := c.Next(nil); err != io.EOF || len(b) != 0 {
			t.Errorf("Next #%d on empty input = %d bytes, %v; want io.EOF", i, len(b), err)
		}
	}
}

func TestZerosCutAtMaxSize(t *testing.T) {
	data := make([]byte, 2*MaxSize+5)
	chunks := chunkAll(t, bytes.NewReader(data), testSeed)
	checkChunks(t, "zeros", data, chunks)
}

func TestDeterministic(t *testing.T) {
	data := randomData(3, bigSize(16<<20))
	a := lengths(chunkAll(t, bytes.NewReader(data), testSeed))
	b := lengths(chunkAll(t, bytes.NewReader(data), testSeed))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same input and seed, different lengths:\n%s", diff)
	}
	if c := lengths(chunkAll(t, bytes.NewReader(data), testSeed+1)); cmp.Equal(a, c) {
		t.Errorf("seeds %d and %d give the same boundaries %v", testSeed, testSeed+1, a)
	}
}

// TestGoldenBoundaries pins the boundaries: they are part of the repository
// format, and any change would break deduplication against existing data. The
// lengths were also reproduced by a byte-at-a-time Python model written from
// the package documentation.
func TestGoldenBoundaries(t *testing.T) {
	got := lengths(chunkAll(t, bytes.NewReader(randomData(42, 12<<20)), testSeed))
	want := []int{
		1012466, 1120274, 1159394, 1010919, 1427635, 931689,
		924201, 1651574, 1804383, 1158449, 381928,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunk lengths changed (-want +got):\n%s", diff)
	}
}

func TestAverageSize(t *testing.T) {
	n := bigSize(64 << 20)
	chunks := chunkAll(t, bytes.NewReader(randomData(4, n)), testSeed)
	mean := float64(n) / float64(len(chunks))
	t.Logf("%d chunks, mean %.0f KiB", len(chunks), mean/1024)
	if mean < 0.8*AvgSize || mean > 1.2*AvgSize {
		t.Errorf("mean chunk size %.0f bytes, want within 20%% of %d", mean, AvgSize)
	}
}

// TestExpectedMean checks normalSize against the expected chunk size for
// random data, in which each hashed byte ends a chunk with probability
// 2^-bitsStrict before normalSize and 2^-bitsLoose after it.
func TestExpectedMean(t *testing.T) {
	p1, p2 := math.Ldexp(1, -bitsStrict), math.Ldexp(1, -bitsLoose)
	stay := math.Exp(-p1 * float64(normalSize-MinSize)) // no cut before normalSize
	mean := MinSize + (1-stay)/p1 + stay*(1-math.Exp(-p2*float64(MaxSize-normalSize)))/p2
	if math.Abs(mean/AvgSize-1) > 0.005 {
		t.Errorf("expected mean chunk size %.0f, want %d within 0.5%%", mean, AvgSize)
	}
}

func TestInsertionChangesFewChunks(t *testing.T) {
	data := randomData(5, bigSize(32<<20))
	orig := chunkSet(chunkAll(t, bytes.NewReader(data), testSeed))
	for _, at := range []int{0, len(data) / 3} {
		edited := append(append(bytes.Clone(data[:at]), "hello"...), data[at:]...)
		chunks := chunkAll(t, bytes.NewReader(edited), testSeed)
		changed := 0
		for _, c := range chunks {
			if !orig[sha256.Sum256(c)] {
				changed++
			}
		}
		if changed > 2 {
			t.Errorf("inserting 5 bytes at %d changed %d of %d chunks, want at most 2", at, changed, len(chunks))
		}
	}
}

func chunkSet(chunks [][]byte) map[[32]byte]bool {
	s := make(map[[32]byte]bool, len(chunks))
	for _, c := range chunks {
		s[sha256.Sum256(c)] = true
	}
	return s
}

func TestResetReusesChunker(t *testing.T) {
	a, b := randomData(6, 6<<20), randomData(7, 5<<20)
	c := New(bytes.NewReader(a), testSeed)
	if _, err := c.Next(nil); err != nil {
		t.Fatal(err)
	}
	c.Reset(bytes.NewReader(b)) // abandon a midway
	var got [][]byte
	for {
		chunk, err := c.Next(nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, chunk)
	}
	want := chunkAll(t, bytes.NewReader(b), testSeed)
	if diff := cmp.Diff(lengths(want), lengths(got)); diff != "" {
		t.Errorf("after Reset, lengths differ from a fresh Chunker (-fresh +reset):\n%s", diff)
	}
	checkChunks(t, "after Reset", b, got)
}

func TestReaderErrorIsReturned(t *testing.T) {
	errBroken := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(randomData(8, MaxSize+MinSize)), iotest.ErrReader(errBroken))
	c := New(r, testSeed)
	var err error
	for range 10 {
		if _, err = c.Next(nil); err != nil {
			break
		}
	}
	if !errors.Is(err, errBroken) {
		t.Fatalf("Next = %v, want %v", err, errBroken)
	}
	if _, err := c.Next(nil); !errors.Is(err, errBroken) {
		t.Errorf("Next after the error = %v, want %v again", err, errBroken)
	}
}

type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestStuckReader(t *testing.T) {
	if _, err := New(stuckReader{}, testSeed).Next(nil); err != io.ErrNoProgress {
		t.Errorf("Next on a reader that never progresses = %v, want io.ErrNoProgress", err)
	}
}

func TestNextReusesDst(t *testing.T) {
	data := randomData(9, 8<<20)
	c := New(bytes.NewReader(data), testSeed)
	buf := make([]byte, 0, MaxSize)
	for {
		chunk, err := c.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if &chunk[:1][0] != &buf[:1][0] {
			t.Fatalf("Next allocated although dst had capacity %d", cap(buf))
		}
	}
}

// BenchmarkChunker reports wall-clock MB/s and, on Linux, cpu-MB/s: bytes per
// second of CPU time of the benchmark's thread, which stays meaningful when
// other jobs share the machine.
func BenchmarkChunker(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	data := randomData(10, 64<<20)
	r := bytes.NewReader(data)
	c := New(r, testSeed)
	buf := make([]byte, 0, MaxSize)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0, ok := threadCPU()
	for b.Loop() {
		r.Reset(data)
		c.Reset(r)
		for {
			var err error
			if buf, err = c.Next(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	if cpu1, _ := threadCPU(); ok && cpu1 > cpu0 {
		b.ReportMetric(float64(b.N)*float64(len(data))/(cpu1-cpu0).Seconds()/1e6, "cpu-MB/s")
	}
}
