package vault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/meta"
)

func TestRegister(t *testing.T) {
	f := newFixture(t, nil)
	a := f.account("acme")
	v := f.vault(a, "web")
	cred := f.credFile(a, v)
	dir := filepath.Join(t.TempDir(), "seedship")
	ctx := context.Background()
	mc, err := Register(ctx, cred, dir)
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, 0o700)
	checkMode(t, filepath.Join(dir, MachineConfigFile), 0o600)
	got, err := LoadMachineConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *mc || got.VaultID != v.ID || got.VaultName != "web" || got.Endpoint != f.srv.cfg.Endpoint {
		t.Errorf("LoadMachineConfig = %+v, want %+v", got, mc)
	}
	st, err := OpenRegistered(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	who, err := st.(*Client).Ping(ctx)
	if err != nil || who.Role != meta.RoleMachine || who.MachineID != mc.MachineID {
		t.Errorf("Ping = %+v, %v; want machine %s", who, err, mc.MachineID)
	}
	if _, err := Register(ctx, f.credFile(a, v), dir); !errors.Is(err, ErrRegistered) {
		t.Errorf("second Register into the same folder = %v, want ErrRegistered", err)
	}
	if _, err := Register(ctx, cred, filepath.Join(t.TempDir(), "other")); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Register with a used token = %v, want ErrUnauthorized", err)
	}
}

func TestRegisterExpired(t *testing.T) {
	f := newFixture(t, nil)
	a := f.account("acme")
	v := f.vault(a, "web")
	cred := f.credFile(a, v)
	f.clock.Add(DefaultTokenValidity) // the service's clock: expired there
	if _, err := Register(context.Background(), cred, t.TempDir()); !errors.Is(err, ErrExpired) {
		t.Errorf("Register after expiry (service side) = %v, want ErrExpired", err)
	}
	vc, err := f.admin.VaultCredentials(context.Background(), a.AccountID, v.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	vc.Expires = time.Now().Add(-time.Minute) // and on the machine's clock
	b, _ := vc.Marshal()
	path := filepath.Join(t.TempDir(), "cred")
	os.WriteFile(path, b, 0o600)
	if _, err := Register(context.Background(), path, t.TempDir()); !errors.Is(err, ErrExpired) {
		t.Errorf("Register after expiry (machine side) = %v, want ErrExpired", err)
	}
}

func TestLoadMachineConfigErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadMachineConfig(dir); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("LoadMachineConfig of an empty folder = %v, want ErrNotRegistered", err)
	}
	f := newFixture(t, nil)
	a := f.account("acme")
	mc := f.machine(a, f.vault(a, "web"))
	b, _ := mc.Marshal()
	path := filepath.Join(dir, MachineConfigFile)
	os.WriteFile(path, b, 0o644)
	os.Chmod(path, 0o644)
	if _, err := LoadMachineConfig(dir); err == nil {
		t.Errorf("LoadMachineConfig of a world-readable file succeeded")
	}
	os.Chmod(path, 0o600)
	if _, err := LoadMachineConfig(dir); err != nil {
		t.Errorf("LoadMachineConfig after chmod 600 = %v", err)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %04o, want %04o", path, got, want)
	}
}
