package vault

import (
	"bytes"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"testing"
)

// TestBatchedTLS sends data of awkward sizes both ways at once between a
// batched client and a batched server, and checks every byte.
func TestBatchedTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS() // for its certificate
	cert := ts.TLS.Certificates[0]
	ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tl := NewTLSListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	rng := rand.New(rand.NewPCG(1, 2))
	var msgs [][]byte
	for _, n := range []int{1, 100, 16 << 10, 16<<10 + 1, 300 << 10, 2 << 20, 7} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		msgs = append(msgs, b)
	}
	all := bytes.Join(msgs, nil)
	serverErr := make(chan error, 1)
	go func() {
		c, err := tl.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		got := make([]byte, len(all))
		done := make(chan error, 1)
		go func() { _, err := io.ReadFull(c, got); done <- err }()
		for _, m := range msgs { // echo the same stream back while reading
			if _, err := c.Write(m); err != nil {
				serverErr <- err
				return
			}
		}
		if err := <-done; err != nil || !bytes.Equal(got, all) {
			serverErr <- io.ErrUnexpectedEOF
			return
		}
		serverErr <- nil
	}()
	cfg, _ := TLSConfig(Endpoint{URL: "https://127.0.0.1", Fingerprint: FingerprintOf(cert.Certificate[0])})
	c, err := dialTLS(t.Context(), &net.Dialer{}, newBufPool(), cfg, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make([]byte, len(all))
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(c, got); done <- err }()
	for _, m := range msgs {
		if _, err := c.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil || !bytes.Equal(got, all) {
		t.Fatalf("client read %v, equal %v", err, bytes.Equal(got, all))
	}
	if err := <-serverErr; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// sizeRecorder is a connection that remembers its largest Write.
type sizeRecorder struct {
	net.Conn
	max int
}

func (s *sizeRecorder) Write(p []byte) (int, error) {
	s.max = max(s.max, len(p))
	return s.Conn.Write(p)
}

// TestBatchedTLSLargeWrite checks that a Write of many megabytes — a
// store's WriterTo hands the response its whole object — goes out in
// batches of bounded size, each within a pool buffer, and arrives whole.
func TestBatchedTLSLargeWrite(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	ts.Close()
	a, b := net.Pipe()
	rec := &sizeRecorder{Conn: a}
	pool := newBufPool()
	srv := newBatchedTLS(rec, pool, &tls.Config{Certificates: []tls.Certificate{cert}}, true)
	cfg, _ := TLSConfig(Endpoint{URL: "https://127.0.0.1", Fingerprint: FingerprintOf(cert.Certificate[0])})
	cfg.ServerName = "127.0.0.1"
	cli := newBatchedTLS(b, pool, cfg, false)
	defer a.Close() // not the TLS side: over a pipe, its close_notify would wait for a reader
	defer b.Close()
	msg := make([]byte, 1<<20+123)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range msg {
		msg[i] = byte(rng.Uint32())
	}
	errc := make(chan error, 1)
	go func() {
		_, err := srv.Write(msg)
		errc <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("received bytes differ")
	}
	if rec.max > batchCap {
		t.Errorf("largest socket write %d bytes, want at most %d", rec.max, batchCap)
	}
}
