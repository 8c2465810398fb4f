package vault

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestFullReader(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	got, err := io.ReadAll(fullReader{iotest.HalfReader(bytes.NewReader(data))})
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("ReadAll(fullReader) = %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
	r := fullReader{iotest.OneByteReader(bytes.NewReader(data))}
	p := make([]byte, 300)
	if n, err := r.Read(p); n != 300 || err != nil {
		t.Errorf("Read(300) from a one-byte reader = %d, %v; want 300, nil", n, err)
	}
	// An error that looks like io.ReadFull's own must not turn into a loop.
	r = fullReader{io.MultiReader(bytes.NewReader(data[:10]), iotest.ErrReader(io.ErrUnexpectedEOF))}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAll of a truncated body = %v, want io.ErrUnexpectedEOF", err)
	}
}
