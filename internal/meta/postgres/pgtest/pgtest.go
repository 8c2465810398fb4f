// Package pgtest gives tests a fresh PostgreSQL database on the server that
// scripts/services.sh starts. The server is a real component: without it the
// tests fail, they do not skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// EnvDSN names the environment variable holding the test server's
// administrator DSN (a URL; its database is used only to create others).
const EnvDSN = "SEEDSHIP_TEST_POSTGRES_DSN"

// Collation tests databases are created with: a locale that does not order
// text byte-wise (it sorts "a-b" after "ab" and "Zulu" after "alpha"), so a
// query that relies on the database's default order shows.
const testLocale = "en-US"

// AdminDSN returns the test server's DSN, failing t when it is not set.
func AdminDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Fatalf("%s is not set: start the test services first: eval \"$(scripts/services.sh up)\" (or run scripts/test.sh)", EnvDSN)
	}
	return dsn
}

// NewDatabase creates an empty database with a random name, drops it when
// the test ends, and returns its DSN.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := AdminDSN(t)
	db := open(t, admin)
	name := "seedship_test_" + randomHex(t, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// template0: the only template that may change the locale.
	_, err := db.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '`+testLocale+`' LOCALE 'C'`)
	if err != nil {
		db.Close()
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a connection the code under test leaked must not keep it.
		if _, err := db.ExecContext(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(t, admin, name)
}

func open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	return stdlib.OpenDB(*cfg)
}

// withDatabase returns dsn naming database name instead of its own.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " dbname=" + name // key=value form: the last value wins
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
