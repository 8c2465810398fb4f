// Package verify streams an object whose size and SHA-256 are declared in
// advance (by a drive manifest, by a content-addressed name) into a
// create-only store, so that a mismatching object never appears.
//
// A store makes an object visible only once its Put read all of it. The
// Reader therefore checks, on the read that would deliver the object's
// last bytes, that the source ends there and that the hash matches; on a
// mismatch it withholds those bytes and fails, so the Put aborts.
package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrMismatch: the data differs from its declared size or SHA-256. The
// errors of a Reader match it with errors.Is; their text is a predicate
// ("has SHA-256 …, expected …") for the caller to put after the name of
// its object.
var ErrMismatch = errors.New("differs from its declared size or SHA-256")

// mismatch is a mismatch with its details, matching ErrMismatch.
type mismatch struct{ msg string }

func (e *mismatch) Error() string        { return e.msg }
func (e *mismatch) Is(target error) bool { return target == ErrMismatch }

func mismatchf(format string, args ...any) error {
	return &mismatch{fmt.Sprintf(format, args...)}
}

// Reader reads an object of a declared size and SHA-256 from a source,
// failing rather than delivering the bytes that would complete a
// mismatching object. Its first error is sticky.
type Reader struct {
	r    io.Reader
	h    hash.Hash
	n    int64 // bytes read from r and hashed
	size int64
	want string
	done bool // the final check ran
	err  error
}

// NewReader returns a Reader of the size bytes of r, which must end
// there and have the SHA-256 sha256Hex (lowercase hex).
func NewReader(r io.Reader, size int64, sha256Hex string) *Reader {
	return &Reader{r: r, h: sha256.New(), size: size, want: sha256Hex}
}

// CheckEmpty returns the error a Reader of an empty object declared with
// sha256Hex fails with, or nil: for callers that must check an empty
// object before a store that may create it without reading.
func CheckEmpty(sha256Hex string) error {
	_, err := NewReader(eofReader{}, 0, sha256Hex).Read(nil)
	if err == io.EOF {
		return nil
	}
	return err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Read implements io.Reader. It returns io.EOF only after the whole
// object was read and verified; an error of the source is returned as
// is, a mismatch as an error matching ErrMismatch.
func (v *Reader) Read(p []byte) (int, error) {
	switch {
	case v.err != nil:
		return 0, v.err
	case v.size < 0:
		return 0, v.fail(mismatchf("cannot have the negative size %d", v.size))
	case v.n == v.size:
		if !v.done {
			if err := v.finish(); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), v.size-v.n)]
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case n > 0 && v.n == v.size:
		if ferr := v.finish(); ferr != nil {
			return 0, ferr
		}
		return n, nil
	case err == io.EOF:
		return 0, v.fail(mismatchf("ends after %d bytes, expected %d", v.n, v.size))
	case err != nil:
		return 0, v.fail(err)
	}
	return n, nil
}

// finish checks, once every byte was hashed, that the source ends and
// that the hash matches.
func (v *Reader) finish() error {
	v.done = true
	var probe [1]byte
	if n, _ := io.ReadFull(v.r, probe[:]); n > 0 {
		return v.fail(mismatchf("is longer than the expected %d bytes", v.size))
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return v.fail(mismatchf("has SHA-256 %s, expected %s", got, v.want))
	}
	return nil
}

func (v *Reader) fail(err error) error {
	v.err = err
	return err
}

// Done reports whether the whole object was read and verified: it has
// the declared size and SHA-256.
func (v *Reader) Done() bool { return v.done && v.err == nil }

// Err returns the Reader's sticky error: a mismatch (matching
// ErrMismatch) or an error of the source; nil if none happened.
func (v *Reader) Err() error { return v.err }
