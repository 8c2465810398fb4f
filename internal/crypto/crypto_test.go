package crypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/seedship/seedship/internal/oid"
)

// testKey returns a key made of the bytes seed, seed+1, ..., seed+63.
func testKey(t testing.TB, seed byte) *Key {
	t.Helper()
	b := make([]byte, masterKeySize)
	for i := range b {
		b[i] = seed + byte(i)
	}
	k := new(Key)
	if err := k.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return k
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(t, 1)
	for _, n := range []int{0, 1, 15, 16, 17, 1000, 1 << 16} {
		plain := randomBytes(uint64(n), n)
		ad := []byte("additional data")
		prefix := []byte("prefix")
		sealed := k.Seal(bytes.Clone(prefix), plain, ad)
		if !bytes.Equal(sealed[:len(prefix)], prefix) {
			t.Fatalf("Seal(%d bytes) did not keep dst prefix", n)
		}
		sealed = sealed[len(prefix):]
		if got, want := len(sealed), n+Overhead; got != want {
			t.Errorf("len(Seal(%d bytes)) = %d, want %d", n, got, want)
		}
		got, err := k.Open([]byte("x"), sealed, ad)
		if err != nil {
			t.Fatalf("Open(Seal(%d bytes)): %v", n, err)
		}
		if !bytes.Equal(got[1:], plain) || got[0] != 'x' {
			t.Errorf("Open(Seal(%d bytes)) returned different plaintext", n)
		}
	}
}

func TestSealOpenInPlace(t *testing.T) {
	k := testKey(t, 1)
	plain := randomBytes(7, 5000)
	buf := make([]byte, len(plain), len(plain)+Overhead)
	copy(buf, plain)
	sealed := k.Seal(buf[:0], buf, nil)
	if &sealed[0] != &buf[0] {
		t.Errorf("Seal in place reallocated despite spare capacity")
	}
	opened, err := k.Open(sealed[:0], sealed, nil)
	if err != nil {
		t.Fatalf("Open in place: %v", err)
	}
	if !bytes.Equal(opened, plain) {
		t.Errorf("Open in place returned different plaintext")
	}
}

func TestSealNoncesDiffer(t *testing.T) {
	k := testKey(t, 1)
	a, b := k.Seal(nil, []byte("same"), nil), k.Seal(nil, []byte("same"), nil)
	if bytes.Equal(a[:12], b[:12]) {
		t.Errorf("two Seals used the same nonce %x", a[:12])
	}
}

func TestOpenTamperedFails(t *testing.T) {
	k := testKey(t, 1)
	ad := []byte("ad")
	sealed := k.Seal(nil, []byte("a secret worth protecting"), ad)
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			if _, err := k.Open(nil, bad, ad); !errors.Is(err, ErrAuth) {
				t.Errorf("Open with byte %d ^ %#x: err = %v, want ErrAuth", i, bit, err)
			}
		}
	}
}

func TestOpenWrongADOrKeyFails(t *testing.T) {
	k := testKey(t, 1)
	sealed := k.Seal(nil, []byte("payload"), []byte("ad"))
	for _, tc := range []struct {
		name string
		key  *Key
		ad   []byte
	}{
		{"other AD", k, []byte("ae")},
		{"nil AD", k, nil},
		{"longer AD", k, []byte("ad\x00")},
		{"other key", testKey(t, 2), []byte("ad")},
	} {
		if _, err := tc.key.Open(nil, sealed, tc.ad); !errors.Is(err, ErrAuth) {
			t.Errorf("Open with %s: err = %v, want ErrAuth", tc.name, err)
		}
	}
}

func TestOpenShortOrTruncatedFails(t *testing.T) {
	k := testKey(t, 1)
	sealed := k.Seal(nil, []byte("payload"), nil)
	for n := 0; n < len(sealed); n++ {
		if _, err := k.Open(nil, sealed[:n], nil); !errors.Is(err, ErrAuth) {
			t.Errorf("Open(first %d bytes): err = %v, want ErrAuth", n, err)
		}
	}
}

func TestBlobIDIsHMAC(t *testing.T) {
	k := testKey(t, 1)
	mk, _ := k.MarshalBinary()
	for _, n := range []int{0, 1, 64, 1000} {
		p := randomBytes(uint64(n), n)
		m := hmac.New(sha256.New, mk[keySize:])
		m.Write(p)
		want := oid.ID(m.Sum(nil))
		if got := k.BlobID(p); got != want {
			t.Errorf("BlobID(%d bytes) = %v, want %v", n, got, want)
		}
	}
	if k.BlobID([]byte("x")) == testKey(t, 2).BlobID([]byte("x")) {
		t.Errorf("BlobID is the same under two different keys")
	}
}

func TestKeyConcurrentUse(t *testing.T) {
	k := testKey(t, 1)
	p := randomBytes(1, 4096)
	want := k.BlobID(p)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := k.BlobID(p); got != want {
					t.Errorf("concurrent BlobID = %v, want %v", got, want)
				}
				if _, err := k.Open(nil, k.Seal(nil, p, want[:]), want[:]); err != nil {
					t.Errorf("concurrent Open: %v", err)
				}
			}
		})
	}
	wg.Wait()
}

func TestKeyMarshalRoundTrip(t *testing.T) {
	k, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.MarshalBinary()
	if err != nil || len(b) != masterKeySize {
		t.Fatalf("MarshalBinary = %d bytes, %v; want %d bytes", len(b), err, masterKeySize)
	}
	k2 := new(Key)
	if err := k2.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Open(nil, k.Seal(nil, []byte("x"), nil), nil); err != nil {
		t.Errorf("unmarshalled key cannot open: %v", err)
	}
	if k.BlobID([]byte("x")) != k2.BlobID([]byte("x")) {
		t.Errorf("unmarshalled key computes other blob IDs")
	}
	for _, n := range []int{0, 63, 65} {
		if err := new(Key).UnmarshalBinary(make([]byte, n)); !errors.Is(err, ErrKeyFile) {
			t.Errorf("UnmarshalBinary(%d bytes): err = %v, want ErrKeyFile", n, err)
		}
	}
}

func BenchmarkBlobID(b *testing.B) {
	k := testKey(b, 1)
	p := randomBytes(1, 1<<20)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		k.BlobID(p)
	}
}

func BenchmarkSeal(b *testing.B) {
	k := testKey(b, 1)
	p := randomBytes(1, 1<<20)
	dst := make([]byte, 0, len(p)+Overhead)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		k.Seal(dst[:0], p, nil)
	}
}

func BenchmarkOpen(b *testing.B) {
	k := testKey(b, 1)
	p := randomBytes(1, 1<<20)
	sealed := k.Seal(nil, p, nil)
	dst := make([]byte, 0, len(p))
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(dst[:0], sealed, nil); err != nil {
			b.Fatal(err)
		}
	}
}
