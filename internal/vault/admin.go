package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/seedship/seedship/internal/meta"
)

// Limits on how long a registration token may live.
const (
	DefaultTokenValidity = 48 * time.Hour
	MaxTokenValidity     = 30 * 24 * time.Hour
	minTokenValidity     = time.Minute
)

// Admin creates accounts, vaults and credentials in the metadata database.
// The operator commands call it directly; the API handlers call it on
// behalf of an authenticated account admin.
type Admin struct {
	DB meta.DB
	// Endpoint is written into every issued file.
	Endpoint Endpoint
	Now      func() time.Time
	// Rand supplies ids and secrets: crypto/rand.Reader outside tests.
	Rand io.Reader
}

// CreateAccount creates an account and its first admin API key, and
// returns the account settings file.
func (a *Admin) CreateAccount(ctx context.Context, name string) (*AccountSettings, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	id, err := newID(a.Rand)
	if err != nil {
		return nil, err
	}
	acc := meta.Account{ID: id, Name: name, Created: a.Now().UTC()}
	if err := a.DB.CreateAccount(ctx, acc); err != nil {
		return nil, err
	}
	return a.issueKey(ctx, meta.RoleAdmin, kindAdmin, name, id)
}

// CreateOperator issues an operator API key and returns its settings file.
func (a *Admin) CreateOperator(ctx context.Context, name string) (*AccountSettings, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("create operator: %w", err)
	}
	return a.issueKey(ctx, meta.RoleOperator, kindOperator, name, "")
}

func (a *Admin) issueKey(ctx context.Context, role meta.Role, kind, name, accountID string) (*AccountSettings, error) {
	c, err := newCredential(kind, a.Rand)
	if err != nil {
		return nil, err
	}
	now := a.Now().UTC()
	k := meta.Key{ID: c.ID, Hash: c.Hash(), Role: role, Name: name, AccountID: accountID, Created: now}
	if err := a.DB.CreateKey(ctx, k); err != nil {
		return nil, err
	}
	return &AccountSettings{Format: FormatAccountSettings, Endpoint: a.Endpoint, Role: role,
		AccountID: accountID, Name: name, APIKey: c.String(), Created: now}, nil
}

// SetAccountDisabled disables or re-enables the named account; a disabled
// account's keys and machines are refused.
func (a *Admin) SetAccountDisabled(ctx context.Context, name string, disabled bool) error {
	acc, err := a.DB.AccountByName(ctx, name)
	if err != nil {
		return err
	}
	return a.DB.SetAccountDisabled(ctx, acc.ID, disabled)
}

// CreateVault creates a vault in the account.
func (a *Admin) CreateVault(ctx context.Context, accountID, name string) (meta.Vault, error) {
	if err := ValidName(name); err != nil {
		return meta.Vault{}, fmt.Errorf("create vault: %w", err)
	}
	id, err := newID(a.Rand)
	if err != nil {
		return meta.Vault{}, err
	}
	v := meta.Vault{ID: id, AccountID: accountID, Name: name, Created: a.Now().UTC()}
	return v, a.DB.CreateVault(ctx, v)
}

// VaultCredentials issues a registration token for the account's vault,
// valid for valid (DefaultTokenValidity when 0).
func (a *Admin) VaultCredentials(ctx context.Context, accountID, vaultID string, valid time.Duration) (*VaultCredentials, error) {
	if valid == 0 {
		valid = DefaultTokenValidity
	}
	if valid < minTokenValidity || valid > MaxTokenValidity {
		return nil, fmt.Errorf("%w: %v is outside %v to %v", ErrValidity, valid, minTokenValidity, MaxTokenValidity)
	}
	v, err := a.DB.GetVault(ctx, vaultID)
	if err != nil {
		return nil, err
	}
	if v.AccountID != accountID {
		return nil, fmt.Errorf("vault %s: %w", vaultID, meta.ErrNotFound)
	}
	c, err := newCredential(kindToken, a.Rand)
	if err != nil {
		return nil, err
	}
	now := a.Now().UTC()
	t := meta.Token{ID: c.ID, Hash: c.Hash(), AccountID: accountID, VaultID: vaultID, Created: now, Expires: now.Add(valid)}
	if err := a.DB.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	return &VaultCredentials{Format: FormatVaultCredentials, Endpoint: a.Endpoint, AccountID: accountID,
		VaultID: vaultID, VaultName: v.Name, Token: c.String(), Expires: t.Expires}, nil
}

// GrantDelete grants (or, allowed false, revokes) the right to delete
// objects: to one machine of the vault, or with machineID "" to all of
// them. Without it machines are append-only (locks/ excepted).
func (a *Admin) GrantDelete(ctx context.Context, accountID, vaultID, machineID string, allowed bool) error {
	v, err := a.DB.GetVault(ctx, vaultID)
	if err != nil {
		return err
	}
	if v.AccountID != accountID {
		return fmt.Errorf("vault %s: %w", vaultID, meta.ErrNotFound)
	}
	if machineID == "" {
		return a.DB.SetVaultMachineDelete(ctx, vaultID, allowed)
	}
	m, err := a.DB.GetMachine(ctx, machineID)
	if err != nil {
		return err
	}
	if m.VaultID != vaultID {
		return fmt.Errorf("machine %s: %w", machineID, meta.ErrNotFound)
	}
	return a.DB.SetMachineDelete(ctx, machineID, allowed)
}

// register consumes the registration token tok and creates a machine with
// its key, returning the machine's configuration.
func (a *Admin) register(ctx context.Context, tok credential, hostname string) (*MachineConfig, error) {
	t, err := a.DB.GetToken(ctx, tok.ID)
	if err != nil {
		return nil, err
	}
	if !tok.Matches(t.Hash) {
		return nil, fmt.Errorf("registration token %s: %w", tok.ID, ErrCredential)
	}
	v, err := a.DB.GetVault(ctx, t.VaultID)
	if err != nil {
		return nil, err
	}
	mc, m, k, err := a.newMachine(t, v, hostname)
	if err != nil {
		return nil, err
	}
	if err := a.DB.Register(ctx, t.ID, a.Now().UTC(), m, k); err != nil {
		if errors.Is(err, meta.ErrExpired) {
			return nil, fmt.Errorf("%w: %w", ErrExpired, err)
		}
		return nil, err
	}
	return mc, nil
}

func (a *Admin) newMachine(t meta.Token, v meta.Vault, hostname string) (*MachineConfig, meta.Machine, meta.Key, error) {
	id, err := newID(a.Rand)
	if err != nil {
		return nil, meta.Machine{}, meta.Key{}, err
	}
	c, err := newCredential(kindMachine, a.Rand)
	if err != nil {
		return nil, meta.Machine{}, meta.Key{}, err
	}
	now := a.Now().UTC()
	m := meta.Machine{ID: id, AccountID: t.AccountID, VaultID: t.VaultID, Hostname: hostname, Created: now}
	k := meta.Key{ID: c.ID, Hash: c.Hash(), Role: meta.RoleMachine, Name: hostname,
		AccountID: t.AccountID, VaultID: t.VaultID, MachineID: id, Created: now}
	mc := &MachineConfig{Format: FormatMachineConfig, Endpoint: a.Endpoint, AccountID: t.AccountID,
		VaultID: t.VaultID, VaultName: v.Name, MachineID: id, Hostname: hostname, Key: c.String(), Registered: now}
	return mc, m, k, nil
}
