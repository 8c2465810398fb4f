package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations are the schema versions in order; migrations[i] brings the
// schema from version i to i+1. Never edit a released migration: append a
// new one. The SQL is portable: SQLite and PostgreSQL both run it.
var migrations = [][]string{
	{ // 1: accounts, vaults, machines, keys, registration tokens
		`CREATE TABLE accounts (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL UNIQUE,
			disabled BOOLEAN NOT NULL DEFAULT FALSE,
			created BIGINT NOT NULL)`,
		`CREATE TABLE vaults (
			id TEXT PRIMARY KEY,
			account_id TEXT NOT NULL REFERENCES accounts (id),
			name TEXT NOT NULL,
			machine_delete BOOLEAN NOT NULL DEFAULT FALSE,
			created BIGINT NOT NULL,
			UNIQUE (account_id, name))`,
		`CREATE TABLE machines (
			id TEXT PRIMARY KEY,
			account_id TEXT NOT NULL REFERENCES accounts (id),
			vault_id TEXT NOT NULL REFERENCES vaults (id),
			hostname TEXT NOT NULL,
			can_delete BOOLEAN NOT NULL DEFAULT FALSE,
			created BIGINT NOT NULL)`,
		`CREATE INDEX machines_vault ON machines (vault_id)`,
		`CREATE TABLE api_keys (
			id TEXT PRIMARY KEY,
			hash TEXT NOT NULL,
			role TEXT NOT NULL,
			name TEXT NOT NULL,
			account_id TEXT NOT NULL,
			vault_id TEXT NOT NULL,
			machine_id TEXT NOT NULL,
			created BIGINT NOT NULL,
			expires BIGINT NOT NULL,
			disabled BOOLEAN NOT NULL DEFAULT FALSE)`,
		`CREATE TABLE registration_tokens (
			id TEXT PRIMARY KEY,
			hash TEXT NOT NULL,
			account_id TEXT NOT NULL REFERENCES accounts (id),
			vault_id TEXT NOT NULL REFERENCES vaults (id),
			created BIGINT NOT NULL,
			expires BIGINT NOT NULL,
			used BIGINT NOT NULL DEFAULT 0,
			machine_id TEXT NOT NULL DEFAULT '')`,
	},
	{ // 2: storage accounts, settings, import jobs
		`CREATE TABLE storage_accounts (
			account_id TEXT NOT NULL REFERENCES accounts (id),
			name TEXT NOT NULL,
			store TEXT NOT NULL,
			created BIGINT NOT NULL,
			PRIMARY KEY (account_id, name))`,
		`CREATE TABLE settings (
			key TEXT PRIMARY KEY,
			value TEXT NOT NULL)`,
		// body is the importjob.Job JSON; state and tracking are copies
		// of its fields for queries and the uniqueness of tracking numbers
		// (NULL until shipping is reported: NULLs never collide).
		`CREATE TABLE jobs (
			id TEXT PRIMARY KEY,
			account_id TEXT NOT NULL REFERENCES accounts (id),
			name TEXT NOT NULL,
			body TEXT NOT NULL,
			state TEXT NOT NULL,
			tracking TEXT UNIQUE,
			job_key TEXT NOT NULL,
			version BIGINT NOT NULL,
			created BIGINT NOT NULL,
			updated BIGINT NOT NULL,
			UNIQUE (account_id, name))`,
		`CREATE INDEX jobs_state ON jobs (state)`,
	},
}

// SchemaVersion is the schema version this code writes.
func SchemaVersion() int { return len(migrations) }

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	applied BIGINT NOT NULL)`

// migrate brings the schema up to date, one transaction per version. Two
// instances migrating at once are safe: the loser's insert of the version
// row fails, its transaction rolls back, and it re-reads the version.
func migrate(ctx context.Context, db *sql.DB, now func() time.Time) error {
	if err := createVersions(ctx, db); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		v, err := currentVersion(ctx, db)
		if err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("%w: database schema version %d is newer than this seedshipd (%d): upgrade seedshipd", ErrSchema, v, len(migrations))
		}
		if v == len(migrations) {
			return nil
		}
		if err := applyMigration(ctx, db, v+1, now()); err != nil && attempt >= 3 {
			return err
		}
	}
}

// createVersions creates the version table if it is missing. PostgreSQL's
// IF NOT EXISTS is not atomic: of two instances creating it at once, one
// fails on the system catalog's unique index, and a second attempt sees the
// table.
func createVersions(ctx context.Context, db *sql.DB) error {
	var err error
	for range 3 {
		if _, err = db.ExecContext(ctx, createVersionTable); err == nil {
			return nil
		}
	}
	return fmt.Errorf("create schema_migrations: %w", err)
}

func currentVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

func applyMigration(ctx context.Context, db *sql.DB, version int, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate to schema version %d: %w", version, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, version, now.UnixNano()); err != nil {
		return fmt.Errorf("migrate to schema version %d: %w", version, err)
	}
	for i, stmt := range migrations[version-1] {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate to schema version %d, statement %d: %w", version, i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate to schema version %d: commit: %w", version, err)
	}
	return nil
}
