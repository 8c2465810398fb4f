package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/meta/metatest"
	"github.com/seedship/seedship/internal/meta/sqldb"
	"github.com/seedship/seedship/internal/meta/sqlite"
)

func clock() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.DB {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"), clock)
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	// A path with characters that need escaping in a URI.
	path := filepath.Join(t.TempDir(), "dir with space?#", "meta.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path, clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAccount(ctx, meta.Account{ID: "a1", Name: "alpha", Created: clock()}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path, clock)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
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
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sqlite.Open(ctx, path, clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, sqldb.SchemaVersion()+1, 0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, path, clock)
	if !errors.Is(err, sqldb.ErrSchema) {
		t.Errorf("Open of a newer schema: %v, want ErrSchema", err)
	}
}
