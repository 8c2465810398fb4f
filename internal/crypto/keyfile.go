package crypto

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// Key file layout: plaintext JSON, one object.
//
//	{"created": RFC 3339 time, "host": string, "user": string,
//	 "kdf": "argon2id", "time": passes, "memory_kib": KiB, "threads": lanes,
//	 "salt": base64 of 32 bytes,
//	 "data": base64 of 92 bytes: the 64-byte master key sealed (AD = nil)
//	         under AES-256-GCM with key argon2id(password, salt, 32 bytes)}
const (
	saltSize      = 32
	sealedKeySize = masterKeySize + Overhead
	// maxKeyFileSize bounds what ParseKeyFile reads; real files are ~400 bytes.
	maxKeyFileSize = 64 << 10
)

// KeyFile holds the master key sealed under a password.
type KeyFile struct {
	Created    time.Time // when the key file was made
	Host, User string    // who made it, for listing keys
	KDF        KDFParams // how the password is stretched
	Salt       []byte    // KDF salt, 32 random bytes
	Data       []byte    // sealed master key
}

// keyFileJSON is the stored form of a KeyFile.
type keyFileJSON struct {
	Created   time.Time `json:"created"`
	Host      string    `json:"host"`
	User      string    `json:"user"`
	KDF       string    `json:"kdf"`
	Time      uint32    `json:"time"`
	MemoryKiB uint32    `json:"memory_kib"`
	Threads   uint8     `json:"threads"`
	Salt      []byte    `json:"salt"`
	Data      []byte    `json:"data"`
}

// NewKeyFile seals master under password, stretched with p and a fresh salt.
func NewKeyFile(master *Key, password []byte, p KDFParams, host, user string, now time.Time) (*KeyFile, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("new key file: %w", err)
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("new key file: generate salt: %w", err)
	}
	kek, err := newAEAD(p.deriveKey(password, salt))
	if err != nil {
		return nil, fmt.Errorf("new key file: %w", err)
	}
	mk, _ := master.MarshalBinary()
	return &KeyFile{
		Created: now.UTC(),
		Host:    host,
		User:    user,
		KDF:     p,
		Salt:    salt,
		Data:    kek.Seal(nil, nil, mk, nil),
	}, nil
}

// Unlock derives the key-encryption key from password and returns the master
// key. A password that does not open the key returns an error wrapping
// ErrWrongPassword.
func (kf *KeyFile) Unlock(password []byte) (*Key, error) {
	if err := kf.validate(); err != nil {
		return nil, fmt.Errorf("unlock key file: %w", err)
	}
	kek, err := newAEAD(kf.KDF.deriveKey(password, kf.Salt))
	if err != nil {
		return nil, fmt.Errorf("unlock %s: %w", kf, err)
	}
	mk, err := kek.Open(nil, nil, kf.Data, nil)
	if err != nil {
		return nil, fmt.Errorf("unlock %s: %w", kf, ErrWrongPassword)
	}
	k := new(Key)
	if err := k.UnmarshalBinary(mk); err != nil {
		return nil, fmt.Errorf("unlock %s: %w", kf, err)
	}
	return k, nil
}

// String names the key file in messages.
func (kf *KeyFile) String() string {
	return fmt.Sprintf("key file of %s@%s created %s", kf.User, kf.Host, kf.Created.Format(time.RFC3339))
}

// Marshal returns the key file as indented JSON.
func (kf *KeyFile) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(keyFileJSON{
		Created:   kf.Created,
		Host:      kf.Host,
		User:      kf.User,
		KDF:       kf.KDF.Algorithm,
		Time:      kf.KDF.Time,
		MemoryKiB: kf.KDF.MemoryKiB,
		Threads:   kf.KDF.Threads,
		Salt:      kf.Salt,
		Data:      kf.Data,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", kf, err)
	}
	return append(b, '\n'), nil
}

// ParseKeyFile decodes a key file and checks every field, so that Unlock
// cannot be made to use unbounded memory or time. Errors wrap ErrKeyFile.
func ParseKeyFile(b []byte) (*KeyFile, error) {
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d-byte limit", ErrKeyFile, len(b), maxKeyFileSize)
	}
	var j keyFileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	kf := &KeyFile{
		Created: j.Created,
		Host:    j.Host,
		User:    j.User,
		KDF:     KDFParams{Algorithm: j.KDF, Time: j.Time, MemoryKiB: j.MemoryKiB, Threads: j.Threads},
		Salt:    j.Salt,
		Data:    j.Data,
	}
	if err := kf.validate(); err != nil {
		return nil, err
	}
	return kf, nil
}

// validate checks the fields that Unlock and Marshal depend on.
func (kf *KeyFile) validate() error {
	if err := kf.KDF.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if len(kf.Salt) != saltSize {
		return fmt.Errorf("%w: salt has %d bytes, want %d", ErrKeyFile, len(kf.Salt), saltSize)
	}
	if len(kf.Data) != sealedKeySize {
		return fmt.Errorf("%w: sealed key has %d bytes, want %d", ErrKeyFile, len(kf.Data), sealedKeySize)
	}
	if _, err := kf.Created.MarshalText(); err != nil {
		return fmt.Errorf("%w: created: %w", ErrKeyFile, err)
	}
	return nil
}
