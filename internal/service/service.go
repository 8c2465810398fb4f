// Package service assembles seedshipd: the configuration in the data
// folder, the metadata database, the object store, the TLS certificate,
// metrics and logs, and the HTTPS serve loop with graceful shutdown around
// the vault's API handler (which also serves the import-job API).
package service

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/store/location"
	"github.com/seedship/seedship/internal/vault"
)

// ErrLocation: the configured store location cannot be opened.
var ErrLocation = errors.New("cannot open the store location")

// Options are what the caller supplies besides the data folder.
type Options struct {
	// LogOutput receives the structured log (default os.Stderr).
	LogOutput io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OpenLocation opens a non-empty [store] location ("azure:…", "s3:…";
	// default location.Open).
	OpenLocation func(ctx context.Context, loc string, create bool) (store.Store, error)
	// Observe, when set, is called once per finished API request, after
	// the metrics have counted it: an embedding program (seedship
	// quickstart) counts the bytes its clients send and receive.
	Observe func(vault.RequestInfo)
}

// Service is an opened data folder.
type Service struct {
	Dir    string
	Config *Config
	DB     meta.DB
	Logger *slog.Logger
	cert   certificate
	opts   Options
}

// Open loads (or creates) the data folder's configuration, certificate and
// database. It does not open the object store; Serve does.
func Open(ctx context.Context, dir string, o Options) (*Service, error) {
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpenLocation == nil {
		o.OpenLocation = location.Open
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	cert, err := loadCertificate(dir, cfg, o.Now())
	if err != nil {
		return nil, err
	}
	db, err := openDB(ctx, dir, cfg.Database, o.Now)
	if err != nil {
		return nil, err
	}
	return &Service{Dir: dir, Config: cfg, DB: db, Logger: newLogger(cfg.Log, o.LogOutput), cert: cert, opts: o}, nil
}

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	lv, _ := c.level() // validated with the configuration
	ho := &slog.HandlerOptions{Level: lv}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, ho))
	}
	return slog.New(slog.NewJSONHandler(w, ho))
}

// Close closes the database.
func (s *Service) Close() error { return s.DB.Close() }

// Fingerprint is the certificate fingerprint clients pin ("" when they
// verify the certificate against their roots).
func (s *Service) Fingerprint() string { return s.cert.fingerprint }

// Endpoint is what credential files say about the service; url overrides
// the configured public URL when not empty.
func (s *Service) Endpoint(url string) vault.Endpoint {
	if url == "" {
		url = s.Config.publicURL(s.Config.Listen)
	}
	return vault.Endpoint{URL: url, Fingerprint: s.cert.fingerprint}
}

// Admin returns the account and credential operations, issuing files that
// point at url (the configured public URL when empty).
func (s *Service) Admin(url string) *vault.Admin {
	return &vault.Admin{DB: s.DB, Endpoint: s.Endpoint(url), Now: s.opts.Now, Rand: rand.Reader}
}

// Jobs returns the import-job logic over the database, with the service's
// clock: the operator commands read jobs through it so expiry applies.
func (s *Service) Jobs() *vault.Jobs {
	return &vault.Jobs{DB: s.DB, Now: s.opts.Now, Rand: rand.Reader}
}

// OpenStore opens the object store of the machines' repositories.
func (s *Service) OpenStore(ctx context.Context) (store.Store, error) {
	loc := s.Config.Store.Location
	if loc == "" {
		return local.Create(filepath.Join(s.Dir, "objects"))
	}
	st, err := s.opts.OpenLocation(ctx, loc, true)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrLocation, loc, err)
	}
	return st, nil
}

// Serve serves the API on listen (the configured address when empty) until
// ctx is done, then shuts down gracefully: it stops accepting, lets
// in-flight requests — uploads included — finish within the configured
// shutdown timeout, and returns. ready, if not nil, is called with the
// listening address once connections are accepted.
func (s *Service) Serve(ctx context.Context, listen string, ready func(net.Addr)) error {
	if listen == "" {
		listen = s.Config.Listen
	}
	st, err := s.OpenStore(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	m := newMetrics(s.opts.Now())
	vs := s.vaultServer(st, m, listen)
	srv := s.httpServer(m.track(vs))
	go s.scanUsage(ctx, vs)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(vault.NewTLSListener(ln, srv.TLSConfig)) }()
	s.Logger.Info("listening", slog.String("addr", ln.Addr().String()),
		slog.String("url", s.Config.publicURL(listen)), slog.String("fingerprint", s.cert.fingerprint))
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return s.shutdown(srv, errc)
}

func (s *Service) vaultServer(st store.Store, m *metrics, listen string) *vault.Server {
	c := s.Config
	vs := vault.NewServer(vault.ServerConfig{
		DB: s.DB, Store: st, Logger: s.Logger, Now: s.opts.Now,
		Endpoint: vault.Endpoint{URL: c.publicURL(listen), Fingerprint: s.cert.fingerprint},
		Limits: vault.Limits{
			MaxObjectSize:  c.Limits.MaxObjectSize,
			RequestTimeout: c.Limits.RequestTimeout,
			IdleTimeout:    c.Limits.IdleTimeout,
			AuthFailures:   c.Limits.AuthFailuresPerMinute,
		},
		Metrics: m, MetricsPublic: c.Metrics.Public, Observe: s.observer(m),
		OpenStorage: func(ctx context.Context, loc string) (store.Store, error) {
			return s.opts.OpenLocation(ctx, loc, false)
		},
	})
	m.usage = vs.Usage
	return vs
}

// observer returns the per-request hook: the metrics, then Options.Observe.
func (s *Service) observer(m *metrics) func(vault.RequestInfo) {
	if s.opts.Observe == nil {
		return m.observe
	}
	return func(ri vault.RequestInfo) {
		m.observe(ri)
		s.opts.Observe(ri)
	}
}

func (s *Service) httpServer(h http.Handler) *http.Server {
	c := s.Config
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.Limits.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    c.Limits.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{s.cert.cert},
		},
	}
}

// shutdown stops srv, waiting for in-flight requests up to the shutdown
// timeout, then cutting what is left.
func (s *Service) shutdown(srv *http.Server, errc <-chan error) error {
	s.Logger.Info("shutting down: finishing in-flight requests", slog.Duration("timeout", s.Config.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		s.Logger.Warn("shutdown timeout: closing remaining connections", slog.String("error", err.Error()))
		srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serr)
	}
	s.Logger.Info("stopped")
	return err
}

// scanUsage recounts per-vault storage now and every interval.
func (s *Service) scanUsage(ctx context.Context, vs *vault.Server) {
	every := s.Config.Metrics.UsageScanInterval
	for {
		if err := vs.ScanUsage(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("vault usage scan failed", slog.String("error", err.Error()))
		}
		if every <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
