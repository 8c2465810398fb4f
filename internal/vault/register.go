package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/store"
)

// MachineConfigFile is the machine configuration's file name in seedship's
// config folder.
const MachineConfigFile = "vault.json"

// DefaultConfigDir is seedship's config folder: $SEEDSHIP_CONFIG, else
// ~/.config/seedship (the user config dir of the platform).
func DefaultConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("SEEDSHIP_CONFIG"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config folder: %w; set SEEDSHIP_CONFIG", err)
	}
	return filepath.Join(d, "seedship"), nil
}

// Register registers this machine with the vault named by the vault
// credentials file credFile, and writes the machine's identity and key to
// configDir/vault.json (folder mode 0700, file 0600). The repository
// password is not involved: it never leaves the machine.
func Register(ctx context.Context, credFile, configDir string) (*MachineConfig, error) {
	b, err := os.ReadFile(credFile)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	vc, err := ParseVaultCredentials(b)
	if err != nil {
		return nil, fmt.Errorf("register: %s: %w", credFile, err)
	}
	if !time.Now().Before(vc.Expires) {
		return nil, fmt.Errorf("register: %s: %w at %s: ask the account admin for new vault credentials",
			credFile, ErrExpired, vc.Expires.Format(time.RFC3339))
	}
	path := filepath.Join(configDir, MachineConfigFile)
	tmp, err := prepareConfig(configDir, path)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	mc, err := registerMachine(ctx, vc)
	if err != nil {
		return nil, err
	}
	data, err := mc.Marshal()
	if err != nil {
		return nil, err
	}
	if err := publishConfig(tmp, path, data); err != nil {
		return nil, fmt.Errorf("register: machine %s is registered but its configuration could not be saved: %w; ask for new vault credentials", mc.MachineID, err)
	}
	return mc, nil
}

// prepareConfig checks that nothing is registered yet and that the folder
// is writable — before the one-time token is spent — and returns an empty
// temporary file for the configuration.
func prepareConfig(dir, path string) (string, error) {
	if old, err := LoadMachineConfig(dir); err == nil {
		return "", fmt.Errorf("register: %w (vault %s, machine %s) in %s: remove it to register again",
			ErrRegistered, old.VaultName, old.MachineID, path)
	} else if !errors.Is(err, ErrNotRegistered) {
		return "", fmt.Errorf("register: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("register: create config folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	f, err := os.CreateTemp(dir, ".vault-*.json")
	if err != nil {
		return "", fmt.Errorf("register: config folder not writable: %w", err)
	}
	f.Close()
	return f.Name(), nil
}

// publishConfig writes data to tmp and links it to path, which fails when
// path appeared meanwhile.
func publishConfig(tmp, path string, data []byte) error {
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(tmp, path)
}

// registerMachine calls POST /v1/register with the token.
func registerMachine(ctx context.Context, vc *VaultCredentials) (*MachineConfig, error) {
	hc, err := NewHTTPClient(vc.Endpoint)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	body, _ := json.Marshal(registerRequest{Hostname: host})
	u := strings.TrimRight(vc.URL, "/") + "/v1/register"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+vc.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register with %s: %w", vc.URL, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return nil, registerFailed(resp, vc.URL)
	}
	var rr registerResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxFileSize)).Decode(&rr); err != nil {
		return nil, fmt.Errorf("register with %s: %w: %v", vc.URL, ErrProtocol, err)
	}
	mc := &MachineConfig{Format: FormatMachineConfig, Endpoint: vc.Endpoint, AccountID: rr.AccountID,
		VaultID: rr.VaultID, VaultName: rr.VaultName, MachineID: rr.MachineID, Hostname: rr.Hostname,
		Key: rr.Key, Registered: time.Now().UTC().Truncate(time.Second)}
	if err := validMachine(mc, vc); err != nil {
		return nil, fmt.Errorf("register with %s: %w: %v", vc.URL, ErrProtocol, err)
	}
	return mc, nil
}

func validMachine(mc *MachineConfig, vc *VaultCredentials) error {
	if mc.VaultID != vc.VaultID || mc.AccountID != vc.AccountID {
		return errors.New("the service registered the machine with another vault")
	}
	b, err := mc.Marshal()
	if err != nil {
		return err
	}
	_, err = ParseMachineConfig(b)
	return err
}

func registerFailed(resp *http.Response, url string) error {
	var body errorBody
	json.NewDecoder(io.LimitReader(resp.Body, 8<<10)).Decode(&body)
	var sentinel error
	switch body.Code {
	case CodeTokenExpired:
		sentinel = ErrExpired
	case CodeTokenUsed, CodeUnauthorized:
		sentinel = ErrUnauthorized
	default:
		sentinel = codeError(resp.StatusCode, body.Code)
	}
	return fmt.Errorf("register with %s: %w: %s", url, sentinel, body.Error)
}

// LoadMachineConfig reads the registered machine's configuration from
// configDir. ErrNotRegistered when there is none.
func LoadMachineConfig(configDir string) (*MachineConfig, error) {
	path := filepath.Join(configDir, MachineConfigFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (no %s): run seedship register --vault-credentials FILE", ErrNotRegistered, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkPrivate(f, path); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	mc, err := ParseMachineConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return mc, nil
}

// checkPrivate refuses a key file that others can read, as ssh does.
func checkPrivate(f *os.File, path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s holds this machine's vault key but is accessible by others (mode %04o): run chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	return nil
}

// OpenStore returns the registered machine's repository in the vault,
// after checking that the service is reachable and accepts the key.
func OpenStore(ctx context.Context, cfg *MachineConfig) (store.Store, error) {
	c, err := NewClient(ClientConfig{Endpoint: cfg.Endpoint, Key: cfg.Key, VaultID: cfg.VaultID, MachineID: cfg.MachineID})
	if err != nil {
		return nil, err
	}
	if _, err := c.Ping(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// OpenRegistered is LoadMachineConfig then OpenStore: the store behind
// seedship's "--repo vault:".
func OpenRegistered(ctx context.Context, configDir string) (store.Store, error) {
	cfg, err := LoadMachineConfig(configDir)
	if err != nil {
		return nil, err
	}
	return OpenStore(ctx, cfg)
}
