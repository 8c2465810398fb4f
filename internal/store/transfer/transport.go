package transfer

import (
	"net"
	"net/http"
	"time"
)

// NewTransport returns an HTTP transport sized for conns parallel part
// transfers. It stays on HTTP/1.1 (a custom dialer and no
// ForceAttemptHTTP2): parallel parts go faster over several TCP connections
// than multiplexed on one. It never asks for gzip: object bytes and ranges
// must arrive as stored.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   max(conns*2, 8),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
		DisableCompression:    true,
	}
}
