// Package postgres opens the metadata database on a PostgreSQL server
// (pgx's database/sql driver) behind meta.DB through sqldb, for several
// seedshipd instances that share one database.
//
// Transactions run at READ COMMITTED, PostgreSQL's default, which Open pins
// whatever the server or DSN says. That is enough because no sqldb transaction decides a write from an earlier
// read alone: every check that matters is a conditional UPDATE (the job's
// version, a token's "not used yet") or a unique constraint. A conditional
// UPDATE that waits for a concurrent writer's row lock re-evaluates its
// WHERE clause against the committed row, so of two writers of one version
// exactly one matches and the other sees zero rows (meta.ErrConflict); no
// SELECT … FOR UPDATE and no serialization retries are needed.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/seedship/seedship/internal/meta/sqldb"
)

// ErrDSN reports a connection string that cannot be parsed.
var ErrDSN = errors.New("invalid PostgreSQL connection string")

// Pool settings: a handful of connections per instance is plenty for
// metadata queries, and a bounded lifetime lets a failover or a changed DNS
// name take effect without a restart.
const (
	maxOpenConns    = 16
	maxIdleConns    = 4
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
	connectTimeout  = 10 * time.Second
)

// uniqueViolation is the SQLSTATE of unique and primary-key violations.
const uniqueViolation = "23505"

// Dialect returns PostgreSQL's sqldb.Dialect.
func Dialect() sqldb.Dialect {
	// "C" orders text byte-wise whatever the database's collation, as
	// SQLite's default BINARY collation does.
	return sqldb.Dialect{Name: "postgres", IsUnique: isUnique, Collate: `COLLATE "C"`}
}

func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

// Open connects to the database dsn names (a URL such as
// postgres://user@host:5432/seedship?sslmode=verify-full, or key=value
// pairs) and migrates its schema. now stamps the migration records.
func Open(ctx context.Context, dsn string, now func() time.Time) (*sqldb.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message masks the password.
		return nil, fmt.Errorf("open postgres database: %w: %v", ErrDSN, err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	// The concurrency argument of the package holds at READ COMMITTED: under
	// REPEATABLE READ or SERIALIZABLE a conditional UPDATE that lost a race
	// fails with a serialization error instead of matching zero rows.
	cfg.RuntimeParams["default_transaction_isolation"] = "read committed"
	name := describe(cfg)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres database %s: %w", name, err)
	}
	d, err := sqldb.New(ctx, db, Dialect(), now)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres database %s: %w", name, err)
	}
	return d, nil
}

// describe names the database for messages without the password.
func describe(cfg *pgx.ConnConfig) string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))) + "/" + cfg.Database
}
