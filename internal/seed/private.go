package seed

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/vault"
)

// maxAccountFile bounds the account settings file read.
const maxAccountFile = 64 << 10

// Account is a parsed account settings file and its bytes.
type Account struct {
	Settings *vault.AccountSettings
	Raw      []byte
	Path     string // where it was read from
}

// ReadAccount reads and parses an account settings file.
func ReadAccount(path string) (*Account, error) {
	raw, err := readSmall(path, maxAccountFile)
	if err != nil {
		return nil, fmt.Errorf("account settings file: %w", err)
	}
	a, err := vault.ParseAccountSettings(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if a.AccountID == "" {
		return nil, fmt.Errorf("%s: %w: not an account admin's settings file (role %q): download the account settings file from the service", path, vault.ErrFile, a.Role)
	}
	return &Account{Settings: a, Raw: raw, Path: path}, nil
}

// LoadAccount returns the account settings from flagPath when given, else
// from the staging directory's private copy.
func LoadAccount(dir, flagPath string) (*Account, error) {
	if flagPath != "" {
		return ReadAccount(flagPath)
	}
	a, err := ReadAccount(filepath.Join(dir, AccountCopyName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no copy of the account settings file: pass --account-settings FILE", dir)
	}
	return a, err
}

// CheckAccount refuses an account settings file of another account than
// the record's.
func (r *Record) CheckAccount(a *Account) error {
	if a.Settings.AccountID != r.AccountID {
		return fmt.Errorf("%s is for account %s (%s), but the staging location belongs to account %s (%s): %w: use the settings file of account %s",
			a.Path, a.Settings.Name, a.Settings.AccountID, r.AccountName, r.AccountID, ErrForeignAccount, r.AccountName)
	}
	return nil
}

// SaveAccountCopy stores a private copy (mode 0600) of the account
// settings file in dir.
func SaveAccountCopy(dir string, a *Account) error {
	return writeAtomic(dir, AccountCopyName, a.Raw, 0o600)
}

// JobKey returns the staging directory's job key, creating it from rand
// (drive.JobKeySize bytes) on first use. created reports a new key.
func JobKey(dir string, rand io.Reader) (key []byte, created bool, err error) {
	key, err = ReadJobKey(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key = make([]byte, drive.JobKeySize)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, false, fmt.Errorf("create job key: %w", err)
	}
	if err := writeAtomic(dir, JobKeyName, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// ReadJobKey reads the job key of the staging directory.
func ReadJobKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, JobKeyName)
	b, err := readSmall(path, 256)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) != drive.JobKeySize {
		return nil, fmt.Errorf("%s: %w: want %d hex-encoded bytes", path, ErrJobKey, drive.JobKeySize)
	}
	return key, nil
}

func readSmall(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}
