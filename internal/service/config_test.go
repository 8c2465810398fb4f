package service

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadConfigCreatesDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, ConfigFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v, mode %v; want mode 0600", err, fi.Mode())
	}
	if c.Listen != "127.0.0.1:8443" || c.Database.Driver != "sqlite" || c.Limits.IdleTimeout != time.Minute ||
		c.ShutdownTimeout != 5*time.Minute || c.Limits.MaxObjectSize != 4<<30 {
		t.Errorf("defaults = %+v", c)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("listen = \"0.0.0.0:9000\"\n[limits]\nidle_timeout = \"5s\"\n"), 0o600)
	c, err = LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9000" || c.Limits.IdleTimeout != 5*time.Second || c.Limits.RequestTimeout != 30*time.Second {
		t.Errorf("partial file over defaults = %+v", c)
	}
	if u := c.publicURL(c.Listen); u == "https://0.0.0.0:9000" {
		t.Errorf("public URL of an unspecified address = %s, want the host name", u)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []string{
		`listne = "x"`,
		`listen = "nohostport"`,
		"[database]\ndriver = \"mysql\"",
		"[tls]\ncert = \"c.pem\"",
		"[limits]\nidle_timeout = \"soon\"",
		"[log]\nlevel = \"loud\"",
		"[log]\nformat = \"xml\"",
		`public_url = "http://x"`,
		`listen = `,
	} {
		if _, err := ParseConfig([]byte(tc), "test.toml"); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseConfig(%q) = %v, want ErrConfig", tc, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(defaultConfig))
	f.Add([]byte("listen = \"[::1]:1\"\n[tls]\nhosts = [\"a\", \"1.2.3.4\"]"))
	f.Add([]byte("[database]\ndriver = \"postgres\"\ndsn = \"postgres://seedship@db:5432/seedship?sslmode=verify-full\""))
	f.Add([]byte("[database]\ndriver = \"postgres\"\ndsn = \"host=db dbname=seedship\"\npath = \"\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b, "fuzz")
		if err == nil && c.validate() != nil {
			t.Fatalf("ParseConfig accepted an invalid configuration")
		}
	})
}

func TestCertificateGeneratedOnce(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a, err := loadCertificate(dir, c, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadCertificate(dir, c, now)
	if err != nil {
		t.Fatal(err)
	}
	if a.fingerprint == "" || a.fingerprint != b.fingerprint {
		t.Errorf("fingerprints %q then %q, want one stable pin", a.fingerprint, b.fingerprint)
	}
	fi, err := os.Stat(filepath.Join(dir, tlsDir, "key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v mode %v, want 0600", err, fi.Mode())
	}
	// A configured certificate is not pinned unless asked.
	c.TLS.Cert, c.TLS.Key = filepath.Join(tlsDir, "cert.pem"), filepath.Join(tlsDir, "key.pem")
	if got, err := loadCertificate(dir, c, now); err != nil || got.fingerprint != "" {
		t.Errorf("configured certificate: fingerprint %q, %v; want none", got.fingerprint, err)
	}
	c.TLS.Pin = true
	if got, err := loadCertificate(dir, c, now); err != nil || got.fingerprint != a.fingerprint {
		t.Errorf("configured certificate with pin: fingerprint %q, %v; want %q", got.fingerprint, err, a.fingerprint)
	}
}
