// Package vault is the vault: the part of the service where registered
// machines back up over HTTPS, and the client side of it.
//
// The server (Server, an http.Handler) exposes the object-store interface
// of internal/store over HTTP — put with streaming bodies, ranged get,
// stat, list, delete — on top of any store.Store; machine M of vault V sees
// the prefix vaults/V/machines/M/ of that store as its whole repository. It
// also serves the account admin's vault and credential endpoints, machine
// registration, the import-job API of offline seeding (Jobs holds its
// logic) and the seed endpoints that adopt an imported job's storage
// container into a machine's repository. Every call is authenticated and
// authorised; see docs/api.md for the endpoints and their status codes.
//
// The client (Client) is one more store.Store, with the service's
// certificate pinned by fingerprint. Register turns a vault credentials
// file into a registered machine; LoadMachineConfig and OpenStore give
// seedship its vault repository afterwards. AccountClient is the account
// admin's client of the import-job API.
package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
)

// Limits bound what one request may cost. Zero fields take the defaults.
type Limits struct {
	// MaxObjectSize bounds one uploaded object (default 4 GiB).
	MaxObjectSize int64
	// MaxBodySize bounds JSON request bodies (default 1 MiB).
	MaxBodySize int64
	// RequestTimeout bounds a whole non-streaming request (default 30 s).
	RequestTimeout time.Duration
	// IdleTimeout bounds the pause between two reads of an upload or two
	// writes of a download; those have no total timeout (default 60 s).
	IdleTimeout time.Duration
	// AuthFailures is how many failed authentications one source IP may
	// make per minute, and in a burst (default 10; negative: no limit).
	AuthFailures int
	// SeedTimeout bounds a whole seed adopt or cleanup request, which
	// copies or deletes objects for up to SeedBatchTime and then finishes
	// the object at hand (default 3 min).
	SeedTimeout time.Duration
	// SeedBatchTime, SeedBatchBytes and SeedBatchObjects end one adopt or
	// cleanup call, whichever is reached first, once an object is handled
	// (defaults 20 s, 16 GiB, 10000 objects: time is the bound that matters;
	// each call lists the container again); the caller continues from the
	// answer's next.
	SeedBatchTime    time.Duration
	SeedBatchBytes   int64
	SeedBatchObjects int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxObjectSize, 4<<30)
	def(&l.MaxBodySize, 1<<20)
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 30 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 60 * time.Second
	}
	if l.AuthFailures == 0 {
		l.AuthFailures = 10
	}
	if l.SeedTimeout <= 0 {
		l.SeedTimeout = 3 * time.Minute
	}
	if l.SeedBatchTime <= 0 {
		l.SeedBatchTime = 20 * time.Second
	}
	def(&l.SeedBatchBytes, 16<<30)
	if l.SeedBatchObjects <= 0 {
		l.SeedBatchObjects = 10000
	}
	return l
}

// RequestInfo describes one finished request, for metrics.
type RequestInfo struct {
	Method string
	// Route is the matched pattern, e.g. "PUT /v1/vaults/{vault}/machines/{machine}/objects/{name...}".
	Route    string
	Status   int
	BytesIn  int64
	BytesOut int64
	Duration time.Duration
}

// ServerConfig configures a Server.
type ServerConfig struct {
	DB meta.DB
	// Store holds every machine's repository under vaults/<vault>/machines/<machine>/.
	Store store.Store
	// Endpoint is written into credential files issued through the API.
	Endpoint Endpoint
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now
	Rand     io.Reader        // default crypto/rand.Reader
	Limits   Limits
	// Metrics serves GET /metrics to operators (to anyone with
	// MetricsPublic); nil answers 404.
	Metrics       http.Handler
	MetricsPublic bool
	// Observe, when set, is called once per finished request.
	Observe func(RequestInfo)
	// OpenStorage opens a storage account's store location (read and
	// delete only), for adopting import jobs' seeds; nil answers those
	// requests 503.
	OpenStorage func(ctx context.Context, location string) (store.Store, error)
}

// Server is the vault's HTTP API.
type Server struct {
	cfg     ServerConfig
	admin   *Admin
	jobs    *Jobs
	limiter *limiter
	usage   *usage
	storage *storages
	mux     *http.ServeMux
	reqSeq  atomic.Uint64
	reqBase string
}

var _ http.Handler = (*Server)(nil)

// NewServer returns the API handler.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	b := make([]byte, 4)
	io.ReadFull(cfg.Rand, b)
	s := &Server{
		cfg:     cfg,
		admin:   &Admin{DB: cfg.DB, Endpoint: cfg.Endpoint, Now: cfg.Now, Rand: cfg.Rand},
		jobs:    &Jobs{DB: cfg.DB, Now: cfg.Now, Rand: cfg.Rand},
		limiter: newLimiter(cfg.Limits.AuthFailures, cfg.Now),
		usage:   newUsage(),
		storage: &storages{open: cfg.OpenStorage, m: map[string]store.Store{}},
		mux:     http.NewServeMux(),
		reqBase: hex.EncodeToString(b),
	}
	s.routes()
	return s
}

// routeFlags say how a route is bounded and authenticated.
type routeFlags uint8

const (
	// quick requests are bounded as a whole by RequestTimeout.
	quick routeFlags = 0
	// streaming requests move object bodies: IdleTimeout between reads or
	// writes, no total timeout.
	streaming routeFlags = 1 << iota
	// public routes do not authenticate by API key.
	public
	// long requests copy objects inside the service: bounded as a whole by
	// SeedTimeout instead of RequestTimeout.
	long
)

func (s *Server) routes() {
	const machine = "/v1/vaults/{vault}/machines/{machine}"
	s.mux.HandleFunc("GET /healthz", s.healthz)
	metricsFlags := quick
	if s.cfg.MetricsPublic {
		metricsFlags |= public
	}
	s.route("GET /metrics", metricsFlags, s.metrics)
	s.route("GET /v1/whoami", quick, s.whoami)
	s.route("POST /v1/register", public, s.register)
	s.route("GET /v1/vaults", quick, s.listVaults)
	s.route("POST /v1/vaults", quick, s.createVault)
	s.route("GET /v1/vaults/{vault}", quick, s.getVault)
	s.route("POST /v1/vaults/{vault}/credentials", quick, s.createCredentials)
	s.route("GET /v1/vaults/{vault}/machines", quick, s.listMachines)
	s.route("GET "+machine, quick, s.getMachine)
	s.route("GET "+machine+"/objects", streaming, s.listObjects)
	s.route("PUT "+machine+"/objects/{name...}", streaming, s.putObject)
	s.route("GET "+machine+"/objects/{name...}", streaming, s.getObject)
	s.route("HEAD "+machine+"/objects/{name...}", quick, s.statObject)
	s.route("DELETE "+machine+"/objects/{name...}", quick, s.deleteObject)
	s.jobRoutes()
	s.seedRoutes()
	s.mux.HandleFunc("/", s.fallback)
}

// ServeHTTP implements http.Handler: it counts, logs and observes every
// request around the routed handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	id := s.reqBase + "-" + hexUint(s.reqSeq.Add(1))
	cw := &countingWriter{ResponseWriter: w}
	cw.Header().Set("X-Request-Id", id)
	body := &countingBody{ReadCloser: r.Body}
	r.Body = body
	info := &reqLog{}
	r = r.WithContext(withReqLog(r.Context(), info))
	s.mux.ServeHTTP(cw, r)
	ri := RequestInfo{Method: r.Method, Route: r.Pattern, Status: cw.status(), BytesIn: body.n,
		BytesOut: cw.n, Duration: s.cfg.Now().Sub(start)}
	s.logRequest(r, id, ri, info)
	if s.cfg.Observe != nil {
		s.cfg.Observe(ri)
	}
	if info.abort {
		// The response began and cannot become an error: cut it, so the
		// client sees a truncated body rather than a short success.
		panic(http.ErrAbortHandler)
	}
}

func hexUint(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			return string(b[i:])
		}
	}
}

// logRequest writes one structured line per request. The Authorization
// header and any credential are never logged; the key id is.
func (s *Server) logRequest(r *http.Request, id string, ri RequestInfo, info *reqLog) {
	level := slog.LevelInfo
	if ri.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("id", id), slog.String("method", ri.Method), slog.String("route", ri.Route),
		slog.Int("status", ri.Status), slog.Int64("bytes_in", ri.BytesIn), slog.Int64("bytes_out", ri.BytesOut),
		slog.Duration("duration", ri.Duration), slog.String("remote", remoteIP(r)),
	}
	if info.role != "" {
		attrs = append(attrs, slog.String("role", string(info.role)), slog.String("key", info.keyID))
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("error", info.err.Error()))
	}
	s.cfg.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// fallback answers unknown paths with 404 and known paths with the wrong
// method with 405, both with the JSON error body.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "PUT", "POST", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, apiErr(http.StatusNotFound, CodeNotFound, "no such endpoint: %s", r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, apiErr(http.StatusMethodNotAllowed, CodeBadRequest, "method %s not allowed on %s", r.Method, r.URL.Path))
}
