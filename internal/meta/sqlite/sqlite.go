// Package sqlite opens the embedded metadata database: a single SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode, behind meta.DB through sqldb.
// Several processes may open the same file — `seedshipd serve` and the
// operator commands do — because writes take the database lock at BEGIN and
// wait for it (busy timeout) instead of failing.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/seedship/seedship/internal/meta/sqldb"
)

// Dialect returns SQLite's sqldb.Dialect.
func Dialect() sqldb.Dialect { return sqldb.Dialect{Name: "sqlite", IsUnique: isUnique} }

func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// DSN returns the connection string for the database file path.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path and migrates
// its schema.
func Open(ctx context.Context, path string, now func() time.Time) (*sqldb.DB, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	d, err := sqldb.New(ctx, db, Dialect(), now)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return d, nil
}
