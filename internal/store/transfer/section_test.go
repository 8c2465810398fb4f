package transfer

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestSection(t *testing.T) {
	r := bytes.NewReader([]byte("xxhello"))
	r.Seek(2, io.SeekStart)
	sec, err := NewSection(r, 5)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // read, rewind, read again
		if _, err := sec.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(sec); err != nil || string(b) != "hello" {
			t.Fatalf("section read %q, %v; want hello", b, err)
		}
	}
	if _, err := NewSection(bytes.NewReader([]byte("abc")), 5); err == nil || errors.Is(err, ErrUnseekable) {
		t.Errorf("NewSection of a 3-byte body with size 5 = %v, want a size error", err)
	}
}
