package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/seedship/seedship/internal/store"
)

func testPutGet(t *testing.T, st store.Store) {
	for i, size := range []int{0, 1, 5 << 20} {
		name := packName(i)
		data := randBytes(1, size)
		mustPut(t, st, name, data)
		checkContent(t, st, name, data)
	}
}

func testUnknownSize(t *testing.T, st store.Store) {
	for i, size := range []int{0, 1, 300 << 10} {
		name := fmt.Sprintf("index/unknown-%d", i)
		data := randBytes(2, size)
		if err := st.Put(t.Context(), name, onlyReader{bytes.NewReader(data)}, -1); err != nil {
			t.Fatalf("Put(%q, size -1) = %v", name, err)
		}
		checkContent(t, st, name, data)
	}
}

func testCreateOnly(t *testing.T, st store.Store) {
	const name = "config"
	first := randBytes(3, 1000)
	mustPut(t, st, name, first)
	second := randBytes(4, 500)
	err := st.Put(t.Context(), name, bytes.NewReader(second), int64(len(second)))
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Put(%q) = %v, want ErrExists", name, err)
	}
	err = st.Put(t.Context(), name, onlyReader{bytes.NewReader(second)}, -1)
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Put(%q, size -1) = %v, want ErrExists", name, err)
	}
	checkContent(t, st, name, first)
}

// failingReader returns n bytes of data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func testFailingReader(t *testing.T, st store.Store) {
	boom := errors.New("storetest: reader failed")
	data := randBytes(5, 1<<20)
	for _, size := range []int64{int64(len(data)), -1} {
		name := fmt.Sprintf("snapshots/failing%d", size)
		r := &failingReader{data: data[:len(data)/2], err: boom}
		if err := st.Put(t.Context(), name, r, size); err == nil {
			t.Fatalf("Put(%q, size %d) with a failing reader succeeded", name, size)
		}
		checkAbsent(t, st, name)
		mustPut(t, st, name, data)
		checkContent(t, st, name, data)
	}
}

func testShortReader(t *testing.T, st store.Store) {
	const name = "locks/short"
	data := randBytes(6, 1000)
	if err := st.Put(t.Context(), name, onlyReader{bytes.NewReader(data[:500])}, 1000); err == nil {
		t.Fatalf("Put(%q, size 1000) of a 500-byte reader succeeded", name)
	}
	checkAbsent(t, st, name)
}

func testRangedGet(t *testing.T, st store.Store) {
	const name, size = "data/00/ranged", 1000
	data := randBytes(7, size)
	mustPut(t, st, name, data)
	for _, tc := range []struct{ off, n int64 }{
		{0, -1}, {0, size}, {0, 0}, {0, 1}, {10, 20}, {999, 1}, {999, -1},
		{500, -1}, {990, 10}, {size, -1}, {size, 0},
	} {
		got, err := get(t.Context(), st, name, tc.off, tc.n)
		want := data[tc.off:]
		if tc.n >= 0 {
			want = want[:tc.n]
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Get(%q, %d, %d) = %d bytes, %v; want %d bytes", name, tc.off, tc.n, len(got), err, len(want))
		}
	}
	// A backend may report a bad range from Get or while reading; both count.
	for _, tc := range []struct{ off, n int64 }{
		{size + 1, -1}, {size + 1, 0}, {990, 11}, {0, size + 1}, {2000, 5}, {-1, 5},
	} {
		got, err := get(t.Context(), st, name, tc.off, tc.n)
		if err == nil {
			t.Errorf("Get(%q, %d, %d) = %d bytes, nil; want an error", name, tc.off, tc.n, len(got))
		}
	}
}

func testMissing(t *testing.T, st store.Store) {
	mustPut(t, st, "data/ab/other", []byte("x"))
	for _, name := range []string{"data/ab/missing", "missing", "data/ab/other/below"} {
		if _, err := st.Get(t.Context(), name, 0, -1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", name, err)
		}
		if _, err := st.Get(t.Context(), name, 10, 5); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q, 10, 5) = %v, want ErrNotFound", name, err)
		}
		if _, err := st.Stat(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", name, err)
		}
		if err := st.Delete(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Delete(%q) = %v, want ErrNotFound", name, err)
		}
	}
	// "data/ab" is a directory on some backends, never an object.
	if _, err := st.Stat(t.Context(), "data/ab"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", "data/ab", err)
	}
}

func testStat(t *testing.T, st store.Store) {
	for i, size := range []int{0, 1, 12345} {
		name := packName(i)
		mustPut(t, st, name, randBytes(8, size))
		fi, err := st.Stat(t.Context(), name)
		if err != nil {
			t.Fatalf("Stat(%q) = %v", name, err)
		}
		if fi.Name != name || fi.Size != int64(size) {
			t.Errorf("Stat(%q) = %+v, want {Name:%s Size:%d}", name, fi, name, size)
		}
	}
}

func testList(t *testing.T, st store.Store) {
	objects := map[string]int64{
		"config": 3, "keys/k1": 4, "index/i1": 5, "snapshots/s1": 6,
		"data/ab/abcd1": 7, "data/ab/abcd2": 8, "data/cd/cdef": 9, "data2/x": 10,
	}
	for name, size := range objects {
		mustPut(t, st, name, randBytes(9, int(size)))
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"config", "keys/k1", "index/i1", "snapshots/s1", "data/ab/abcd1", "data/ab/abcd2", "data/cd/cdef", "data2/x"}},
		{"data/", []string{"data/ab/abcd1", "data/ab/abcd2", "data/cd/cdef"}},
		{"data", []string{"data/ab/abcd1", "data/ab/abcd2", "data/cd/cdef", "data2/x"}},
		{"data/a", []string{"data/ab/abcd1", "data/ab/abcd2"}},
		{"data/ab/", []string{"data/ab/abcd1", "data/ab/abcd2"}},
		{"data/ab/abcd1", []string{"data/ab/abcd1"}},
		{"data/cd/cdef/", nil},
		{"conf", []string{"config"}},
		{"keys/", []string{"keys/k1"}},
		{"nothing/", nil},
		{"z", nil},
	} {
		got := listNames(t, st, tc.prefix)
		want := map[string]int64{}
		for _, n := range tc.want {
			want[n] = objects[n]
		}
		if !equalMaps(got, want) {
			t.Errorf("List(%q) = %v, want %v", tc.prefix, got, want)
		}
	}
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testListStop(t *testing.T, st store.Store) {
	for i := range 5 {
		mustPut(t, st, packName(i), []byte{byte(i)})
	}
	stop := errors.New("storetest: stop listing")
	calls := 0
	err := st.List(t.Context(), "data/", func(store.Info) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing fn = %v after %d calls, want the fn's error after 1 call", err, calls)
	}
}

func testDelete(t *testing.T, st store.Store) {
	name := packName(1)
	keep := packName(2)
	mustPut(t, st, name, []byte("first"))
	mustPut(t, st, keep, []byte("keep"))
	if err := st.Delete(t.Context(), name); err != nil {
		t.Fatalf("Delete(%q) = %v", name, err)
	}
	checkAbsent(t, st, name)
	if err := st.Delete(t.Context(), name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete(%q) = %v, want ErrNotFound", name, err)
	}
	checkContent(t, st, keep, []byte("keep"))
	// A deleted name may be created again.
	mustPut(t, st, name, []byte("second"))
	checkContent(t, st, name, []byte("second"))
}

func testInvalidName(t *testing.T, st store.Store) {
	ctx := t.Context()
	for _, name := range []string{"", "../x", "x/../y", "/abs", "a//b", "a/", "./x", `a\b`, "a b", "a\x00b"} {
		if err := st.Put(ctx, name, bytes.NewReader([]byte("x")), 1); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Put(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := st.Get(ctx, name, 0, -1); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Get(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := st.Stat(ctx, name); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidName", name, err)
		}
		if err := st.Delete(ctx, name); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	if got := listNames(t, st, ""); len(got) != 0 {
		t.Errorf("after invalid Puts, List(\"\") = %v, want nothing", got)
	}
}
