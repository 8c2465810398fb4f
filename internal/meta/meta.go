// Package meta defines the service's metadata database — accounts, vaults,
// machines, API keys, registration tokens, storage accounts, settings and
// import jobs — as a small interface, DB,
// that every backend (SQLite embedded, PostgreSQL for several instances)
// implements and that metatest checks. The package holds no SQL; backends
// live in the sub-packages.
//
// Secrets are never stored: keys and tokens carry only the hex SHA-256 of
// their secret part, which the caller compares in constant time.
package meta

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors every backend returns, wrapped with %w and the record named.
var (
	// ErrNotFound: no record with that id or name.
	ErrNotFound = errors.New("not found")
	// ErrExists: a record with that id or (scoped) name already exists.
	ErrExists = errors.New("already exists")
	// ErrTokenUsed: a registration token was already consumed.
	ErrTokenUsed = errors.New("registration token already used")
	// ErrExpired: a registration token is past its expiry time.
	ErrExpired = errors.New("registration token expired")
)

// Role says what a key may do.
type Role string

// The roles of an API key.
const (
	// RoleAdmin is an account administrator: all vaults and machines of one account.
	RoleAdmin Role = "admin"
	// RoleMachine is one registered machine: its own repository only.
	RoleMachine Role = "machine"
	// RoleOperator is datacenter staff: import jobs and operations, never backup data.
	RoleOperator Role = "operator"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleMachine || r == RoleOperator
}

// Account is one customer.
type Account struct {
	ID       string
	Name     string // unique
	Disabled bool
	Created  time.Time
}

// Vault is a named group of machine repositories inside one account.
type Vault struct {
	ID        string
	AccountID string
	Name      string // unique within the account
	// MachineDelete grants every machine of the vault the right to delete
	// objects of its own repository (append-only otherwise).
	MachineDelete bool
	Created       time.Time
}

// Machine is one registered source computer; it owns one repository.
type Machine struct {
	ID        string
	AccountID string
	VaultID   string
	Hostname  string
	// Delete grants this machine the right to delete its own objects.
	Delete  bool
	Created time.Time
}

// Key is an API credential. Its secret is known only to its holder; Hash is
// the hex SHA-256 of the secret.
type Key struct {
	ID        string
	Hash      string
	Role      Role
	Name      string // free text: account or operator name, hostname
	AccountID string // empty for operators
	VaultID   string // machines only
	MachineID string // machines only
	Created   time.Time
	Expires   time.Time // zero: never
	Disabled  bool
}

// Token is a one-time machine registration token for one vault.
type Token struct {
	ID        string
	Hash      string
	AccountID string
	VaultID   string
	Created   time.Time
	Expires   time.Time
	Used      time.Time // zero until consumed
	MachineID string    // the machine registered with it
}

// Accounts stores accounts.
type Accounts interface {
	// CreateAccount stores a; ErrExists when its id or name is taken.
	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	AccountByName(ctx context.Context, name string) (Account, error)
	// ListAccounts returns all accounts sorted by name (byte-wise, as every
	// list: the same order on every engine and locale).
	ListAccounts(ctx context.Context) ([]Account, error)
	SetAccountDisabled(ctx context.Context, id string, disabled bool) error
}

// Vaults stores vaults.
type Vaults interface {
	// CreateVault stores v; ErrExists when its id, or its name within the
	// account, is taken; ErrNotFound when the account does not exist.
	CreateVault(ctx context.Context, v Vault) error
	GetVault(ctx context.Context, id string) (Vault, error)
	VaultByName(ctx context.Context, accountID, name string) (Vault, error)
	// ListVaults returns the account's vaults sorted by name.
	ListVaults(ctx context.Context, accountID string) ([]Vault, error)
	SetVaultMachineDelete(ctx context.Context, id string, allowed bool) error
}

// Machines stores machines and their registration.
type Machines interface {
	// CreateToken stores a registration token.
	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, id string) (Token, error)
	// Register consumes token tokenID at time now and stores m and its key
	// k in one transaction: ErrTokenUsed or ErrExpired leave nothing
	// changed, so a token registers exactly one machine.
	Register(ctx context.Context, tokenID string, now time.Time, m Machine, k Key) error
	GetMachine(ctx context.Context, id string) (Machine, error)
	// ListMachines returns the vault's machines, oldest first, then by id.
	ListMachines(ctx context.Context, vaultID string) ([]Machine, error)
	SetMachineDelete(ctx context.Context, id string, allowed bool) error
}

// Keys stores API keys.
type Keys interface {
	// CreateKey stores k; ErrExists when its id is taken.
	CreateKey(ctx context.Context, k Key) error
	GetKey(ctx context.Context, id string) (Key, error)
	SetKeyDisabled(ctx context.Context, id string, disabled bool) error
}

// DB is the whole metadata database.
type DB interface {
	Accounts
	Vaults
	Machines
	Keys
	StorageAccounts
	Settings
	Jobs
	io.Closer
}
