package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/vault"
)

// TestSeedAdoption checks the wiring of storage accounts: the service opens
// a job's storage account location and adopts its seed.
func TestSeedAdoption(t *testing.T) {
	dir := t.TempDir()
	r := serve(t, dir)
	acc, mc := registerMachine(t, r)
	ctx := context.Background()
	saDir := t.TempDir()
	if _, err := r.svc.Admin(r.url).CreateStorageAccount(ctx, acc.AccountID, "sa1", saDir); err != nil {
		t.Fatal(err)
	}
	drive := importjob.Drive{ID: strings.Repeat("0", 32), Seq: 1, ManifestHash: strings.Repeat("ab", 32), Bytes: 10, Files: 1}
	req := vault.CreateJobRequest{Name: "seed", StorageAccount: "sa1", Container: "c", JobKey: make([]byte, vault.JobKeySize),
		Drives: []importjob.Drive{drive}}
	if _, err := r.svc.Jobs().Create(ctx, acc.AccountID, req); err != nil {
		t.Fatal(err)
	}
	_, err := meta.ModifyJob(ctx, r.svc.DB, acc.AccountID, "seed", r.svc.opts.Now(), func(j *importjob.Job) (bool, error) {
		now := r.svc.opts.Now()
		return true, errors.Join(j.ReportShipping(now, importjob.Shipping{Carrier: "DHL", Tracking: "T1", ShipDate: now,
			ReturnAddress: "x", Contact: "y"}), j.ReceiveDrive(now, drive.ID), j.StartDrive(now, drive.ID, "st"),
			j.FinishDrive(now, drive.ID, 10, 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte(`{"a key file"}`)
	sum := sha256.Sum256(key)
	name := "keys/" + hex.EncodeToString(sum[:])
	sa, err := local.Open(saDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Put(ctx, "c/"+name, bytes.NewReader(key), int64(len(key))); err != nil {
		t.Fatal(err)
	}
	c, err := vault.NewClient(vault.ClientConfig{Endpoint: mc.Endpoint, Key: mc.Key, VaultID: mc.VaultID, MachineID: mc.MachineID})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Adopt(ctx, "seed", "")
	if err != nil || rep.Copied != 1 || !rep.Done {
		t.Fatalf("Adopt = %+v, %v; want the key copied", rep, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "objects", "vaults", mc.VaultID, "machines", mc.MachineID, filepath.FromSlash(name)))
	if err != nil || !bytes.Equal(got, key) {
		t.Errorf("adopted key file: %q, %v; want %q", got, err, key)
	}
}
