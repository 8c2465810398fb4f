package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// newTestKeyFile returns a key file for testKey(t, 1) under password "secret".
func newTestKeyFile(t *testing.T) *KeyFile {
	t.Helper()
	kf, err := NewKeyFile(testKey(t, 1), []byte("secret"), TestKDF(), "host", "user", testNow)
	if err != nil {
		t.Fatal(err)
	}
	return kf
}

func TestKeyFileRoundTrip(t *testing.T) {
	kf := newTestKeyFile(t)
	b, err := kf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKeyFile(b)
	if err != nil {
		t.Fatalf("ParseKeyFile(Marshal()): %v", err)
	}
	if diff := cmp.Diff(kf, got); diff != "" {
		t.Errorf("ParseKeyFile(Marshal()) differs (-want +got):\n%s", diff)
	}
	k, err := got.Unlock([]byte("secret"))
	if err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	gotKey, _ := k.MarshalBinary()
	wantKey, _ := testKey(t, 1).MarshalBinary()
	if !bytes.Equal(gotKey, wantKey) {
		t.Errorf("Unlock returned another master key")
	}
}

func TestKeyFileJSONFields(t *testing.T) {
	b, err := newTestKeyFile(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"created", "data", "host", "kdf", "memory_kib", "salt", "threads", "time", "user"}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("key file JSON fields (-want +got):\n%s", diff)
	}
}

func TestKeyFileSaltsDiffer(t *testing.T) {
	a, b := newTestKeyFile(t), newTestKeyFile(t)
	if bytes.Equal(a.Salt, b.Salt) || bytes.Equal(a.Data, b.Data) {
		t.Errorf("two key files share salt or sealed data")
	}
}

func TestUnlockWrongPassword(t *testing.T) {
	kf := newTestKeyFile(t)
	for _, pw := range []string{"", "Secret", "secret ", "secre"} {
		_, err := kf.Unlock([]byte(pw))
		if !errors.Is(err, ErrWrongPassword) {
			t.Errorf("Unlock(%q): err = %v, want ErrWrongPassword", pw, err)
		} else if !strings.Contains(err.Error(), "wrong password") {
			t.Errorf("Unlock(%q): message %q does not say the password is wrong", pw, err)
		}
	}
}

func TestUnlockTamperedFails(t *testing.T) {
	for _, tamper := range []func(*KeyFile){
		func(kf *KeyFile) { kf.Data[40] ^= 1 },
		func(kf *KeyFile) { kf.Salt[0] ^= 1 },
		func(kf *KeyFile) { kf.KDF.Time++ },
	} {
		kf := newTestKeyFile(t)
		tamper(kf)
		if _, err := kf.Unlock([]byte("secret")); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("Unlock tampered key file: err = %v, want ErrWrongPassword", err)
		}
	}
}

func TestUnlockInvalidKeyFile(t *testing.T) {
	kf := newTestKeyFile(t)
	kf.KDF.Threads = 0 // argon2 would panic
	if _, err := kf.Unlock([]byte("secret")); !errors.Is(err, ErrKeyFile) {
		t.Errorf("Unlock with 0 threads: err = %v, want ErrKeyFile", err)
	}
}

func TestNewKeyFileRejectsBadParams(t *testing.T) {
	p := TestKDF()
	p.Time = 0
	if _, err := NewKeyFile(testKey(t, 1), nil, p, "", "", testNow); !errors.Is(err, ErrKDFParams) {
		t.Errorf("NewKeyFile with time 0: err = %v, want ErrKDFParams", err)
	}
}

func TestKDFValidate(t *testing.T) {
	for _, tc := range []struct {
		p  KDFParams
		ok bool
	}{
		{DefaultKDF(), true},
		{TestKDF(), true},
		{KDFParams{Argon2id, MaxKDFTime, MaxKDFMemoryKiB, 255}, true},
		{KDFParams{"argon2i", 1, 8, 1}, false},
		{KDFParams{"", 1, 8, 1}, false},
		{KDFParams{Argon2id, 0, 8, 1}, false},
		{KDFParams{Argon2id, MaxKDFTime + 1, 8, 1}, false},
		{KDFParams{Argon2id, 1, 8, 0}, false},
		{KDFParams{Argon2id, 1, 7, 1}, false},
		{KDFParams{Argon2id, 1, 15, 2}, false},
		{KDFParams{Argon2id, 1, MaxKDFMemoryKiB + 1, 1}, false},
		{KDFParams{Argon2id, 1, 1<<32 - 1, 1}, false},
	} {
		err := tc.p.Validate()
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrKDFParams) {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

func TestParseKeyFileRejects(t *testing.T) {
	good, err := newTestKeyFile(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	with := func(field string, v any) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		if v == nil {
			delete(m, field)
		} else {
			m[field] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, b := range map[string][]byte{
		"empty":            {},
		"not JSON":         []byte("key"),
		"null":             []byte("null"),
		"array":            []byte("[]"),
		"trailing data":    append(bytes.Clone(good), "{}"...),
		"too large":        append(bytes.Clone(good), bytes.Repeat([]byte(" "), maxKeyFileSize)...),
		"unknown kdf":      with("kdf", "scrypt"),
		"no kdf":           with("kdf", nil),
		"time 0":           with("time", 0),
		"time 101":         with("time", 101),
		"time negative":    with("time", -1),
		"memory 4 GiB+1":   with("memory_kib", MaxKDFMemoryKiB+1),
		"memory max":       with("memory_kib", 1<<32-1),
		"memory 2^32":      with("memory_kib", 1<<32),
		"memory 7":         with("memory_kib", 7),
		"threads 0":        with("threads", 0),
		"threads 256":      with("threads", 256),
		"salt 31 bytes":    with("salt", make([]byte, 31)),
		"salt 33 bytes":    with("salt", make([]byte, 33)),
		"no salt":          with("salt", nil),
		"salt not base64":  with("salt", "!!!!"),
		"data 91 bytes":    with("data", make([]byte, sealedKeySize-1)),
		"data 93 bytes":    with("data", make([]byte, sealedKeySize+1)),
		"no data":          with("data", nil),
		"created not time": with("created", "yesterday"),
		"host not string":  with("host", 7),
	} {
		if kf, err := ParseKeyFile(b); !errors.Is(err, ErrKeyFile) {
			t.Errorf("ParseKeyFile(%s) = %+v, %v; want ErrKeyFile", name, kf, err)
		}
	}
	if _, err := ParseKeyFile(with("comment", "unknown fields are ignored")); err != nil {
		t.Errorf("ParseKeyFile with an unknown field: %v", err)
	}
}

// Golden files, written once by `go test -run Golden -update`: a key file made
// with TestKDF and goldenPassword, sealing testKey(t, 0x40), and a blob sealed
// under that key with its ID as AD. Every later version must open them.
const (
	goldenPassword = "seedship golden password"
	goldenPlain    = "seedship golden blob v1"
	goldenBlobID   = "1b20bea1a4656c270e8fcddb8f3136254b7d894c86d74f21518c684ab3a7a1eb"
)

var (
	goldenKeyFile = filepath.Join("testdata", "golden.key")
	goldenBlob    = filepath.Join("testdata", "golden.blob")
)

func TestGolden(t *testing.T) {
	master := testKey(t, 0x40)
	if *update {
		writeGolden(t, master)
	}
	b, err := os.ReadFile(goldenKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := ParseKeyFile(b)
	if err != nil {
		t.Fatalf("ParseKeyFile(%s): %v", goldenKeyFile, err)
	}
	k, err := kf.Unlock([]byte(goldenPassword))
	if err != nil {
		t.Fatalf("Unlock(%s): %v", goldenKeyFile, err)
	}
	got, _ := k.MarshalBinary()
	want, _ := master.MarshalBinary()
	if !bytes.Equal(got, want) {
		t.Fatalf("Unlock(%s) returned master key %x, want %x", goldenKeyFile, got, want)
	}
	id := k.BlobID([]byte(goldenPlain))
	if id.String() != goldenBlobID {
		t.Errorf("BlobID(%q) = %v, want %s", goldenPlain, id, goldenBlobID)
	}
	sealed, err := os.ReadFile(goldenBlob)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := k.Open(nil, sealed, id[:])
	if err != nil || string(plain) != goldenPlain {
		t.Errorf("Open(%s) = %q, %v; want %q", goldenBlob, plain, err, goldenPlain)
	}
}

func writeGolden(t *testing.T, master *Key) {
	t.Helper()
	kf, err := NewKeyFile(master, []byte(goldenPassword), TestKDF(), "golden-host", "golden-user", testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := kf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	id := master.BlobID([]byte(goldenPlain))
	if err := os.WriteFile(goldenKeyFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenBlob, master.Seal(nil, []byte(goldenPlain), id[:]), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s and %s; blob ID %v", goldenKeyFile, goldenBlob, id)
}

func BenchmarkDefaultKDF(b *testing.B) {
	p, salt := DefaultKDF(), make([]byte, saltSize)
	for b.Loop() {
		p.deriveKey([]byte("password"), salt)
	}
}
