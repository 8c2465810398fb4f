package vault

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"
)

// TLSConfig returns the client TLS configuration for e: with a fingerprint,
// the service's leaf certificate must hash to it and nothing else is
// checked (the service's self-signed certificate names no CA); without
// one, the usual verification against the system's roots.
func TLSConfig(e Endpoint) (*tls.Config, error) {
	if e.Fingerprint == "" {
		return &tls.Config{MinVersion: tls.VersionTLS12}, nil
	}
	want, err := ParseFingerprint(e.Fingerprint)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The pin below replaces chain and name verification.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%w: no certificate", ErrFingerprint)
			}
			got := FingerprintOf(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				return fmt.Errorf("%w: %s presented %s, pinned %s; if the service's certificate was replaced, get new credential files from the service",
					ErrFingerprint, e.URL, got, want)
			}
			return nil
		},
	}, nil
}

// NewHTTPClient returns an HTTP client for the service at e, with its
// certificate pinned when e has a fingerprint. It has no total timeout —
// uploads take as long as they take — but bounds connecting, the TLS
// handshake and the wait for response headers.
func NewHTTPClient(e Endpoint) (*http.Client, error) {
	tc, err := TLSConfig(e)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	pool := newBufPool()
	tr := &http.Transport{
		Proxy:       http.ProxyFromEnvironment,
		DialContext: d.DialContext,
		// Batched TLS: see tlsconn.go. HTTP/1.1 only, which is what the
		// vault speaks.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
			defer cancel()
			return dialTLS(ctx, d, pool, tc, network, addr)
		},
		// Used instead of the above only through an HTTPS proxy: the pin
		// still holds.
		TLSClientConfig:       tc,
		ResponseHeaderTimeout: 5 * time.Minute,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		WriteBufferSize:       128 << 10,
		ReadBufferSize:        128 << 10,
	}
	return &http.Client{Transport: tr}, nil
}
