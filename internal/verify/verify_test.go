package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// sources wraps data in readers that deliver it in different pieces.
var sources = map[string]func([]byte) io.Reader{
	"whole":   func(b []byte) io.Reader { return bytes.NewReader(b) },
	"onebyte": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
	"half":    func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
	"dataerr": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	"zeros":   func(b []byte) io.Reader { return &zeroFirst{r: bytes.NewReader(b)} },
}

// zeroFirst returns 0, nil before every piece of data.
type zeroFirst struct {
	r    io.Reader
	zero bool
}

func (z *zeroFirst) Read(p []byte) (int, error) {
	if z.zero = !z.zero; z.zero {
		return 0, nil
	}
	return z.r.Read(p)
}

func TestReader(t *testing.T) {
	good := []byte("pack bytes")
	for _, tc := range []struct {
		name    string
		content []byte
		size    int64
		sha     string
		want    string // an error fragment; "" for success
	}{
		{"exact", good, 10, sum(good), ""},
		{"short", good[:5], 10, sum(good), "ends after 5 bytes, expected 10"},
		{"long", append(bytes.Clone(good), '!'), 10, sum(good), "is longer than the expected 10 bytes"},
		{"wrong hash", []byte("pack bytez"), 10, sum(good), "has SHA-256 " + sum([]byte("pack bytez")) + ", expected " + sum(good)},
		{"uppercase hash", good, 10, strings.ToUpper(sum(good)), "has SHA-256"},
		{"empty", nil, 0, emptySHA256, ""},
		{"empty wrong hash", nil, 0, sum(good), "has SHA-256 " + emptySHA256},
		{"empty but data", good, 0, emptySHA256, "is longer than the expected 0 bytes"},
		{"nothing", nil, 10, sum(good), "ends after 0 bytes"},
		{"negative size", good, -1, sum(good), "negative size"},
	} {
		for src, wrap := range sources {
			v := NewReader(wrap(tc.content), tc.size, tc.sha)
			got, err := io.ReadAll(v)
			switch {
			case tc.want == "" && (err != nil || !bytes.Equal(got, tc.content) || !v.Done() || v.Err() != nil):
				t.Errorf("%s/%s: ReadAll = %q, %v (done %v); want the content", tc.name, src, got, err, v.Done())
			case tc.want != "" && (!errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("%s/%s: ReadAll error %v, want a mismatch %q", tc.name, src, err, tc.want)
			case tc.want != "" && (v.Done() || v.Err() != err || int64(len(got)) >= max(tc.size, 1)):
				t.Errorf("%s/%s: after the mismatch: %d bytes delivered, done %v, Err %v", tc.name, src, len(got), v.Done(), v.Err())
			}
		}
	}
}

// TestWithholds: a store that reads exactly the declared size never
// receives all of a mismatching object; one that asks again after the
// error gets the same error.
func TestWithholds(t *testing.T) {
	good := []byte("pack bytes")
	for _, content := range [][]byte{[]byte("pack bytez"), append(bytes.Clone(good), '!')} {
		v := NewReader(bytes.NewReader(content), 10, sum(good))
		buf := make([]byte, 10)
		n, err := io.ReadFull(v, buf)
		if n == 10 || !errors.Is(err, ErrMismatch) {
			t.Errorf("ReadFull(%q) = %d, %v; want a mismatch before the end", content, n, err)
		}
		if n, err2 := v.Read(buf); n != 0 || err2 != err {
			t.Errorf("Read after the error = %d, %v; want 0, %v", n, err2, err)
		}
	}
}

// TestEOFWithData: a source that returns its last bytes with io.EOF in
// the same call is accepted; one that does so short of the size is not.
func TestEOFWithData(t *testing.T) {
	good := []byte("pack bytes")
	v := NewReader(&eofWith{data: good}, 10, sum(good))
	if got, err := io.ReadAll(v); err != nil || !bytes.Equal(got, good) {
		t.Errorf("ReadAll = %q, %v; want the content", got, err)
	}
	v = NewReader(&eofWith{data: good[:4]}, 10, sum(good))
	if got, err := io.ReadAll(v); !errors.Is(err, ErrMismatch) || len(got) != 0 {
		t.Errorf("ReadAll of a short source = %q, %v; want a mismatch", got, err)
	}
}

// eofWith returns all its data with io.EOF.
type eofWith struct{ data []byte }

func (r *eofWith) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// TestSourceError: an error of the source is returned as is and sticks.
func TestSourceError(t *testing.T) {
	boom := errors.New("boom")
	v := NewReader(io.MultiReader(strings.NewReader("pack"), iotest.ErrReader(boom)), 10, sum([]byte("pack bytes")))
	_, err := io.ReadAll(v)
	if err != boom || errors.Is(err, ErrMismatch) || v.Err() != boom {
		t.Errorf("ReadAll = %v (Err %v), want %v", err, v.Err(), boom)
	}
	if _, err := v.Read(make([]byte, 1)); err != boom {
		t.Errorf("Read after the error = %v, want %v", err, boom)
	}
}

func TestCheckEmpty(t *testing.T) {
	if err := CheckEmpty(emptySHA256); err != nil {
		t.Errorf("CheckEmpty(empty hash) = %v", err)
	}
	if err := CheckEmpty(sum([]byte("x"))); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "has SHA-256 "+emptySHA256) {
		t.Errorf("CheckEmpty(other hash) = %v, want a mismatch", err)
	}
}

// TestIotest runs the standard reader checks on a matching object.
func TestIotest(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	if err := iotest.TestReader(NewReader(bytes.NewReader(data), int64(len(data)), sum(data)), data); err != nil {
		t.Error(err)
	}
}
