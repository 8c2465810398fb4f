package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/meta/metatest"
	"github.com/seedship/seedship/internal/meta/postgres"
	"github.com/seedship/seedship/internal/meta/postgres/pgtest"
	"github.com/seedship/seedship/internal/meta/sqldb"
)

func clock() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

func open(t *testing.T, dsn string) *sqldb.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, clock)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	pgtest.AdminDSN(t) // one failure, not one per subtest, without a server
	metatest.Run(t, func(t *testing.T) meta.DB { return open(t, pgtest.NewDatabase(t)) })
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	db := open(t, dsn)
	if err := db.CreateAccount(ctx, meta.Account{ID: "a1", Name: "alpha", Created: clock()}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, dsn)
	defer db.Close()
	if _, err := db.AccountByName(ctx, "alpha"); err != nil {
		t.Errorf("AccountByName after reopen: %v", err)
	}
	var v int
	if err := db.SQL().QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != sqldb.SchemaVersion() {
		t.Errorf("schema version %d, want %d", v, sqldb.SchemaVersion())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	db := open(t, dsn)
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, sqldb.SchemaVersion()+1, 0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := postgres.Open(ctx, dsn, clock)
	if !errors.Is(err, sqldb.ErrSchema) {
		t.Errorf("Open of a newer schema: %v, want ErrSchema", err)
	}
}

// TestConcurrentMigration: instances that start together on an empty
// database all open it; one of them migrates.
func TestConcurrentMigration(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			db, err := postgres.Open(context.Background(), dsn, clock)
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{"postgres://u:secret@[bad", "host=h password=secret port=x"} {
		_, err := postgres.Open(ctx, dsn, clock)
		if !errors.Is(err, postgres.ErrDSN) || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open of a malformed DSN: %v, want ErrDSN without the password", err)
		}
	}
	// A closed port: the error names the server and hides the password.
	_, err := postgres.Open(ctx, "postgres://u:secret@127.0.0.1:1/db?sslmode=disable", clock)
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "127.0.0.1:1/db") || strings.Contains(msg, "secret") {
		t.Errorf("Open of an unreachable server: %q, want the server named and no password", msg)
	}
}

// TestConformanceServerSerializable: a server (or DSN) whose default
// isolation is SERIALIZABLE does not change the semantics; Open pins READ
// COMMITTED, which the optimistic concurrency of jobs relies on.
func TestConformanceServerSerializable(t *testing.T) {
	pgtest.AdminDSN(t)
	metatest.RunOnly(t, func(t *testing.T) meta.DB {
		u, err := url.Parse(pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("default_transaction_isolation", "serializable") // a run-time parameter
		u.RawQuery = q.Encode()
		db := open(t, u.String())
		var level string
		if err := db.SQL().QueryRow(`SHOW transaction_isolation`).Scan(&level); err != nil || level != "read committed" {
			t.Fatalf("isolation = %q, %v; want read committed", level, err)
		}
		return db
	}, metatest.Concurrent()...)
}
