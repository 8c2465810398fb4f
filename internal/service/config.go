package service

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ConfigFile is the configuration's name in the data folder.
const ConfigFile = "seedshipd.toml"

// ErrConfig reports an invalid configuration.
var ErrConfig = errors.New("invalid configuration")

// Config is DIR/seedshipd.toml. Relative paths are relative to DIR.
type Config struct {
	// Listen is the address to serve on; serve --listen overrides it.
	Listen string `toml:"listen"`
	// PublicURL is the URL clients use, written into credential files.
	// Empty: https://<listen>.
	PublicURL string `toml:"public_url"`
	// ShutdownTimeout bounds how long shutdown waits for in-flight requests.
	ShutdownTimeout time.Duration  `toml:"shutdown_timeout"`
	Database        DatabaseConfig `toml:"database"`
	Store           StoreConfig    `toml:"store"`
	TLS             TLSConfig      `toml:"tls"`
	Limits          LimitsConfig   `toml:"limits"`
	Metrics         MetricsConfig  `toml:"metrics"`
	Log             LogConfig      `toml:"log"`
}

// DatabaseConfig selects the metadata database.
type DatabaseConfig struct {
	// Driver is DriverSQLite (the embedded default) or DriverPostgres.
	Driver string `toml:"driver"`
	// Path is the SQLite file.
	Path string `toml:"path"`
	// DSN is the PostgreSQL connection string (URL or key=value pairs).
	DSN string `toml:"dsn"`
}

// StoreConfig selects the object store holding the machines' repositories.
type StoreConfig struct {
	// Location is empty for the local folder DIR/objects, or a location
	// such as "azure:container/prefix" or "s3:bucket/prefix".
	Location string `toml:"location"`
}

// TLSConfig selects the certificate.
type TLSConfig struct {
	// Cert and Key are PEM files; both empty: a self-signed certificate is
	// generated in DIR/tls on first start.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// Pin writes a configured certificate's fingerprint into credential
	// files (a generated one is always pinned).
	Pin bool `toml:"pin"`
	// Hosts are extra names and addresses for the generated certificate.
	Hosts []string `toml:"hosts"`
}

// LimitsConfig bounds requests.
type LimitsConfig struct {
	MaxObjectSize         int64         `toml:"max_object_size"`
	MaxHeaderBytes        int           `toml:"max_header_bytes"`
	RequestTimeout        time.Duration `toml:"request_timeout"`
	IdleTimeout           time.Duration `toml:"idle_timeout"`
	ReadHeaderTimeout     time.Duration `toml:"read_header_timeout"`
	AuthFailuresPerMinute int           `toml:"auth_failures_per_minute"`
}

// MetricsConfig configures /metrics.
type MetricsConfig struct {
	// Public serves /metrics without credentials; otherwise operators only.
	Public bool `toml:"public"`
	// UsageScanInterval is how often per-vault storage is recounted.
	UsageScanInterval time.Duration `toml:"usage_scan_interval"`
}

// LogConfig configures the structured log on standard error.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // json or text
}

// defaultConfig is written on first start; its values are the defaults.
const defaultConfig = `# seedshipd configuration. Relative paths are relative to this folder.

# Address to listen on (seedshipd serve --listen overrides it).
listen = "127.0.0.1:8443"
# URL that clients use, written into credential files. Empty: https://<listen>.
public_url = ""
# How long a shutdown waits for in-flight requests, uploads included.
shutdown_timeout = "5m"

[database]
# "sqlite": a file in this folder. "postgres": a PostgreSQL server that
# several seedshipd instances share (see docs/operations.md).
driver = "sqlite"
# The SQLite file.
path = "seedshipd.db"
# The PostgreSQL connection string, such as
# "postgres://seedship@db.example.com/seedship?sslmode=verify-full".
# Leave the password out: PGPASSWORD or ~/.pgpass supply it.
dsn = ""

[store]
# Where machine repositories live: empty for the local folder "objects",
# or a location such as "azure:container/prefix" or "s3:bucket/prefix".
location = ""

[tls]
# Certificate and key (PEM). Both empty: a self-signed certificate is
# generated in tls/ on first start, and clients pin its fingerprint.
cert = ""
key = ""
# Pin a configured certificate's fingerprint in credential files too.
pin = false
# Extra host names and IP addresses for the generated certificate.
hosts = []

[limits]
max_object_size = 4294967296
max_header_bytes = 65536
request_timeout = "30s"
# Longest pause between two reads of an upload (or writes of a download).
idle_timeout = "60s"
read_header_timeout = "10s"
auth_failures_per_minute = 10

[metrics]
# Serve /metrics without credentials (otherwise: operator API keys only).
public = false
usage_scan_interval = "1h"

[log]
level = "info"
format = "json"
`

// LoadConfig reads DIR/seedshipd.toml, creating DIR and the file with the
// defaults when missing. Unknown settings are errors, so typos show.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = f.WriteString(defaultConfig)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return readConfig(path)
}

func readConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(b, path)
}

// ParseConfig decodes a configuration over the defaults; name is for
// messages.
func ParseConfig(b []byte, name string) (*Config, error) {
	var c Config
	if _, err := toml.Decode(defaultConfig, &c); err != nil {
		return nil, fmt.Errorf("default configuration: %w", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%w: %s: unknown setting %q", ErrConfig, name, und[0].String())
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
	}
	return &c, nil
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen %q: %v", c.Listen, err)
	}
	if err := c.Database.validate(); err != nil {
		return err
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("tls: set both cert and key, or neither")
	}
	if _, err := c.Log.level(); err != nil {
		return err
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		return fmt.Errorf("log format %q: use json or text", c.Log.Format)
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "https://") {
		return fmt.Errorf("public_url %q: must start with https://", c.PublicURL)
	}
	return nil
}

func (d DatabaseConfig) validate() error {
	switch {
	case d.Driver == DriverSQLite && d.Path == "":
		return errors.New("database path is empty")
	case d.Driver == DriverPostgres && d.DSN == "":
		return errors.New("database dsn is empty: the postgres driver needs a connection string")
	case d.Driver != DriverSQLite && d.Driver != DriverPostgres:
		return fmt.Errorf("database driver %q: use %q or %q", d.Driver, DriverSQLite, DriverPostgres)
	}
	return nil
}

func (l LogConfig) level() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("log level %q: use debug, info, warn or error", l.Level)
	}
	return lv, nil
}

// path resolves a configured path against the data folder.
func path(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// publicURL returns the URL clients use for a service listening on listen.
func (c *Config) publicURL(listen string) string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "https://" + listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return "https://" + net.JoinHostPort(host, port)
}
