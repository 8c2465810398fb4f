package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/seedship/seedship/internal/importer"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/service"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/location"
	"github.com/seedship/seedship/internal/vault"
)

// The names the quickstart gives the service's objects.
const (
	qsAccount        = "acme"
	qsVault          = "servers"
	qsStorageAccount = "sa1"
	qsContainer      = "quickstart"
	qsJob            = "quickstart-seed"
	qsDatacenter     = "Seedship DC1, Dock 4, 1 Harbour Rd"
)

// qsShutdown bounds the embedded service's shutdown.
const qsShutdown = 200 * time.Millisecond

// qsService is the embedded seedshipd: the real service (SQLite database,
// local object store, TLS with a pinned self-signed certificate) on a port
// chosen at run time, served in a goroutine.
type qsService struct {
	s         *service.Service
	url       string
	accountID string
	cancel    context.CancelFunc
	done      chan error // Serve's result
	log       *os.File
	bytesIn   atomic.Int64 // request bodies received from clients
	bytesOut  atomic.Int64 // response bodies sent to them
}

// startService opens the data folder dir and serves it on 127.0.0.1:0
// until stop. The service's log goes to dir/seedshipd.log.
func startService(ctx context.Context, dir string) (*qsService, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(dir, "seedshipd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	q := &qsService{log: lf, done: make(chan error, 1)}
	q.s, err = service.Open(ctx, dir, service.Options{LogOutput: lf, Observe: q.observe})
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("open the service's data folder %s: %w", dir, err)
	}
	// The quickstart stops the service only once every command returned:
	// nothing is in flight then, but the clients' transports may hold
	// connections they dialled and never used, which net/http's shutdown
	// waits five seconds for. Cut them sooner.
	q.s.Config.ShutdownTimeout = qsShutdown
	sctx, cancel := context.WithCancel(ctx)
	q.cancel = cancel
	ready := make(chan net.Addr, 1)
	go func() { q.done <- q.s.Serve(sctx, "127.0.0.1:0", func(a net.Addr) { ready <- a }) }()
	select {
	case a := <-ready:
		q.url = "https://" + a.String()
		return q, nil
	case err := <-q.done:
		cancel()
		q.s.Close()
		lf.Close()
		return nil, fmt.Errorf("start the service: %w", err)
	}
}

// stop shuts the service down, waits for Serve to return and closes the
// database.
func (q *qsService) stop() error {
	q.cancel()
	err := <-q.done
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // connections cut after qsShutdown, see startService
	}
	err = errors.Join(err, q.s.Close())
	return errors.Join(err, q.log.Close())
}

func (q *qsService) observe(ri vault.RequestInfo) {
	q.bytesIn.Add(ri.BytesIn)
	q.bytesOut.Add(ri.BytesOut)
}

// traffic returns the body bytes received and sent so far (none before
// the service started).
func (q *qsService) traffic() (in, out int64) {
	if q == nil {
		return 0, 0
	}
	return q.bytesIn.Load(), q.bytesOut.Load()
}

// admin is what "seedshipd account/vault/…" commands use, issuing files
// that point at the running service.
func (q *qsService) admin() *vault.Admin { return q.s.Admin(q.url) }

// createAccount creates the account and writes its settings file.
func (q *qsService) createAccount(ctx context.Context, file string) (string, error) {
	a, err := q.admin().CreateAccount(ctx, qsAccount)
	if err != nil {
		return "", fmt.Errorf("create account %s: %w", qsAccount, err)
	}
	q.accountID = a.AccountID
	b, err := a.Marshal()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("account %s (%s…) and its settings file (the API key)", qsAccount, a.AccountID[:8]), os.WriteFile(file, b, 0o600)
}

// createStorageAccount gives the account a storage account in the local
// folder loc: the datacenter imports drives into it.
func (q *qsService) createStorageAccount(ctx context.Context, loc string) (string, error) {
	if _, err := q.admin().CreateStorageAccount(ctx, q.accountID, qsStorageAccount, loc); err != nil {
		return "", fmt.Errorf("create storage account %s: %w", qsStorageAccount, err)
	}
	return fmt.Sprintf("storage account %s: the folder datacenter/, where drives are imported", qsStorageAccount), nil
}

func (q *qsService) setDatacenter(ctx context.Context) (string, error) {
	if err := q.admin().SetDatacenterAddress(ctx, qsDatacenter); err != nil {
		return "", err
	}
	return "the address customers ship their drives to", nil
}

// createVault creates the vault and writes a vault credentials file that
// registers one machine.
func (q *qsService) createVault(ctx context.Context, file string) (string, error) {
	a := q.admin()
	v, err := a.CreateVault(ctx, q.accountID, qsVault)
	if err != nil {
		return "", fmt.Errorf("create vault %s: %w", qsVault, err)
	}
	vc, err := a.VaultCredentials(ctx, q.accountID, v.ID, time.Hour)
	if err != nil {
		return "", fmt.Errorf("vault credentials for %s: %w", qsVault, err)
	}
	b, err := vc.Marshal()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("vault %s and a credentials file that registers one machine", qsVault), os.WriteFile(file, b, 0o600)
}

// importer is the datacenter's import station, as seedshipd ops builds
// it, on the service's own database handle.
func (q *qsService) importer(tmp string) *importer.Importer {
	return &importer.Importer{DB: q.s.DB, Station: importer.DefaultStation(), Logger: q.s.Logger, TempDir: tmp,
		OpenStore: func(ctx context.Context, loc string) (store.Store, error) { return location.Open(ctx, loc, true) }}
}

// receive records a drive's arrival: its manifest is checked against the
// job.
func (q *qsService) receive(ctx context.Context, im *importer.Importer, root string) (string, error) {
	rc, err := im.Receive(ctx, q.accountID, qsJob, root)
	if err != nil {
		return "", fmt.Errorf("receive drive %s: %w", root, err)
	}
	if rc.Failure != "" {
		return "", fmt.Errorf("drive %d (%s) failed on receipt: %s", rc.Seq, rc.DriveID, rc.Failure)
	}
	return fmt.Sprintf("drive %d (%s…): manifest authenticated, Received; job %s", rc.Seq, rc.DriveID[:8], rc.Job.State), nil
}

// importDrive copies a received drive into the storage container,
// verifying every file against the manifest.
func (q *qsService) importDrive(ctx context.Context, im *importer.Importer, root string) (*importer.Result, error) {
	r, err := im.Import(ctx, q.accountID, qsJob, root)
	if err != nil {
		return nil, fmt.Errorf("import drive %s: %w", root, err)
	}
	if r.State != importjob.DriveCompleted {
		return r, fmt.Errorf("drive %d (%s) ended %s: %d files failed %s", r.Seq, r.DriveID, r.State, r.FilesFailed, r.Reason)
	}
	return r, nil
}

// shipBack records the drives' return: the job completes.
func (q *qsService) shipBack(ctx context.Context, im *importer.Importer) (string, error) {
	j, err := im.ShipBack(ctx, q.accountID, qsJob, importjob.Shipping{Carrier: "UPS", Tracking: "1ZQUICKSTARTBACK"})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("drives returned to the customer; job %s", j.State), nil
}

// drives returns the import job's drives, in order.
func (q *qsService) drives(ctx context.Context) ([]importjob.Drive, error) {
	r, err := q.s.DB.GetJob(ctx, q.accountID, qsJob)
	if err != nil {
		return nil, fmt.Errorf("import job %s: %w", qsJob, err)
	}
	return r.Job.Drives, nil
}
