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
