package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/seedship/seedship/internal/meta"
)

const accountCols = `id, name, disabled, created`

func scanAccount(r rowScanner) (meta.Account, error) {
	var a meta.Account
	var created int64
	err := r.Scan(&a.ID, &a.Name, &a.Disabled, &created)
	a.Created = fromUnixNano(created)
	return a, err
}

// CreateAccount implements meta.Accounts.
func (d *DB) CreateAccount(ctx context.Context, a meta.Account) error {
	return d.exec(ctx, "create account "+a.Name,
		`INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4)`,
		a.ID, a.Name, a.Disabled, unixNano(a.Created))
}

// GetAccount implements meta.Accounts.
func (d *DB) GetAccount(ctx context.Context, id string) (meta.Account, error) {
	a, err := scanAccount(d.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	return a, d.wrap("account "+id, err)
}

// AccountByName implements meta.Accounts.
func (d *DB) AccountByName(ctx context.Context, name string) (meta.Account, error) {
	a, err := scanAccount(d.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, name))
	return a, d.wrap(fmt.Sprintf("account %q", name), err)
}

// ListAccounts implements meta.Accounts.
func (d *DB) ListAccounts(ctx context.Context) ([]meta.Account, error) {
	return list(ctx, d, "list accounts", scanAccount, `SELECT `+accountCols+` FROM accounts ORDER BY `+d.text("name"))
}

// SetAccountDisabled implements meta.Accounts.
func (d *DB) SetAccountDisabled(ctx context.Context, id string, disabled bool) error {
	return d.update(ctx, "account "+id, `UPDATE accounts SET disabled = $1 WHERE id = $2`, disabled, id)
}

const vaultCols = `id, account_id, name, machine_delete, created`

func scanVault(r rowScanner) (meta.Vault, error) {
	var v meta.Vault
	var created int64
	err := r.Scan(&v.ID, &v.AccountID, &v.Name, &v.MachineDelete, &created)
	v.Created = fromUnixNano(created)
	return v, err
}

// CreateVault implements meta.Vaults.
func (d *DB) CreateVault(ctx context.Context, v meta.Vault) error {
	what := fmt.Sprintf("create vault %q", v.Name)
	return d.inTx(ctx, what, func(tx *sql.Tx) error {
		if err := d.mustExist(ctx, tx, what, `SELECT id FROM accounts WHERE id = $1`, v.AccountID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO vaults (`+vaultCols+`) VALUES ($1, $2, $3, $4, $5)`,
			v.ID, v.AccountID, v.Name, v.MachineDelete, unixNano(v.Created))
		return d.wrap(what, err)
	})
}

// mustExist returns ErrNotFound unless query finds a row.
func (d *DB) mustExist(ctx context.Context, tx *sql.Tx, what, query string, args ...any) error {
	var id string
	return d.wrap(what, tx.QueryRowContext(ctx, query, args...).Scan(&id))
}

// GetVault implements meta.Vaults.
func (d *DB) GetVault(ctx context.Context, id string) (meta.Vault, error) {
	v, err := scanVault(d.db.QueryRowContext(ctx, `SELECT `+vaultCols+` FROM vaults WHERE id = $1`, id))
	return v, d.wrap("vault "+id, err)
}

// VaultByName implements meta.Vaults.
func (d *DB) VaultByName(ctx context.Context, accountID, name string) (meta.Vault, error) {
	v, err := scanVault(d.db.QueryRowContext(ctx,
		`SELECT `+vaultCols+` FROM vaults WHERE account_id = $1 AND name = $2`, accountID, name))
	return v, d.wrap(fmt.Sprintf("vault %q", name), err)
}

// ListVaults implements meta.Vaults.
func (d *DB) ListVaults(ctx context.Context, accountID string) ([]meta.Vault, error) {
	return list(ctx, d, "list vaults", scanVault,
		`SELECT `+vaultCols+` FROM vaults WHERE account_id = $1 ORDER BY `+d.text("name"), accountID)
}

// SetVaultMachineDelete implements meta.Vaults.
func (d *DB) SetVaultMachineDelete(ctx context.Context, id string, allowed bool) error {
	return d.update(ctx, "vault "+id, `UPDATE vaults SET machine_delete = $1 WHERE id = $2`, allowed, id)
}

const keyCols = `id, hash, role, name, account_id, vault_id, machine_id, created, expires, disabled`

func scanKey(r rowScanner) (meta.Key, error) {
	var k meta.Key
	var created, expires int64
	var role string
	err := r.Scan(&k.ID, &k.Hash, &role, &k.Name, &k.AccountID, &k.VaultID, &k.MachineID, &created, &expires, &k.Disabled)
	k.Role, k.Created, k.Expires = meta.Role(role), fromUnixNano(created), fromUnixNano(expires)
	return k, err
}

func keyArgs(k meta.Key) []any {
	return []any{k.ID, k.Hash, string(k.Role), k.Name, k.AccountID, k.VaultID, k.MachineID,
		unixNano(k.Created), unixNano(k.Expires), k.Disabled}
}

const insertKey = `INSERT INTO api_keys (` + keyCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// CreateKey implements meta.Keys.
func (d *DB) CreateKey(ctx context.Context, k meta.Key) error {
	return d.exec(ctx, "create key "+k.ID, insertKey, keyArgs(k)...)
}

// GetKey implements meta.Keys.
func (d *DB) GetKey(ctx context.Context, id string) (meta.Key, error) {
	k, err := scanKey(d.db.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = $1`, id))
	return k, d.wrap("key "+id, err)
}

// SetKeyDisabled implements meta.Keys.
func (d *DB) SetKeyDisabled(ctx context.Context, id string, disabled bool) error {
	return d.update(ctx, "key "+id, `UPDATE api_keys SET disabled = $1 WHERE id = $2`, disabled, id)
}

const tokenCols = `id, hash, account_id, vault_id, created, expires, used, machine_id`

func scanToken(r rowScanner) (meta.Token, error) {
	var t meta.Token
	var created, expires, used int64
	err := r.Scan(&t.ID, &t.Hash, &t.AccountID, &t.VaultID, &created, &expires, &used, &t.MachineID)
	t.Created, t.Expires, t.Used = fromUnixNano(created), fromUnixNano(expires), fromUnixNano(used)
	return t, err
}

// CreateToken implements meta.Machines.
func (d *DB) CreateToken(ctx context.Context, t meta.Token) error {
	what := "create registration token " + t.ID
	return d.inTx(ctx, what, func(tx *sql.Tx) error {
		if err := d.mustExist(ctx, tx, what, `SELECT id FROM vaults WHERE id = $1 AND account_id = $2`, t.VaultID, t.AccountID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO registration_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.ID, t.Hash, t.AccountID, t.VaultID, unixNano(t.Created), unixNano(t.Expires), unixNano(t.Used), t.MachineID)
		return d.wrap(what, err)
	})
}

// GetToken implements meta.Machines.
func (d *DB) GetToken(ctx context.Context, id string) (meta.Token, error) {
	t, err := scanToken(d.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM registration_tokens WHERE id = $1`, id))
	return t, d.wrap("registration token "+id, err)
}

// Register implements meta.Machines.
func (d *DB) Register(ctx context.Context, tokenID string, now time.Time, m meta.Machine, k meta.Key) error {
	what := "register machine " + m.ID
	return d.inTx(ctx, what, func(tx *sql.Tx) error {
		if err := d.consumeToken(ctx, tx, tokenID, now, m.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO machines (id, account_id, vault_id, hostname, can_delete, created) VALUES ($1, $2, $3, $4, $5, $6)`,
			m.ID, m.AccountID, m.VaultID, m.Hostname, m.Delete, unixNano(m.Created))
		if err != nil {
			return d.wrap(what, err)
		}
		_, err = tx.ExecContext(ctx, insertKey, keyArgs(k)...)
		return d.wrap(what, err)
	})
}

// consumeToken marks the token used in one conditional UPDATE, so two
// concurrent registrations cannot both succeed.
func (d *DB) consumeToken(ctx context.Context, tx *sql.Tx, id string, now time.Time, machineID string) error {
	what := "registration token " + id
	res, err := tx.ExecContext(ctx, `UPDATE registration_tokens SET used = $1, machine_id = $2 WHERE id = $3 AND used = 0 AND expires > $1`,
		unixNano(now), machineID, id)
	if err != nil {
		return d.wrap(what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return d.wrap(what, err)
	}
	var used, expires int64
	if err := tx.QueryRowContext(ctx, `SELECT used, expires FROM registration_tokens WHERE id = $1`, id).Scan(&used, &expires); err != nil {
		return d.wrap(what, err)
	}
	if used != 0 {
		return fmt.Errorf("%s: %w", what, meta.ErrTokenUsed)
	}
	return fmt.Errorf("%s: %w", what, meta.ErrExpired)
}

const machineCols = `id, account_id, vault_id, hostname, can_delete, created`

func scanMachine(r rowScanner) (meta.Machine, error) {
	var m meta.Machine
	var created int64
	err := r.Scan(&m.ID, &m.AccountID, &m.VaultID, &m.Hostname, &m.Delete, &created)
	m.Created = fromUnixNano(created)
	return m, err
}

// GetMachine implements meta.Machines.
func (d *DB) GetMachine(ctx context.Context, id string) (meta.Machine, error) {
	m, err := scanMachine(d.db.QueryRowContext(ctx, `SELECT `+machineCols+` FROM machines WHERE id = $1`, id))
	return m, d.wrap("machine "+id, err)
}

// ListMachines implements meta.Machines.
func (d *DB) ListMachines(ctx context.Context, vaultID string) ([]meta.Machine, error) {
	return list(ctx, d, "list machines", scanMachine,
		`SELECT `+machineCols+` FROM machines WHERE vault_id = $1 ORDER BY created, `+d.text("id"), vaultID)
}

// SetMachineDelete implements meta.Machines.
func (d *DB) SetMachineDelete(ctx context.Context, id string, allowed bool) error {
	return d.update(ctx, "machine "+id, `UPDATE machines SET can_delete = $1 WHERE id = $2`, allowed, id)
}
