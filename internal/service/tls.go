package service

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/seedship/seedship/internal/vault"
)

// tlsDir holds the generated certificate in the data folder.
const tlsDir = "tls"

// certificate is the service's TLS identity.
type certificate struct {
	cert tls.Certificate
	// fingerprint goes into credential files; empty when clients verify
	// the certificate against their roots instead.
	fingerprint string
}

// loadCertificate loads the configured certificate, or the generated one,
// generating it on first use.
func loadCertificate(dir string, c *Config, now time.Time) (certificate, error) {
	certFile, keyFile := path(dir, c.TLS.Cert), path(dir, c.TLS.Key)
	pin := c.TLS.Pin
	if certFile == "" {
		certFile, keyFile = filepath.Join(dir, tlsDir, "cert.pem"), filepath.Join(dir, tlsDir, "key.pem")
		pin = true
		if err := generateOnce(dir, certHosts(c), now); err != nil {
			return certificate{}, err
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return certificate{}, fmt.Errorf("load TLS certificate %s: %w", certFile, err)
	}
	out := certificate{cert: cert}
	if pin {
		out.fingerprint = vault.FingerprintOf(cert.Certificate[0])
	}
	return out, nil
}

// certHosts lists the names the generated certificate is for.
func certHosts(c *Config) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if h, _, err := net.SplitHostPort(c.Listen); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	return append(hosts, c.TLS.Hosts...)
}

// generateOnce creates DIR/tls with a new self-signed certificate unless
// it exists. The files are written to a temporary folder renamed into
// place, so a concurrent first start cannot leave half a key pair.
func generateOnce(dir string, hosts []string, now time.Time) error {
	final := filepath.Join(dir, tlsDir)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(dir, ".tls-*")
	if err != nil {
		return fmt.Errorf("generate TLS certificate: %w", err)
	}
	defer os.RemoveAll(tmp)
	certPEM, keyPEM, err := selfSigned(hosts, now)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "cert.pem"), certPEM, 0o644); err != nil {
		return fmt.Errorf("generate TLS certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "key.pem"), keyPEM, 0o600); err != nil {
		return fmt.Errorf("generate TLS certificate: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, serr := os.Stat(final); serr != nil {
			return fmt.Errorf("generate TLS certificate: %w", err)
		}
	}
	return nil
}

// selfSigned returns a new ECDSA P-256 certificate for hosts, valid for
// ten years, and its key, both PEM-encoded.
func selfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generate TLS certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "seedshipd", Organization: []string{"seedship"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate TLS certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate TLS key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}
