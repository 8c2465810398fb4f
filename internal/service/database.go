package service

import (
	"context"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/meta/postgres"
	"github.com/seedship/seedship/internal/meta/sqlite"
)

// The [database] drivers.
const (
	// DriverSQLite is the embedded database: one file in the data folder.
	DriverSQLite = "sqlite"
	// DriverPostgres is a PostgreSQL server that several instances share.
	DriverPostgres = "postgres"
)

// openDB opens (and migrates) the configured metadata database.
func openDB(ctx context.Context, dir string, c DatabaseConfig, now func() time.Time) (meta.DB, error) {
	if c.Driver == DriverPostgres {
		db, err := postgres.Open(ctx, c.DSN, now)
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	db, err := sqlite.Open(ctx, path(dir, c.Path), now)
	if err != nil {
		return nil, err
	}
	return db, nil
}
