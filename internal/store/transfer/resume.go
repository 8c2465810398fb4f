package transfer

import (
	"context"
	"errors"
	"io"
)

// ErrChanged is returned by a RangeOpener when the object changed between
// the first request and a resumed one.
var ErrChanged = errors.New("object changed while it was being read")

// RangeOpener opens the bytes [offset, offset+length) of one version of an
// object; length < 0 means to the end.
type RangeOpener func(ctx context.Context, offset, length int64) (io.ReadCloser, error)

// Download describes a ranged download that a ResumeReader delivers.
type Download struct {
	// Name names the object in retry log lines.
	Name string
	// Body is the first response's body; its first byte is at Offset.
	Body io.ReadCloser
	// Offset and Length are the range [Offset, Offset+Length) to deliver.
	Offset, Length int64
	// Open reopens the rest of the range, pinned to the same version.
	Open RangeOpener
	// Retry decides whether and when to reopen after a failure.
	Retry *Retrier
	// Fail renders the final error of a read that failed at offset.
	Fail func(offset int64, err error) error
}

// ResumeReader reads a ranged download and, when the connection breaks,
// reopens the rest of the range (pinned to the same object version).
type ResumeReader struct {
	ctx       context.Context
	name      string
	open      RangeOpener
	retry     *Retrier
	fail      func(offset int64, err error) error
	body      io.ReadCloser
	offset    int64 // next object offset to deliver
	remaining int64 // bytes still expected
}

// NewResumeReader returns a reader of the download d. ctx bounds every
// read and reopen.
func NewResumeReader(ctx context.Context, d Download) *ResumeReader {
	return &ResumeReader{ctx: ctx, name: d.Name, open: d.Open, retry: d.Retry, fail: d.Fail,
		body: d.Body, offset: d.Offset, remaining: d.Length}
}

// Read reads from the current body, reopening the rest of the range when
// it breaks; a body that ends early counts as a broken connection.
func (r *ResumeReader) Read(p []byte) (int, error) {
	if r.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	var n int
	err := r.retry.Do(r.ctx, "read "+r.name, func(attempt int) error {
		if r.body == nil {
			body, err := r.open(r.ctx, r.offset, r.remaining)
			if err != nil {
				return err
			}
			r.body = body
		}
		var err error
		n, err = r.body.Read(p)
		if n > 0 {
			return nil
		}
		if err == nil {
			return nil
		}
		r.body.Close()
		r.body = nil
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF // the server sent less than it promised
		}
		return err
	})
	r.offset += int64(n)
	r.remaining -= int64(n)
	if err != nil {
		return n, r.fail(r.offset, err)
	}
	return n, nil
}

// Close closes the current body; later reads return io.EOF.
func (r *ResumeReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	r.remaining = 0
	return err
}
