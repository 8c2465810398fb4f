package transfer

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// PartFunc uploads part number n (1-based) holding data.
type PartFunc func(ctx context.Context, n int, data []byte) error

// UploadParts reads r in parts of len(first) bytes, the first of which is
// already in first, and hands them to upload with at most bufs parts in
// memory (and in flight) at once. It returns the number of parts and bytes.
// The first failure cancels the parts still in flight and is returned.
func UploadParts(ctx context.Context, r io.Reader, first []byte, bufs int, upload PartFunc) (int, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	free := make(chan []byte, bufs)
	free <- first
	for range bufs - 1 {
		free <- nil
	}
	parts, total, size := 0, int64(0), len(first)
	for n := 1; ; n++ {
		var buf []byte
		select {
		case buf = <-free:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		k := size
		var rerr error
		if n == 1 {
			buf = first
		} else {
			if buf == nil {
				buf = make([]byte, size)
			}
			k, rerr = io.ReadFull(r, buf)
		}
		if k > 0 {
			parts, total = n, total+int64(k)
			wg.Add(1)
			go func(n int, data []byte) {
				defer wg.Done()
				if err := upload(ctx, n, data); err != nil {
					fail(err)
				}
				free <- data[:cap(data)]
			}(n, buf[:k])
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			fail(fmt.Errorf("read body: %w", rerr))
			break
		}
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	return parts, total, nil
}

// ReadUpTo reads r until EOF or limit bytes. Unless known says the body
// will fill the limit, the buffer starts small and grows (so that small
// bodies of unknown size stay small). full reports that limit bytes were
// read and r may hold more.
func ReadUpTo(r io.Reader, limit int, known bool) (buf []byte, full bool, err error) {
	buf = make([]byte, 0, min(limit, 64<<10))
	if known {
		buf = make([]byte, 0, limit)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) == limit {
				return buf, true, nil
			}
			grown := make([]byte, len(buf), min(limit, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("read body: %w", err)
		}
	}
}
