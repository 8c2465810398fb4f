package vault

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/meta"
)

// The formats of the three credential files, each a small JSON document.
const (
	// FormatAccountSettings marks an account settings file (also issued to
	// operators, with role "operator").
	FormatAccountSettings = "seedship-account-settings/1"
	// FormatVaultCredentials marks a vault credentials file.
	FormatVaultCredentials = "seedship-vault-credentials/1"
	// FormatMachineConfig marks a registered machine's configuration.
	FormatMachineConfig = "seedship-machine/1"

	// maxFileSize bounds what the parsers read.
	maxFileSize = 64 << 10
	maxNameLen  = 64
)

// Endpoint is where the service is and how to trust it.
type Endpoint struct {
	// URL is the service's base URL, https://host:port.
	URL string `json:"service_url"`
	// Fingerprint pins the service's certificate: "sha256:" and the hex
	// SHA-256 of its DER bytes. Empty: verify against the system's roots.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// AccountSettings is the account settings file: it lets its holder act as
// an account's administrator (or, with role operator, as datacenter staff).
type AccountSettings struct {
	Format string `json:"format"`
	Endpoint
	Role      meta.Role `json:"role"`
	AccountID string    `json:"account_id,omitempty"`
	Name      string    `json:"name"`
	APIKey    string    `json:"api_key"`
	Created   time.Time `json:"created"`
}

// VaultCredentials is the vault credentials file: a one-time token that
// registers one machine with one vault before it expires.
type VaultCredentials struct {
	Format string `json:"format"`
	Endpoint
	AccountID string    `json:"account_id"`
	VaultID   string    `json:"vault_id"`
	VaultName string    `json:"vault_name"`
	Token     string    `json:"token"`
	Expires   time.Time `json:"expires"`
}

// MachineConfig is what a registered machine keeps in its config folder:
// its identity and key.
type MachineConfig struct {
	Format string `json:"format"`
	Endpoint
	AccountID  string    `json:"account_id"`
	VaultID    string    `json:"vault_id"`
	VaultName  string    `json:"vault_name"`
	MachineID  string    `json:"machine_id"`
	Hostname   string    `json:"hostname"`
	Key        string    `json:"key"`
	Registered time.Time `json:"registered"`
}

// Marshal encodes the file.
func (a *AccountSettings) Marshal() ([]byte, error) { return marshalFile(a) }

// Marshal encodes the file.
func (v *VaultCredentials) Marshal() ([]byte, error) { return marshalFile(v) }

// Marshal encodes the file.
func (m *MachineConfig) Marshal() ([]byte, error) { return marshalFile(m) }

func marshalFile(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func unmarshalFile(b []byte, what string, v any) error {
	if len(b) > maxFileSize {
		return fmt.Errorf("%w: %s larger than %d bytes", ErrFile, what, maxFileSize)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFile, what, err)
	}
	return nil
}

// ParseAccountSettings decodes and validates an account settings file.
func ParseAccountSettings(b []byte) (*AccountSettings, error) {
	var a AccountSettings
	if err := unmarshalFile(b, "account settings file", &a); err != nil {
		return nil, err
	}
	err := firstErr(
		checkFormat(a.Format, FormatAccountSettings),
		a.Endpoint.check(),
		checkKey(a.APIKey, a.Role),
		checkName("name", a.Name),
	)
	if err == nil && a.Role == meta.RoleAdmin {
		err = checkID("account_id", a.AccountID)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: account settings file: %w", ErrFile, err)
	}
	return &a, nil
}

// ParseVaultCredentials decodes and validates a vault credentials file.
func ParseVaultCredentials(b []byte) (*VaultCredentials, error) {
	var v VaultCredentials
	if err := unmarshalFile(b, "vault credentials file", &v); err != nil {
		return nil, err
	}
	err := firstErr(
		checkFormat(v.Format, FormatVaultCredentials),
		v.Endpoint.check(),
		checkID("account_id", v.AccountID),
		checkID("vault_id", v.VaultID),
		checkName("vault_name", v.VaultName),
		checkToken(v.Token),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: vault credentials file: %w", ErrFile, err)
	}
	return &v, nil
}

// ParseMachineConfig decodes and validates a machine configuration.
func ParseMachineConfig(b []byte) (*MachineConfig, error) {
	var m MachineConfig
	if err := unmarshalFile(b, "machine configuration", &m); err != nil {
		return nil, err
	}
	err := firstErr(
		checkFormat(m.Format, FormatMachineConfig),
		m.Endpoint.check(),
		checkID("account_id", m.AccountID),
		checkID("vault_id", m.VaultID),
		checkID("machine_id", m.MachineID),
		checkName("vault_name", m.VaultName),
		checkKey(m.Key, meta.RoleMachine),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: machine configuration: %w", ErrFile, err)
	}
	return &m, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkFormat(got, want string) error {
	if got != want {
		return fmt.Errorf("format %q, want %q", got, want)
	}
	return nil
}

// check validates the URL and normalises the fingerprint.
func (e *Endpoint) check() error {
	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.Trim(u.Path, "/") != "" {
		return fmt.Errorf("service_url %q is not an https://host[:port] URL", e.URL)
	}
	if e.Fingerprint == "" {
		return nil
	}
	fp, err := ParseFingerprint(e.Fingerprint)
	if err != nil {
		return err
	}
	e.Fingerprint = fp
	return nil
}

// ParseFingerprint normalises a certificate fingerprint to "sha256:" and 64
// lower-case hex digits. It accepts the prefix in any case or not at all,
// and colon-separated or upper-case hex.
func ParseFingerprint(s string) (string, error) {
	h := s
	if len(h) >= 7 && strings.EqualFold(h[:7], "sha256:") {
		h = h[7:]
	}
	h = strings.ToLower(strings.ReplaceAll(h, ":", ""))
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
		return "", fmt.Errorf("%w: certificate fingerprint %q is not a SHA-256", ErrFile, s)
	}
	return "sha256:" + h, nil
}

// FingerprintOf returns the fingerprint of a DER-encoded certificate.
func FingerprintOf(der []byte) string {
	return "sha256:" + credential{Secret: der}.Hash()
}

func checkID(field, id string) error {
	if len(id) != 32 || !isLowerHex(id) {
		return fmt.Errorf("%s %q is not a 32-digit hex id", field, id)
	}
	return nil
}

// ValidName reports whether s is a valid account or vault name: 1 to 64
// letters, digits, '.', '_' and '-', starting with a letter or digit.
func ValidName(s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%w: %q: must be 1 to %d characters", ErrName, s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("%w: %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", ErrName, s)
		}
	}
	return nil
}

func checkName(field, s string) error {
	if err := ValidName(s); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

func checkKey(key string, role meta.Role) error {
	c, err := parseCredential(key)
	if err != nil {
		return err
	}
	if !role.Valid() || kindRole(c.Kind) != role {
		return fmt.Errorf("%w: key is not a %q key", ErrCredential, role)
	}
	return nil
}

func checkToken(tok string) error {
	c, err := parseCredential(tok)
	if err != nil {
		return err
	}
	if c.Kind != kindToken {
		return fmt.Errorf("%w: token is not a registration token", ErrCredential)
	}
	return nil
}
