package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
	"github.com/seedship/seedship/internal/store"
)

// The seed endpoints: the machine (or its account admin) adopts the seed an
// import job left in its storage container into the machine's repository,
// then cleans the container up. Access is that of the repository (repoFor);
// the job must be in the caller's account and target this machine, or
// nothing yet (404 job_not_found otherwise). Adopt and cleanup need a ready
// seed (Packaging, Completed, CompletedWithErrors; 409 job_state) and bind a
// job without a target to the calling machine.

func (s *Server) seedRoutes() {
	const seed = "/v1/vaults/{vault}/machines/{machine}/seed/{job}"
	s.route("GET "+seed, quick, s.getSeedJob)
	s.route("POST "+seed+"/adopt", long, s.adoptSeed)
	s.route("POST "+seed+"/cleanup", long, s.cleanupSeed)
}

// AdoptReport is the answer of one adopt call: what it did with the
// container objects named after the request's after, up to Next.
type AdoptReport struct {
	Job   string             `json:"job"`
	State importjob.JobState `json:"state"`
	// Files is how many container objects the call handled: Copied into the
	// repository, already Present there, or Damaged (not copied).
	Files   int   `json:"files"`
	Copied  int   `json:"copied"`
	Present int   `json:"present"`
	Bytes   int64 `json:"bytes"` // bytes copied
	// ServerCopied counts the Copied objects the store copied server-side
	// (store.Copier: a hard link, S3 CopyObject, Azure Copy Blob From URL)
	// after reading them once for the hash check.
	ServerCopied int `json:"server_copied"`
	// Damaged lists the objects that were not adopted, with the reason.
	Damaged []Damaged `json:"damaged"`
	// Next is the last name handled, to send as after in the next call;
	// "" with Done when the container has nothing more.
	Next string `json:"next"`
	Done bool   `json:"done"`
}

// CleanupReport is the answer of one cleanup call.
type CleanupReport struct {
	// Deleted counts the container objects deleted: those the repository
	// holds, and (in the last call) the job's import logs.
	Deleted int `json:"deleted"`
	// Kept lists the objects left in the container, with the reason.
	Kept []Damaged `json:"kept"`
	Next string    `json:"next"`
	Done bool      `json:"done"`
}

// Damaged is a container object that was not adopted (or not deleted), and
// why. Name is relative to the container, like a repository path.
type Damaged struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// seedRequest is the body of adopt and cleanup.
type seedRequest struct {
	// After is the name the previous call reported as next; "" starts over.
	After string `json:"after"`
}

// parseSeedRequest decodes an adopt or cleanup body. An empty body starts
// from the beginning.
func parseSeedRequest(b []byte) (seedRequest, error) {
	var req seedRequest
	if len(bytes.TrimSpace(b)) == 0 {
		return req, nil
	}
	if err := decodeStrict(b, "seed request", &req); err != nil {
		return req, err
	}
	if req.After != "" && store.ValidName(req.After) != nil {
		return req, fmt.Errorf("%w: seed request: after %q is not an object name", ErrInvalidJob, req.After)
	}
	return req, nil
}

// Seed returns the account's job of that name if machine of vault may
// adopt its seed (importjob.ErrOtherTarget otherwise), expired first if its
// deadline passed. With bind, the seed must be ready (ErrJobState) and a
// job without a target is bound to that machine.
func (js *Jobs) Seed(ctx context.Context, accountID, name, vaultID, machineID string, bind bool) (meta.JobRecord, error) {
	now := js.Now().UTC()
	return meta.ModifyJob(ctx, js.DB, accountID, name, now, func(j *importjob.Job) (bool, error) {
		expired := j.Expire(now)
		switch {
		case !j.SeedFor(vaultID, machineID):
			return false, fmt.Errorf("job %s: %w", name, importjob.ErrOtherTarget)
		case !bind:
			return expired, nil
		case !j.SeedReady():
			return false, seedStateError(j)
		}
		bound, err := j.BindSeed(now, vaultID, machineID)
		return expired || bound, err
	})
}

// seedStateError explains why job j has no seed to adopt yet, or ever.
func seedStateError(j *importjob.Job) error {
	if j.State.Terminal() {
		return fmt.Errorf("%w: import job %s is %s: its drives were never imported, so there is no seed to adopt",
			ErrJobState, j.Name, j.State)
	}
	done, total := j.DrivesDone()
	return fmt.Errorf("%w: import job %s is %s (%d/%d drives done): its seed can be adopted once the job is %s, %s or %s",
		ErrJobState, j.Name, j.State, done, total, importjob.JobPackaging, importjob.JobCompleted, importjob.JobCompletedWithErrors)
}

func (s *Server) getSeedJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, err := s.repoFor(r, p)
	if err != nil {
		return err
	}
	name := r.PathValue("job")
	jr, err := s.jobs.Seed(r.Context(), p.accountID, name, rp.vaultID, rp.machineID, false)
	if err != nil {
		return jobAPIError(err, name)
	}
	return s.writeJob(w, r, http.StatusOK, jr)
}

// seedCall authorises an adopt or cleanup request, reads its body, binds
// the job and opens its container.
func (s *Server) seedCall(r *http.Request, p *principal) (repo, *seedSource, string, error) {
	rp, err := s.repoFor(r, p)
	if err != nil {
		return rp, nil, "", err
	}
	name := r.PathValue("job")
	b, err := readBody(r)
	if err != nil {
		return rp, nil, "", err
	}
	req, err := parseSeedRequest(b)
	if err != nil {
		return rp, nil, "", jobAPIError(err, name)
	}
	jr, err := s.jobs.Seed(r.Context(), p.accountID, name, rp.vaultID, rp.machineID, true)
	if err != nil {
		return rp, nil, "", jobAPIError(err, name)
	}
	src, err := s.seedSource(r.Context(), jr.Job)
	return rp, src, req.After, err
}

func (s *Server) adoptSeed(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, src, after, err := s.seedCall(r, p)
	if err != nil {
		return err
	}
	log := s.seedLog(rp, src, after)
	log.Info("seed adopt started")
	start := time.Now()
	rep, err := s.adopt(r.Context(), rp, src, after)
	if err != nil {
		log.Warn("seed adopt failed", slog.String("error", err.Error()))
		return err
	}
	for _, d := range rep.Damaged {
		log.Warn("seed file not adopted", slog.String("name", d.Name), slog.String("reason", d.Reason))
	}
	log.Info("seed adopt finished", slog.Int("files", rep.Files), slog.Int("copied", rep.Copied),
		slog.Int("present", rep.Present), slog.Int("damaged", len(rep.Damaged)), slog.Int64("bytes", rep.Bytes),
		slog.Bool("done", rep.Done), slog.Duration("duration", time.Since(start)))
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) cleanupSeed(w http.ResponseWriter, r *http.Request, p *principal) error {
	rp, src, after, err := s.seedCall(r, p)
	if err != nil {
		return err
	}
	log := s.seedLog(rp, src, after)
	log.Info("seed cleanup started")
	rep, err := s.cleanup(r.Context(), rp, src, after)
	if err != nil {
		log.Warn("seed cleanup failed", slog.String("error", err.Error()))
		return err
	}
	log.Info("seed cleanup finished", slog.Int("deleted", rep.Deleted), slog.Int("kept", len(rep.Kept)),
		slog.Bool("done", rep.Done))
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// seedLog is the logger of one adopt or cleanup call.
func (s *Server) seedLog(rp repo, src *seedSource, after string) *slog.Logger {
	return s.cfg.Logger.With(slog.String("job", src.job.Name), slog.String("account", src.job.Account),
		slog.String("vault", rp.vaultID), slog.String("machine", rp.machineID), slog.String("after", after))
}

// seedSource opens the storage container of job j.
func (s *Server) seedSource(ctx context.Context, j importjob.Job) (*seedSource, error) {
	sa, err := s.cfg.DB.GetStorageAccount(ctx, j.Account, j.StorageAccount)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, apiErr(http.StatusNotFound, CodeStorageAccountNotFound,
			"import job %s: its storage account %s no longer exists: ask the service operator", j.Name, j.StorageAccount)
	}
	if err != nil {
		return nil, internalErr(err)
	}
	st, err := s.storage.get(ctx, sa.Store)
	if errors.Is(err, errNoStorage) {
		return nil, apiErr(http.StatusServiceUnavailable, CodeUnavailable,
			"this service cannot read storage accounts: ask the service operator")
	}
	if err != nil {
		return nil, internalErr(fmt.Errorf("import job %s: open storage account %s: %w", j.Name, sa.Name, err))
	}
	return &seedSource{st: st, job: j, prefix: j.Container + "/"}, nil
}

var errNoStorage = errors.New("no storage opener configured")

// storages keeps the stores of storage accounts open, by location.
type storages struct {
	open func(ctx context.Context, location string) (store.Store, error)
	mu   sync.Mutex
	m    map[string]store.Store
}

func (c *storages) get(ctx context.Context, location string) (store.Store, error) {
	if c.open == nil {
		return nil, errNoStorage
	}
	c.mu.Lock()
	st, ok := c.m[location]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := c.open(ctx, location)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[location]; ok {
		return old, nil // a concurrent request opened it first
	}
	c.m[location] = st
	return st, nil
}
