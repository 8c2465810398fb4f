package vault

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/seedship/seedship/internal/meta"
)

// A credential is the string a client presents as "Authorization: Bearer
// <credential>": kind "_" id "_" secret, for example
//
//	ssm_3fa94c0e12ab77d1_q1Lx…  (43 characters of unpadded base64url)
//
// The kind names what the credential is, the id (16 hex digits) finds its
// database record, and the secret — 32 random bytes — is stored only as
// its SHA-256, compared in constant time. 256 bits of entropy make a plain
// hash safe against guessing; no slow KDF is needed.
const (
	kindAdmin    = "ssa" // account admin API key
	kindMachine  = "ssm" // machine key
	kindOperator = "sso" // operator API key
	kindToken    = "ssr" // one-time registration token

	idBytes     = 8
	secretBytes = 32
	// maxCredential bounds what the parser looks at.
	maxCredential = 128
)

// credential is a parsed bearer credential. Its String form is the secret
// itself and must never be logged; log ID.
type credential struct {
	Kind   string
	ID     string
	Secret []byte
}

// String returns the bearer form.
func (c credential) String() string {
	return c.Kind + "_" + c.ID + "_" + base64.RawURLEncoding.EncodeToString(c.Secret)
}

// Hash returns the hex SHA-256 of the secret, as stored in the database.
func (c credential) Hash() string {
	sum := sha256.Sum256(c.Secret)
	return hex.EncodeToString(sum[:])
}

// Matches compares the secret against a stored hash in constant time.
func (c credential) Matches(storedHash string) bool {
	want, err := hex.DecodeString(storedHash)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256(c.Secret)
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// newCredential draws a fresh credential of the given kind from rand.
func newCredential(kind string, rand io.Reader) (credential, error) {
	b := make([]byte, idBytes+secretBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return credential{}, fmt.Errorf("generate %s credential: %w", kind, err)
	}
	return credential{Kind: kind, ID: hex.EncodeToString(b[:idBytes]), Secret: b[idBytes:]}, nil
}

// newID returns a random 32-hex-digit record id (accounts, vaults, machines).
func newID(rand io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// parseCredential parses a bearer credential. The error never contains the
// secret.
func parseCredential(s string) (credential, error) {
	if len(s) > maxCredential {
		return credential{}, fmt.Errorf("%w: credential longer than %d bytes", ErrCredential, maxCredential)
	}
	kind, rest, ok1 := strings.Cut(s, "_")
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok1 || !ok2 || !validKind(kind) {
		return credential{}, fmt.Errorf("%w: not a seedship credential", ErrCredential)
	}
	if len(id) != 2*idBytes || !isLowerHex(id) {
		return credential{}, fmt.Errorf("%w: malformed credential id", ErrCredential)
	}
	b, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(b) != secretBytes {
		return credential{}, fmt.Errorf("%w: malformed credential secret", ErrCredential)
	}
	return credential{Kind: kind, ID: id, Secret: b}, nil
}

func validKind(k string) bool {
	return k == kindAdmin || k == kindMachine || k == kindOperator || k == kindToken
}

// kindRole maps a key's kind to its role; registration tokens have none.
func kindRole(kind string) meta.Role {
	switch kind {
	case kindAdmin:
		return meta.RoleAdmin
	case kindMachine:
		return meta.RoleMachine
	case kindOperator:
		return meta.RoleOperator
	}
	return ""
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
