package importer

import (
	"context"
	"io"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/verify"
)

// maxBuffered is the largest file that is read into memory and verified
// before its Put (packs are 16 MiB by default). Such a file goes to the
// store as a seekable body — one request on the cloud stores — while the
// next file is read and hashed. Larger files are streamed through a
// verify.Reader.
const maxBuffered = 64 << 20

// putsInFlight is the number of files stored at once.
const putsInFlight = 2

// stageBuffers is the number of file buffers of an import: those being
// stored, and one being read. An import holds at most stageBuffers ×
// maxBuffered bytes.
const stageBuffers = putsInFlight + 1

// readPiece is how much is read and hashed at a time: the piece stays in
// the CPU cache between the two.
const readPiece = 1 << 20

// staged is one manifest file made ready for its Put by the stager.
type staged struct {
	f    drive.File
	name string  // the object name
	o    outcome // skipped or failed: done; copied: still to store
	why  string  // why it failed
	err  error   // a store or context error: the import stops
	// buffered: data is the verified content; otherwise the file is
	// streamed.
	buffered bool
	data     []byte
}

// stager looks up and reads the files of a manifest ahead of their Puts.
type stager struct {
	st        store.Store
	root      string
	container string
	limit     int64 // the largest file read into memory
	free      chan []byte
}

// stage starts reading files ahead, those up to limit bytes into memory.
// The files come out in order; the channel is closed after the last one,
// after an error, or when ctx is done. Every staged file's buffer goes
// back with done.
func stage(ctx context.Context, st store.Store, root, container string, limit int64, files []drive.File) (*stager, <-chan staged) {
	s := &stager{st: st, root: root, container: container, limit: limit, free: make(chan []byte, stageBuffers)}
	for range stageBuffers {
		s.free <- nil
	}
	out := make(chan staged)
	go func() {
		defer close(out)
		for _, f := range files {
			sf := s.prepare(ctx, f)
			select {
			case out <- sf:
			case <-ctx.Done():
				return
			}
			if sf.err != nil {
				return
			}
		}
	}()
	return s, out
}

// prepare names f's object, looks it up, and reads and verifies the file
// when it is small enough.
func (s *stager) prepare(ctx context.Context, f drive.File) staged {
	sf := staged{f: f, o: failed}
	var err error
	if sf.name, err = ObjectName(s.container, f.Path); err != nil {
		sf.why = err.Error()
		return sf
	}
	if sf.o, sf.why, sf.err = existing(ctx, s.st, sf.name, f); sf.o != failed || sf.why != "" || sf.err != nil {
		return sf
	}
	sf.o = copied
	if f.Size > s.limit {
		return sf
	}
	var buf []byte
	select {
	case buf = <-s.free:
	case <-ctx.Done():
		sf.err = ctx.Err()
		return sf
	}
	if int64(cap(buf)) < f.Size {
		buf = make([]byte, (f.Size+readPiece-1)/readPiece*readPiece)
	}
	sf.data, sf.why = readVerified(s.root, f, buf[:f.Size])
	if sf.why != "" {
		sf.o = failed
		s.free <- buf
		return sf
	}
	sf.buffered = true
	return sf
}

// done gives sf's buffer back.
func (s *stager) done(sf staged) {
	if sf.buffered {
		s.free <- sf.data
	}
}

// readVerified reads file f, which must fill buf exactly and match its
// SHA-256, into buf; a mismatch is a reason, and buf is then not returned.
func readVerified(root string, f drive.File, buf []byte) ([]byte, string) {
	r, why := openChecked(root, f)
	if why != "" {
		return nil, why
	}
	defer r.Close()
	v := verify.NewReader(r, f.Size, f.SHA256)
	for off := 0; off < len(buf); {
		n, err := v.Read(buf[off:min(off+readPiece, len(buf))])
		off += n
		if err != nil && err != io.EOF {
			return nil, driveErr(f, err).Error()
		}
	}
	if !v.Done() {
		// An empty file: the first read checks that it is empty.
		if _, err := v.Read(nil); err != io.EOF {
			return nil, driveErr(f, err).Error()
		}
	}
	return buf, ""
}
