package crypto

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseKeyFile checks that ParseKeyFile never panics, that what it accepts
// re-marshals to an equal key file, and that Unlock of it never panics.
func FuzzParseKeyFile(f *testing.F) {
	golden, err := os.ReadFile(goldenKeyFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"kdf":"argon2id","time":1,"memory_kib":8,"threads":1,` +
		`"salt":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","data":"` +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + `"}`))
	f.Add([]byte(`{"kdf":"argon2id","time":101,"memory_kib":4294967295,"threads":0}`))
	f.Add([]byte(`{"created":"0000-01-01T00:00:00+01:00","host":"\xff"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		kf, err := ParseKeyFile(b)
		if err != nil {
			if !errors.Is(err, ErrKeyFile) {
				t.Fatalf("ParseKeyFile error %v does not wrap ErrKeyFile", err)
			}
			return
		}
		out, err := kf.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed key file: %v", err)
		}
		kf2, err := ParseKeyFile(out)
		if err != nil {
			t.Fatalf("ParseKeyFile(Marshal(ParseKeyFile(b))): %v\n%s", err, out)
		}
		if diff := cmp.Diff(kf, kf2); diff != "" {
			t.Fatalf("key file changed through Marshal (-first +second):\n%s", diff)
		}
		if kf.KDF.Time <= 2 && kf.KDF.MemoryKiB <= 64 {
			if _, err := kf.Unlock([]byte(goldenPassword)); err != nil && !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("Unlock of a parsed key file: %v", err)
			}
		}
	})
}

// FuzzOpen checks that Open never panics and never accepts forged data.
func FuzzOpen(f *testing.F) {
	k := testKey(f, 1)
	f.Add([]byte{}, []byte{})
	f.Add(k.Seal(nil, []byte("payload"), nil)[:Overhead], []byte("ad"))
	f.Add(make([]byte, Overhead+5), []byte(nil))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		if _, err := k.Open(nil, sealed, ad); !errors.Is(err, ErrAuth) {
			t.Fatalf("Open(%x, %x): err = %v, want ErrAuth", sealed, ad, err)
		}
	})
}
