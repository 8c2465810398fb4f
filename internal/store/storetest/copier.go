package storetest

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/seedship/seedship/internal/store"
)

// FaultFunc is a FaultTransport.Fn: it passes req to next, or fails it,
// or answers it itself.
type FaultFunc func(n int, req *http.Request, next http.RoundTripper) (*http.Response, error)

// CopierBackend describes a backend whose stores implement store.Copier to
// RunCopier: how to make its stores, and the few answers the Copier rules
// leave to the backend.
type CopierBackend struct {
	// NewPair returns two new, empty stores of the backend with separate
	// objects (two directories, buckets or containers): dst implements
	// store.Copier and can copy from src. A backend that speaks HTTP sends
	// dst's requests through fn (a FaultTransport with Fn fn); others
	// ignore fn. NewPair is called once per subtest, with its t.
	NewPair func(t *testing.T, fn FaultFunc) (dst, src store.Store)
	// IsCopy, for a backend that copies over HTTP, tells dst's server-side
	// copy requests. RunCopier then checks that each copy is one such
	// request, not bytes through this process, and that a copy whose
	// answer is lost still succeeds.
	IsCopy func(req *http.Request) bool
	// Busy, with IsCopy, is the answer that replaces a lost one: the
	// service's "busy, try again".
	Busy func(req *http.Request) *http.Response
	// Copied, when not nil, checks what else the backend promises of a
	// copy (a hard link). RunCopier calls it after every successful Copy
	// of an unchanged source.
	Copied func(t *testing.T, dst store.Store, dstName string, src store.Store, srcName string)
	// Refused, when not nil, returns stores of the backend that dst cannot
	// copy from (other credentials, another endpoint or account), named by
	// what differs and made over src's objects where they can be, so that
	// a Copy that ignored the difference would succeed.
	Refused func(t *testing.T, src store.Store) map[string]store.Store
	// CheckWhenExists tells that Copy reads the source through check
	// before it finds that dst exists (the service reports it only by
	// failing the copy); when false, check must not be called then.
	CheckWhenExists bool
	// ErrSourceChanged is the error Copy returns when the source is
	// replaced after check read it; nil for a backend that then still
	// copies the very bytes check read.
	ErrSourceChanged error
}

// RunCopier runs the conformance suite of store.Copier: the rules of the
// package doc and of Copier.Copy that hold for every backend.
func RunCopier(t *testing.T, b CopierBackend) {
	tests := []copierTest{
		{"Copy", testCopy},
		{"DstExists", testCopyDstExists},
		{"MissingSource", testCopyMissingSource},
		{"CheckFails", testCopyCheckFails},
		{"SourceReplaced", testCopySourceReplaced},
		{"NotSupported", testCopyNotSupported},
		{"InvalidName", testCopyInvalidName},
	}
	if b.IsCopy != nil {
		tests = append(tests, copierTest{"LostAnswer", testCopyLostAnswer})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &copyWatch{isCopy: b.IsCopy, busy: b.Busy}
			dst, src := b.NewPair(t, w.fn)
			c, ok := dst.(store.Copier)
			if !ok {
				t.Fatalf("%T does not implement store.Copier", dst)
			}
			tt.fn(t, b, copyPair{c: c, dst: dst, src: src, watch: w})
		})
	}
}

// copierTest is a subtest of RunCopier.
type copierTest struct {
	name string
	fn   func(t *testing.T, b CopierBackend, p copyPair)
}

// copyWatch counts the copy requests of dst and can lose the answer to
// the next one.
type copyWatch struct {
	isCopy func(*http.Request) bool
	busy   func(*http.Request) *http.Response
	copies atomic.Int32
	lose   atomic.Bool
}

func (w *copyWatch) fn(_ int, req *http.Request, next http.RoundTripper) (*http.Response, error) {
	if w.isCopy == nil || !w.isCopy(req) {
		return next.RoundTrip(req)
	}
	w.copies.Add(1)
	resp, err := next.RoundTrip(req)
	if err == nil && w.lose.CompareAndSwap(true, false) {
		resp.Body.Close()
		return w.busy(req), nil
	}
	return resp, err
}

// copied runs the checks of a successful copy: one copy request since the
// copy before it, and b.Copied.
func (p copyPair) copied(t *testing.T, b CopierBackend, dst string, s copySource) {
	t.Helper()
	if n := p.watch.copies.Swap(0); b.IsCopy != nil && n != 1 {
		t.Errorf("copy %s took %d copy requests, want 1", dst, n)
	}
	if b.Copied != nil {
		b.Copied(t, p.dst, dst, s.st, s.name)
	}
}

// copyPair is the two stores of a subtest; c is dst as a Copier.
type copyPair struct {
	c        store.Copier
	dst, src store.Store
	watch    *copyWatch
}

// sources puts data under one name in each store and returns the
// (store, name) of both sources: src's first, then dst's own.
func (p copyPair) sources(t *testing.T, data []byte) []copySource {
	t.Helper()
	srcs := []copySource{{"other store", p.src, packName(1)}, {"same store", p.dst, packName(2)}}
	for _, s := range srcs {
		mustPut(t, s.st, s.name, data)
	}
	return srcs
}

// copySource is an object to copy from.
type copySource struct {
	where string
	st    store.Store
	name  string
}

// reading returns a check that keeps what it read in *seen and counts its
// calls in *calls.
func reading(seen *[]byte, calls *int) func(io.Reader) error {
	return func(r io.Reader) error {
		*calls++
		var err error
		*seen, err = io.ReadAll(r)
		return err
	}
}

// checkNames fails t unless st holds exactly the objects want.
func checkNames(t *testing.T, st store.Store, want ...string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(listNames(t, st, "")))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("store holds %q, want %q", got, want)
	}
}

func testCopy(t *testing.T, b CopierBackend, p copyPair) {
	data := randBytes(20, 1<<20+17)
	srcs := p.sources(t, data)
	var copies []string
	for i, s := range srcs {
		for j, withCheck := range []bool{true, false} {
			dst := packName(10 + 2*i + j)
			var seen []byte
			calls := 0
			check := reading(&seen, &calls)
			if !withCheck {
				check = nil
			}
			if err := p.c.Copy(t.Context(), dst, s.st, s.name, check); err != nil {
				t.Fatalf("Copy(%s) from %s of the %s = %v", dst, s.name, s.where, err)
			}
			if withCheck && (calls != 1 || !bytes.Equal(seen, data)) {
				t.Errorf("Copy(%s): check called %d times, saw %d bytes; want once, the source's %d",
					dst, calls, len(seen), len(data))
			}
			checkContent(t, p.dst, dst, data)
			p.copied(t, b, dst, s)
			copies = append(copies, dst)
		}
	}
	// A copy is an object of its own: it outlives its source.
	for _, s := range srcs {
		if err := s.st.Delete(t.Context(), s.name); err != nil {
			t.Fatalf("Delete(%s) from the %s = %v", s.name, s.where, err)
		}
	}
	for _, name := range copies {
		checkContent(t, p.dst, name, data)
	}
	checkNames(t, p.dst, copies...)
}

// testCopyLostAnswer loses the answer to a copy request (for a backend
// with IsCopy): the retry finds the copy made and reports success.
func testCopyLostAnswer(t *testing.T, b CopierBackend, p copyPair) {
	data := randBytes(26, 1000)
	discard := func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }
	for i, s := range p.sources(t, data) {
		for j, check := range []func(io.Reader) error{discard, nil} {
			dst := packName(30 + 2*i + j)
			p.watch.lose.Store(true)
			if err := p.c.Copy(t.Context(), dst, s.st, s.name, check); err != nil {
				t.Errorf("Copy(%s) from the %s after a lost answer = %v", dst, s.where, err)
			}
			if p.watch.lose.Load() {
				t.Fatalf("Copy(%s) from the %s: no answer was lost", dst, s.where)
			}
			checkContent(t, p.dst, dst, data)
		}
	}
}

// refusal is a Copy that must fail without calling check.
type refusal struct {
	what      string
	src       store.Store
	dst, from string
	want      error
}

// refuse runs each refusal with and without a check and fails t when a
// Copy does not answer its error, calls check, or creates dst.
func refuse(t *testing.T, p copyPair, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		var seen []byte
		calls := 0
		for _, check := range []func(io.Reader) error{reading(&seen, &calls), nil} {
			err := p.c.Copy(t.Context(), tc.dst, tc.src, tc.from, check)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: Copy(%q, %q) = %v, want %v", tc.what, tc.dst, tc.from, err, tc.want)
			}
		}
		if calls != 0 {
			t.Errorf("%s: check was called", tc.what)
		}
		if store.ValidName(tc.dst) == nil {
			checkAbsent(t, p.dst, tc.dst)
		}
	}
}

func testCopyDstExists(t *testing.T, b CopierBackend, p copyPair) {
	source := randBytes(21, 1000)
	existing := randBytes(22, 500)
	const dst = "data/ee/exists"
	mustPut(t, p.dst, dst, existing)
	for _, s := range p.sources(t, source) {
		var seen []byte
		calls := 0
		for _, check := range []func(io.Reader) error{reading(&seen, &calls), nil} {
			if err := p.c.Copy(t.Context(), dst, s.st, s.name, check); !errors.Is(err, store.ErrExists) {
				t.Errorf("Copy(%s) from the %s over an object = %v, want ErrExists", dst, s.where, err)
			}
		}
		if called := calls != 0; called != b.CheckWhenExists {
			t.Errorf("Copy(%s) from the %s over an object: check called = %v, want %v", dst, s.where, called, b.CheckWhenExists)
		}
		if calls != 0 && !bytes.Equal(seen, source) {
			t.Errorf("Copy(%s) from the %s over an object: check saw %d bytes, want the source's %d",
				dst, s.where, len(seen), len(source))
		}
		checkContent(t, p.dst, dst, existing)
	}
	checkNames(t, p.dst, dst, packName(2))
}

func testCopyMissingSource(t *testing.T, _ CopierBackend, p copyPair) {
	mustPut(t, p.src, "data/ab/other", []byte("x"))
	refuse(t, p, []refusal{
		{"missing source in the other store", p.src, "data/mm/new", "data/ab/missing", store.ErrNotFound},
		{"missing source in the same store", p.dst, "data/mm/new", "data/ab/missing", store.ErrNotFound},
		{"source below an object", p.src, "data/mm/new", "data/ab/other/below", store.ErrNotFound},
		{"source is a prefix", p.src, "data/mm/new", "data/ab", store.ErrNotFound},
	})
	checkNames(t, p.dst)
}

func testCopyCheckFails(t *testing.T, _ CopierBackend, p copyPair) {
	bad := errors.New("storetest: checksum mismatch")
	data := randBytes(23, 64<<10)
	checks := []struct {
		how   string
		check func(io.Reader) error
	}{
		{"after reading", func(r io.Reader) error { io.Copy(io.Discard, r); return bad }},
		{"without reading", func(io.Reader) error { return bad }},
	}
	for _, s := range p.sources(t, data) {
		for _, c := range checks {
			const dst = "data/ff/failed"
			if err := p.c.Copy(t.Context(), dst, s.st, s.name, c.check); !errors.Is(err, bad) {
				t.Errorf("Copy from the %s, check failing %s = %v, want the check's error", s.where, c.how, err)
			}
			checkAbsent(t, p.dst, dst)
		}
	}
	checkNames(t, p.dst, packName(2))
}

// testCopySourceReplaced replaces the source while check reads it: the
// copy fails, or holds the bytes check saw.
func testCopySourceReplaced(t *testing.T, b CopierBackend, p copyPair) {
	ctx := t.Context()
	checked, swapped := randBytes(24, 1000), randBytes(25, 700)
	for i, s := range p.sources(t, checked) {
		dst := packName(20 + i)
		var seen []byte
		err := p.c.Copy(ctx, dst, s.st, s.name, func(r io.Reader) error {
			var err error
			if seen, err = io.ReadAll(r); err != nil {
				return err
			}
			if err := s.st.Delete(ctx, s.name); err != nil {
				return err
			}
			return s.st.Put(ctx, s.name, bytes.NewReader(swapped), int64(len(swapped)))
		})
		if !bytes.Equal(seen, checked) {
			t.Errorf("Copy from the %s of a replaced source: check saw %d bytes, want the %d put",
				s.where, len(seen), len(checked))
		}
		if b.ErrSourceChanged == nil {
			if err != nil {
				t.Fatalf("Copy from the %s of a replaced source = %v, want the checked bytes copied", s.where, err)
			}
			checkContent(t, p.dst, dst, checked)
			continue
		}
		if !errors.Is(err, b.ErrSourceChanged) {
			t.Errorf("Copy from the %s of a replaced source = %v, want %v", s.where, err, b.ErrSourceChanged)
		}
		checkAbsent(t, p.dst, dst)
	}
}

// otherKind is a store of a type that no backend copies from.
type otherKind struct{ store.Store }

func testCopyNotSupported(t *testing.T, b CopierBackend, p copyPair) {
	const name = "data/ab/source"
	mustPut(t, p.src, name, []byte("source"))
	cases := []refusal{
		{"a store of another kind", otherKind{p.src}, "data/nn/new", name, store.ErrNotSupported},
		{"a store of another kind, missing source", otherKind{p.src}, "data/nn/new", "data/ab/missing", store.ErrNotSupported},
	}
	if b.Refused != nil {
		refused := b.Refused(t, p.src)
		for _, what := range slices.Sorted(maps.Keys(refused)) {
			cases = append(cases, refusal{what, refused[what], "data/nn/new", name, store.ErrNotSupported})
		}
	}
	refuse(t, p, cases)
	checkNames(t, p.dst)
}

func testCopyInvalidName(t *testing.T, _ CopierBackend, p copyPair) {
	const name = "data/ab/source"
	mustPut(t, p.src, name, []byte("source"))
	mustPut(t, p.dst, name, []byte("source"))
	var cases []refusal
	for _, bad := range []string{"", "/new", "../new", "x/../y", "a//b", "new/", "./x", `a\b`, "a b"} {
		for _, src := range []store.Store{p.src, p.dst} {
			cases = append(cases,
				refusal{"invalid dst", src, bad, name, store.ErrInvalidName},
				refusal{"invalid source", src, "data/ii/new", bad, store.ErrInvalidName})
		}
	}
	refuse(t, p, cases)
	checkNames(t, p.dst, name)
}
