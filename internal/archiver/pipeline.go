package archiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seedship/seedship/internal/chunker"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
)

// run is the state of one backup: the pipeline's channels, buffers, counters
// and errors.
type run struct {
	a       *Archiver
	ctx     context.Context
	cancel  context.CancelFunc
	start   time.Time
	jobs    chan *fileState // walker -> readers
	chunks  chan chunk      // readers -> savers
	bufs    *bufPool
	stats   counters
	errs    errorList
	current []atomic.Pointer[string] // file each reader is on, for progress
	roots   atomic.Int64             // backed-up paths that exist
	rootID  oid.ID                   // set when the root tree is saved
	loads   sync.WaitGroup           // parent tree prefetches
	loadSem chan struct{}

	failMu sync.Mutex
	fatal  error
}

// chunk is one piece of a file on its way to the repository.
type chunk struct {
	file *fileState
	idx  int
	data []byte // a pooled buffer
}

func (a *Archiver) newRun(ctx context.Context, start time.Time) *run {
	ctx, cancel := context.WithCancel(ctx)
	n := max(2*a.opts.Workers, 2)
	return &run{
		a: a, ctx: ctx, cancel: cancel, start: start,
		jobs:    make(chan *fileState, a.opts.Readers),
		chunks:  make(chan chunk, n),
		bufs:    newBufPool(n),
		current: make([]atomic.Pointer[string], a.opts.Readers),
		loadSem: make(chan struct{}, maxPrefetch),
	}
}

// execute runs the pipeline around walk, which runs in the calling
// goroutine and submits files; it returns once every goroutine has stopped.
func (r *run) execute(walk func(), scanPaths []string) error {
	var readers, savers sync.WaitGroup
	for range r.a.opts.Workers {
		savers.Go(r.saver)
	}
	for i := range r.a.opts.Readers {
		readers.Go(func() { r.reader(i) })
	}
	stopAux := r.startAux(scanPaths)
	walk()
	r.loads.Wait()
	close(r.jobs)
	readers.Wait()
	close(r.chunks)
	savers.Wait()
	stopAux()
	return r.err()
}

// fail records the first fatal error and stops the run.
func (r *run) fail(err error) {
	r.failMu.Lock()
	if r.fatal == nil {
		r.fatal = err
	}
	r.failMu.Unlock()
	r.cancel()
}

func (r *run) err() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	if r.fatal != nil {
		return r.fatal
	}
	return r.ctx.Err()
}

// reader chunks the files it is given, one at a time.
func (r *run) reader(slot int) {
	ch := chunker.New(nil, r.a.repo.ChunkerSeed())
	for f := range r.jobs {
		if r.ctx.Err() != nil {
			continue // drain; nothing completes after a failure
		}
		r.current[slot].Store(&f.path)
		r.readFile(ch, f)
		r.current[slot].Store(nil)
	}
}

func (r *run) readFile(ch *chunker.Chunker, f *fileState) {
	src, closeSrc, err := r.openSource(f)
	if err != nil {
		f.err = err
		f.done()
		return
	}
	defer closeSrc()
	ch.Reset(src)
	for idx := 0; ; idx++ {
		buf, err := r.bufs.get(r.ctx)
		if err != nil {
			return
		}
		data, err := ch.Next(buf)
		if err != nil {
			r.bufs.put(buf)
			if err != io.EOF {
				f.err = fileError("read", f.path, err)
			}
			break
		}
		f.read += uint64(len(data))
		f.pending.Add(1)
		r.chunks <- chunk{file: f, idx: idx, data: data}
	}
	f.done()
}

func (r *run) openSource(f *fileState) (io.Reader, func(), *FileError) {
	if f.src != nil {
		return f.src, func() {}, nil
	}
	file, err := r.a.open(f.path, false)
	if err != nil {
		return nil, nil, fileError("open", f.path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(file.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		file.Close()
		if err == nil {
			err = errors.New("no longer a regular file")
		}
		return nil, nil, fileError("open", f.path, err)
	}
	return file, func() { file.Close() }, nil
}

// saver stores chunks. It drains the channel even after a failure so that
// readers waiting for buffers can finish.
func (r *run) saver() {
	for c := range r.chunks {
		if r.ctx.Err() == nil {
			r.save(c)
		}
		r.bufs.put(c.data)
	}
}

func (r *run) save(c chunk) {
	id, added, err := r.a.repo.SaveBlob(r.ctx, pack.DataBlob, c.data)
	if err != nil {
		r.fail(fmt.Errorf("save chunk %d of %q: %w", c.idx, c.file.path, err))
		return
	}
	n := uint64(len(c.data))
	r.stats.bytesDone.Add(n)
	if added {
		r.stats.dataBlobs.Add(1)
		r.stats.dataAdded.Add(n)
	}
	c.file.setContent(c.idx, id)
	c.file.done()
}

// openNoatime opens path read-only without following a final symlink,
// without blocking on FIFOs and, where permitted, without updating its
// access time (so that a backup does not change what the next one records).
func openNoatime(path string, dir bool) (*os.File, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOATIME
	if dir {
		flags |= unix.O_DIRECTORY
	}
	fd, err := unix.Open(path, flags, 0)
	if errors.Is(err, unix.EPERM) {
		fd, err = unix.Open(path, flags&^unix.O_NOATIME, 0) // not the owner
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// bufPool hands out at most n chunk buffers (up to chunker.MaxSize each);
// get blocks while all are in use, which bounds memory.
type bufPool struct {
	ch chan []byte
}

func newBufPool(n int) *bufPool {
	p := &bufPool{ch: make(chan []byte, n)}
	for range n {
		p.ch <- nil // allocated on first use
	}
	return p
}

func (p *bufPool) get(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.ch:
		if b == nil {
			// Most chunks are near the average size; Chunker.Next grows
			// a buffer when a chunk is larger, and the pool keeps it.
			b = make([]byte, 0, 2*chunker.AvgSize)
		}
		return b[:0], nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *bufPool) put(b []byte) { p.ch <- b[:0] }
