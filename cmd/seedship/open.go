package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/location"
	"github.com/seedship/seedship/internal/store/retry"
	"github.com/seedship/seedship/internal/vault"
)

// testKDFEnv, when "1", makes new keys use a trivially cheap KDF. It exists
// for tests only: such keys are easy to brute-force.
const testKDFEnv = "SEEDSHIP_INSECURE_TEST_KDF"

// vaultLocation names the registered vault as a repository location.
const vaultLocation = "vault:"

// location is the repository location: --repo, $SEEDSHIP_REPO, or the
// registered vault when this machine is registered.
func (g *globals) location(e env) (string, error) {
	if g.repo != "" {
		return g.repo, nil
	}
	if loc := e.getenv("SEEDSHIP_REPO"); loc != "" {
		return loc, nil
	}
	if dir, err := vault.DefaultConfigDir(e.getenv); err == nil {
		if _, err := vault.LoadMachineConfig(dir); err == nil {
			return vaultLocation, nil
		}
	}
	return "", errors.New("no repository given: pass --repo LOCATION, set SEEDSHIP_REPO, or register this machine with a vault (seedship register)")
}

func logger(e env, g *globals) *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

func repoOptions(e env, g *globals) repo.Options {
	o := repo.Options{Logger: logger(e, g)}
	if e.getenv(testKDFEnv) == "1" {
		o.KDF = crypto.TestKDF()
	}
	return o
}

// openStore opens (or with create, creates) the store at the repository
// location.
func openStore(ctx context.Context, e env, g *globals, create bool) (store.Store, string, error) {
	loc, err := g.location(e)
	if err != nil {
		return nil, "", err
	}
	st, err := openLocation(ctx, e, g, loc, create)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, loc, fmt.Errorf("repository %s does not exist: check --repo, or create it with \"seedship init --repo %s\"", loc, loc)
	}
	if err != nil {
		return nil, loc, fmt.Errorf("repository %s: %w", loc, err)
	}
	return st, loc, nil
}

// openLocation assembles the store stack for a location: the backend, and
// above it retries of transient failures for backends that do not retry
// themselves. The Azure and S3 backends retry inside, where they can
// rewind request bodies; a local disk's errors are not transient.
func openLocation(ctx context.Context, e env, g *globals, loc string, create bool) (store.Store, error) {
	if loc == vaultLocation {
		dir, err := vault.DefaultConfigDir(e.getenv)
		if err != nil {
			return nil, err
		}
		st, err := vault.OpenRegistered(ctx, dir)
		if err != nil {
			return nil, err
		}
		// The vault client retries reads itself but not uploads.
		return withSeedFallback(e, retry.New(st, retry.Options{Logger: logger(e, g)})), nil
	}
	st, err := location.Open(ctx, loc, create)
	if err != nil {
		return nil, err
	}
	switch kind, _, _ := location.Parse(loc); kind {
	case location.Local, location.Azure, location.S3:
		return st, nil
	}
	return retry.New(st, retry.Options{Logger: logger(e, g)}), nil
}

// openRepo opens the repository with its password and loads the index.
func openRepo(ctx context.Context, e env, g *globals) (*repo.Repository, error) {
	st, loc, err := openStore(ctx, e, g, false)
	if err != nil {
		return nil, err
	}
	pw, err := password(e, g, "enter the repository password: ", false)
	if err != nil {
		return nil, err
	}
	r, err := repo.Open(ctx, st, pw, repoOptions(e, g))
	if err != nil {
		return nil, explainOpenError(loc, err)
	}
	if err := r.LoadIndex(ctx); err != nil {
		return nil, fmt.Errorf("load index of %s: %w", loc, err)
	}
	return r, nil
}

func explainOpenError(loc string, err error) error {
	switch {
	case errors.Is(err, repo.ErrWrongPassword):
		return fmt.Errorf("wrong password for repository %s (no key file opens with it)", loc)
	case errors.Is(err, repo.ErrNotRepository):
		return fmt.Errorf("%s is not a seedship repository: %w; check --repo, or create one with \"seedship init --repo %s\"", loc, err, loc)
	}
	return fmt.Errorf("open repository %s: %w", loc, err)
}

// withLock runs fn holding a repository lock.
func withLock(ctx context.Context, r *repo.Repository, exclusive bool, fn func() error) error {
	l, err := r.Lock(ctx, exclusive)
	if err != nil {
		return err
	}
	defer l.Unlock(ctx)
	return fn()
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
