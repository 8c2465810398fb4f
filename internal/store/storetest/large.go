package storetest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store"
)

// LargeSize is the object size for LargeObject: 1 GiB, 5 GiB with
// SEEDSHIP_TEST_5GIB=1, 128 MiB with -short.
func LargeSize() int64 {
	switch {
	case os.Getenv("SEEDSHIP_TEST_5GIB") == "1":
		return 5 << 30
	case testing.Short():
		return 128 << 20
	}
	return 1 << 30
}

// LargeObject streams a generated object of size bytes into st and back
// with a full Get, checks the content, and fails t when memory grows beyond
// what buffers (the bytes of part buffers the store holds per transfer)
// explains, whatever the object's size.
func LargeObject(t *testing.T, st store.Store, size, buffers int64) {
	t.Helper()
	const name = "data/ff/large"
	mon := startMemMonitor()
	start := time.Now()
	if err := st.Put(t.Context(), name, GenReader(9, size), size); err != nil {
		t.Fatalf("Put of %d bytes: %v", size, err)
	}
	putDone := time.Now()
	rc, err := st.Get(t.Context(), name, 0, -1)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	cw := &compareWriter{want: GenReader(9, size)}
	n, err := io.Copy(cw, rc)
	rc.Close()
	peak := mon.stop()
	if err != nil || n != size || cw.err != nil {
		t.Fatalf("read back %d bytes, %v, %v; want %d identical bytes", n, err, cw.err, size)
	}
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	t.Logf("%d MiB: put %.1f MiB/s, get %.1f MiB/s; peak HeapInuse %.0f MiB, Sys %.0f MiB",
		size>>20, float64(size>>20)/putDone.Sub(start).Seconds(), float64(size>>20)/time.Since(putDone).Seconds(),
		mib(peak.HeapInuse), mib(peak.Sys))
	// The part buffers are the live data; with the default GOGC the heap
	// may grow to twice the live data before a collection.
	if limit := 2*uint64(buffers) + 64<<20; peak.HeapInuse > limit {
		t.Errorf("peak HeapInuse %.0f MiB > %.0f MiB (twice the part buffers + 64 MiB)", mib(peak.HeapInuse), mib(limit))
	}
	if limit := 2*uint64(buffers) + 192<<20; peak.Sys > limit {
		t.Errorf("peak Sys %.0f MiB > %.0f MiB", mib(peak.Sys), mib(limit))
	}
}

// memMonitor samples the runtime's memory statistics until stopped.
type memMonitor struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak runtime.MemStats
}

func startMemMonitor() *memMonitor {
	m := &memMonitor{done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			m.peak.HeapInuse = max(m.peak.HeapInuse, ms.HeapInuse)
			m.peak.Sys = max(m.peak.Sys, ms.Sys)
			select {
			case <-m.done:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memMonitor) stop() runtime.MemStats {
	close(m.done)
	m.wg.Wait()
	return m.peak
}

// compareWriter checks written bytes against a generator.
type compareWriter struct {
	want io.Reader
	buf  []byte
	off  int64
	err  error
}

func (c *compareWriter) Write(p []byte) (int, error) {
	if len(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	exp := c.buf[:len(p)]
	if _, err := io.ReadFull(c.want, exp); err != nil || !bytes.Equal(p, exp) {
		c.err = fmt.Errorf("content differs in [%d, %d)", c.off, c.off+int64(len(p)))
		return 0, c.err
	}
	c.off += int64(len(p))
	return len(p), nil
}
