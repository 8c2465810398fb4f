package vault

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// crypto/tls sends every record — at most 16 KiB — with its own write to
// the socket. Moving a 16 MiB pack then takes a thousand system calls on
// each side, which on a fast link costs more than the encryption. A
// batchedTLS connection collects the records of one Write and sends them
// with one system call; handshake messages, alerts and anything written
// outside Write still go out at once.

// batchSize is how much plaintext one batch carries at most: 16 full
// records.
const batchSize = 256 << 10

// batchCap holds batchSize of plaintext as records, with room for their
// headers and tags, so that a batch never reallocates.
const batchCap = batchSize + 16<<10

// bufPool holds the record batches of Writes in progress and the
// read-ahead of connections; one per listener or client.
type bufPool struct{ p sync.Pool }

func newBufPool() *bufPool {
	return &bufPool{p: sync.Pool{New: func() any { b := make([]byte, 0, batchCap); return &b }}}
}

// batchConn is the socket under the TLS layer: it passes writes through,
// or collects them between begin and end; and it reads what the socket
// has, up to a whole buffer, where TLS would ask for one record at a time.
type batchConn struct {
	net.Conn
	pool *bufPool
	mu   sync.Mutex
	buf  *[]byte // non-nil between begin and end

	// Read side: TLS reads from one goroutine at a time. rbuf holds
	// rbuf[rpos:] unread; it goes back to the pool once drained, so idle
	// connections hold no buffer.
	rbuf *[]byte
	rpos int
}

func (b *batchConn) Read(p []byte) (int, error) {
	if b.rbuf == nil {
		if len(p) >= 64<<10 {
			return b.Conn.Read(p)
		}
		buf := b.pool.p.Get().(*[]byte)
		n, err := b.Conn.Read((*buf)[:cap(*buf)])
		if n == 0 {
			b.pool.p.Put(buf)
			return 0, err
		}
		*buf = (*buf)[:n]
		b.rbuf, b.rpos = buf, 0
	}
	n := copy(p, (*b.rbuf)[b.rpos:])
	b.rpos += n
	if b.rpos == len(*b.rbuf) {
		*b.rbuf = (*b.rbuf)[:0]
		b.pool.p.Put(b.rbuf)
		b.rbuf = nil
	}
	return n, nil
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		return b.Conn.Write(p)
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

func (b *batchConn) begin() {
	b.mu.Lock()
	b.buf = b.pool.p.Get().(*[]byte)
	b.mu.Unlock()
}

// end sends what was collected.
func (b *batchConn) end() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.buf
	b.buf = nil
	_, err := b.Conn.Write(*buf)
	*buf = (*buf)[:0]
	if cap(*buf) <= 2*batchCap { // a batch outgrows batchCap only when TLS adds a message of its own
		b.pool.p.Put(buf)
	}
	return err
}

// batchedTLS is a TLS connection whose Writes reach the socket in one
// system call each.
type batchedTLS struct {
	*tls.Conn
	raw *batchConn
	wmu sync.Mutex
}

func newBatchedTLS(raw net.Conn, pool *bufPool, cfg *tls.Config, server bool) *batchedTLS {
	bc := &batchConn{Conn: raw, pool: pool}
	if server {
		return &batchedTLS{Conn: tls.Server(bc, cfg), raw: bc}
	}
	return &batchedTLS{Conn: tls.Client(bc, cfg), raw: bc}
}

// Write encrypts p and sends its records batchSize of plaintext at a
// time, each batch with one system call; a larger p would only make a
// larger buffer. The handshake runs first, unbatched: its flights must not
// wait.
func (c *batchedTLS) Write(p []byte) (int, error) {
	if err := c.Conn.Handshake(); err != nil {
		return 0, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for len(p) > 0 {
		m := min(len(p), batchSize)
		c.raw.begin()
		w, err := c.Conn.Write(p[:m])
		if ferr := c.raw.end(); err == nil && ferr != nil {
			w, err = 0, ferr
		}
		n += w
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// NewTLSListener returns a listener whose connections speak TLS with cfg
// and batch their records (see batchedTLS). An http.Server serving it sees
// plain connections: it does not offer HTTP/2, and Request.TLS is nil.
func NewTLSListener(inner net.Listener, cfg *tls.Config) net.Listener {
	return &tlsListener{Listener: inner, cfg: cfg, pool: newBufPool()}
}

type tlsListener struct {
	net.Listener
	cfg  *tls.Config
	pool *bufPool
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newBatchedTLS(c, l.pool, l.cfg, true), nil
}

// dialTLS dials addr and completes a batched TLS handshake.
func dialTLS(ctx context.Context, d *net.Dialer, pool *bufPool, cfg *tls.Config, network, addr string) (net.Conn, error) {
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	c := newBatchedTLS(raw, pool, cfg, false)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}
