// Package sqldb implements meta.DB over database/sql with portable SQL
// ($1 placeholders, TEXT/BIGINT/BOOLEAN columns, no engine-specific syntax),
// so the same code serves SQLite and PostgreSQL. A driver package (such as
// meta/sqlite) opens the *sql.DB and supplies the Dialect.
//
// Times are stored as BIGINT Unix nanoseconds, 0 for the zero time. Lists
// order text byte-wise on every engine (Dialect.Collate). Concurrent writers
// are safe at READ COMMITTED: every check that matters is a conditional
// UPDATE or a unique constraint; a read that precedes a write (the tracking
// number's) only picks the error, and the constraint decides.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seedship/seedship/internal/meta"
)

// ErrSchema reports a database whose schema this code cannot use.
var ErrSchema = errors.New("unsupported database schema")

// Dialect holds what differs between database engines.
type Dialect struct {
	// Name of the engine, for messages.
	Name string
	// IsUnique reports whether err is a unique or primary-key violation.
	IsUnique func(error) bool
	// Collate is the COLLATE clause that makes ORDER BY compare text
	// byte-wise, so lists come out in the same order on every engine and
	// whatever the database's locale; empty when that is the default.
	Collate string
}

// DB is a meta.DB over a *sql.DB.
type DB struct {
	db      *sql.DB
	dialect Dialect
}

var _ meta.DB = (*DB)(nil)

// New migrates db's schema to the current version and returns the meta.DB
// over it. now stamps the migration records. DB.Close closes db.
func New(ctx context.Context, db *sql.DB, d Dialect, now func() time.Time) (*DB, error) {
	if err := migrate(ctx, db, now); err != nil {
		return nil, fmt.Errorf("%s database: %w", d.Name, err)
	}
	return &DB{db: db, dialect: d}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// SQL returns the underlying database, for backends that add tables.
func (d *DB) SQL() *sql.DB { return d.db }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// exec runs one write; what names the record for errors.
func (d *DB) exec(ctx context.Context, what, query string, args ...any) error {
	_, err := d.db.ExecContext(ctx, query, args...)
	return d.wrap(what, err)
}

// update runs one UPDATE that must touch exactly one row.
func (d *DB) update(ctx context.Context, what, query string, args ...any) error {
	res, err := d.db.ExecContext(ctx, query, args...)
	if err != nil {
		return d.wrap(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return d.wrap(what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, meta.ErrNotFound)
	}
	return nil
}

func (d *DB) wrap(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, meta.ErrNotFound)
	case d.dialect.IsUnique != nil && d.dialect.IsUnique(err):
		return fmt.Errorf("%s: %w", what, meta.ErrExists)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// text returns the text column col for ORDER BY, compared byte-wise.
func (d *DB) text(col string) string {
	if d.dialect.Collate == "" {
		return col
	}
	return col + " " + d.dialect.Collate
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// list runs query and scans every row with scan.
func list[T any](ctx context.Context, d *DB, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, d.wrap(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, d.wrap(what, err)
		}
		out = append(out, v)
	}
	return out, d.wrap(what, rows.Err())
}

// inTx runs fn in a transaction, committing when fn returns nil.
func (d *DB) inTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return d.wrap(what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return d.wrap(what, tx.Commit())
}
