package service

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedship/seedship/internal/vault"
)

// metrics collects the service's Prometheus metrics and writes them in the
// text exposition format (version 0.0.4), by hand: there are few.
type metrics struct {
	mu       sync.Mutex
	requests map[reqKey]*reqStats
	bytesIn  uint64
	bytesOut uint64
	inFlight atomic.Int64
	started  time.Time
	// usage reports per-vault storage; set once the vault server exists.
	usage func() map[string]vault.VaultUsage
}

type reqKey struct {
	method, route string
	code          int
}

type reqStats struct {
	count   uint64
	seconds float64
}

func newMetrics(now time.Time) *metrics {
	return &metrics{requests: map[reqKey]*reqStats{}, started: now}
}

// observe records one finished request (vault.ServerConfig.Observe).
func (m *metrics) observe(ri vault.RequestInfo) {
	route := ri.Route
	if route == "" || route == "/" {
		route = "other"
	}
	k := reqKey{ri.Method, route, ri.Status}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.requests[k]
	if s == nil {
		s = &reqStats{}
		m.requests[k] = s
	}
	s.count++
	s.seconds += ri.Duration.Seconds()
	m.bytesIn += uint64(max(ri.BytesIn, 0))
	m.bytesOut += uint64(max(ri.BytesOut, 0))
}

// track counts in-flight requests around h.
func (m *metrics) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Add(1)
		defer m.inFlight.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP writes the exposition.
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	m.write(bw)
	bw.Flush()
}

func (m *metrics) write(w *bufio.Writer) {
	m.mu.Lock()
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	stats := make(map[reqKey]reqStats, len(keys))
	for _, k := range keys {
		stats[k] = *m.requests[k]
	}
	in, out := m.bytesIn, m.bytesOut
	m.mu.Unlock()
	slices.SortFunc(keys, func(a, b reqKey) int {
		return strings.Compare(fmt.Sprint(a.route, a.method, a.code), fmt.Sprint(b.route, b.method, b.code))
	})

	header(w, "seedshipd_http_requests_total", "counter", "HTTP requests by method, route and status code.")
	for _, k := range keys {
		fmt.Fprintf(w, "seedshipd_http_requests_total{%s} %d\n", k.labels(), stats[k].count)
	}
	header(w, "seedshipd_http_request_errors_total", "counter", "HTTP requests answered with a status of 400 or more.")
	for _, k := range keys {
		if k.code >= 400 {
			fmt.Fprintf(w, "seedshipd_http_request_errors_total{%s} %d\n", k.labels(), stats[k].count)
		}
	}
	header(w, "seedshipd_http_request_duration_seconds_total", "counter", "Time spent serving requests, by method, route and status code.")
	for _, k := range keys {
		fmt.Fprintf(w, "seedshipd_http_request_duration_seconds_total{%s} %g\n", k.labels(), stats[k].seconds)
	}
	header(w, "seedshipd_http_received_bytes_total", "counter", "Request body bytes received.")
	fmt.Fprintf(w, "seedshipd_http_received_bytes_total %d\n", in)
	header(w, "seedshipd_http_sent_bytes_total", "counter", "Response body bytes sent.")
	fmt.Fprintf(w, "seedshipd_http_sent_bytes_total %d\n", out)
	header(w, "seedshipd_http_requests_in_flight", "gauge", "Requests being served.")
	fmt.Fprintf(w, "seedshipd_http_requests_in_flight %d\n", m.inFlight.Load())
	header(w, "seedshipd_start_time_seconds", "gauge", "Start time of the process, Unix seconds.")
	fmt.Fprintf(w, "seedshipd_start_time_seconds %d\n", m.started.Unix())
	m.writeUsage(w)
}

func (m *metrics) writeUsage(w *bufio.Writer) {
	if m.usage == nil {
		return
	}
	u := m.usage()
	ids := make([]string, 0, len(u))
	for id := range u {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	header(w, "seedshipd_vault_stored_bytes", "gauge", "Bytes stored per vault (recounted every usage_scan_interval).")
	for _, id := range ids {
		fmt.Fprintf(w, "seedshipd_vault_stored_bytes{vault=%s} %d\n", quote(id), u[id].Bytes)
	}
	header(w, "seedshipd_vault_objects", "gauge", "Objects stored per vault.")
	for _, id := range ids {
		fmt.Fprintf(w, "seedshipd_vault_objects{vault=%s} %d\n", quote(id), u[id].Objects)
	}
}

func header(w *bufio.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (k reqKey) labels() string {
	return "method=" + quote(k.method) + ",route=" + quote(k.route) + ",code=" + quote(strconv.Itoa(k.code))
}

// quote escapes a label value: backslash, double quote and newline.
func quote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
	return `"` + s + `"`
}
