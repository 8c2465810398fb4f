package transfer

import (
	"errors"
	"fmt"
	"io"
)

// Section presents bytes [start, start+size) of a seeker as a whole stream
// positioned at 0, so that an attempt can be rewound.
type Section struct {
	rs          io.ReadSeeker
	start, size int64
	pos         int64
}

// ErrUnseekable is returned by NewSection for a body that claims io.Seeker
// but cannot seek (a pipe).
var ErrUnseekable = errors.New("body cannot seek")

// NewSection checks that rs holds exactly size more bytes from where it is
// and returns them as a Section. It returns ErrUnseekable when rs cannot
// seek at all.
func NewSection(rs io.ReadSeeker, size int64) (*Section, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, ErrUnseekable
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, ErrUnseekable
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek body back: %w", err)
	}
	if end-start != size {
		return nil, fmt.Errorf("body holds %d bytes, size says %d", end-start, size)
	}
	return &Section{rs: rs, start: start, size: size}, nil
}

// Read reads from the section; a body that ends early is
// io.ErrUnexpectedEOF.
func (s *Section) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-s.pos {
		p = p[:s.size-s.pos]
	}
	n, err := s.rs.Read(p)
	s.pos += int64(n)
	if err == io.EOF && s.pos < s.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Seek moves within the section; offsets are relative to its start.
func (s *Section) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 || offset > s.size {
		return 0, fmt.Errorf("seek to %d outside [0, %d]", offset, s.size)
	}
	if _, err := s.rs.Seek(s.start+offset, io.SeekStart); err != nil {
		return 0, err
	}
	s.pos = offset
	return offset, nil
}

// Close does nothing: the caller owns the underlying reader.
func (s *Section) Close() error { return nil }
