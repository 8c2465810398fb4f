package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/meta/postgres"
	"github.com/seedship/seedship/internal/meta/postgres/pgtest"
)

func TestParseDatabaseConfig(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want DatabaseConfig
	}{
		{"", DatabaseConfig{Driver: DriverSQLite, Path: "seedshipd.db"}},
		{"[database]\ndriver = \"postgres\"\ndsn = \"postgres://seedship@db/seedship\"",
			DatabaseConfig{Driver: DriverPostgres, Path: "seedshipd.db", DSN: "postgres://seedship@db/seedship"}},
	} {
		c, err := ParseConfig([]byte(tc.in), "test.toml")
		if err != nil || c.Database != tc.want {
			t.Errorf("ParseConfig(%q).Database = %+v, %v; want %+v", tc.in, c.Database, err, tc.want)
		}
	}
	for _, tc := range []string{
		"[database]\ndriver = \"postgres\"",
		"[database]\npath = \"\"",
		"[database]\ndriver = \"Postgres\"\ndsn = \"x\"",
	} {
		if _, err := ParseConfig([]byte(tc), "test.toml"); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseConfig(%q) = %v, want ErrConfig", tc, err)
		}
	}
}

// TestServiceOnPostgres runs a service on the test PostgreSQL server and
// registers a machine through its API: the records land in PostgreSQL and
// no SQLite file appears.
func TestServiceOnPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	conf := "[database]\ndriver = \"postgres\"\ndsn = " + strconv.Quote(dsn) + "\n"
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r := serve(t, dir)
	acc, mc := registerMachine(t, r)
	db, err := postgres.Open(context.Background(), dsn, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if a, err := db.AccountByName(ctx, "acme"); err != nil || a.ID != acc.AccountID {
		t.Errorf("account in PostgreSQL: %+v, %v; want id %s", a, err, acc.AccountID)
	}
	if m, err := db.GetMachine(ctx, mc.MachineID); err != nil || m.VaultID != mc.VaultID {
		t.Errorf("machine in PostgreSQL: %+v, %v; want vault %s", m, err, mc.VaultID)
	}
	if _, err := os.Stat(filepath.Join(dir, "seedshipd.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SQLite file with the postgres driver: %v, want none", err)
	}
}
