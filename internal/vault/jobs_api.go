package vault

import (
	"errors"
	"io"
	"net/http"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
)

// The import-job endpoints. Account admins reach their own account's
// storage accounts and jobs and may create, ship and cancel them; an
// operator may read every job (and the datacenter address), nothing else;
// machines reach none of it. Another account's job answers 404
// job_not_found, exactly like a missing one, so its existence never leaks.

func (s *Server) jobRoutes() {
	s.route("GET /v1/datacenter", quick, s.getDatacenter)
	s.route("GET /v1/storage-accounts", quick, s.listStorageAccounts)
	s.route("GET /v1/jobs", quick, s.listJobs)
	s.route("POST /v1/jobs", quick, s.createJob)
	s.route("GET /v1/jobs/{name}", quick, s.getJob)
	s.route("POST /v1/jobs/{name}/shipping", quick, s.shipJob)
	s.route("POST /v1/jobs/{name}/cancel", quick, s.cancelJob)
}

// mayReadJobs admits account admins and operators.
func mayReadJobs(p *principal) error {
	if p.role != meta.RoleAdmin && p.role != meta.RoleOperator {
		return forbidden()
	}
	return nil
}

// mayWriteJobs admits account admins.
func mayWriteJobs(p *principal) error {
	if p.role != meta.RoleAdmin {
		return forbidden()
	}
	return nil
}

// jobAPIError maps the errors of Jobs onto statuses and codes. Messages
// name the job but never another account's records.
func jobAPIError(err error, name string) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrStorageAccountNotFound):
		return apiErr(http.StatusNotFound, CodeStorageAccountNotFound, "%v", err)
	case errors.Is(err, meta.ErrNotFound):
		return apiErr(http.StatusNotFound, CodeJobNotFound, "no import job %q in your account: see GET /v1/jobs", name)
	case errors.Is(err, importjob.ErrOtherTarget):
		return apiErr(http.StatusNotFound, CodeJobNotFound,
			"import job %q is for another vault or machine: adopt it from the machine it names (GET /v1/jobs/%s as the account admin)", name, name)
	case errors.Is(err, ErrJobState):
		return apiErr(http.StatusConflict, CodeJobState, "%v", err)
	case errors.Is(err, meta.ErrExists):
		return apiErr(http.StatusConflict, CodeJobExists, "import job %q already exists in your account: choose another name", name)
	case errors.Is(err, meta.ErrTrackingInUse):
		return apiErr(http.StatusConflict, CodeTrackingInUse,
			"job %s: that tracking number is already used by another import job: check the number; every shipment has its own", name)
	case errors.Is(err, importjob.ErrInvalidTransition):
		return apiErr(http.StatusConflict, CodeInvalidTransition, "%v", err)
	case errors.Is(err, ErrInvalidJob), errors.Is(err, importjob.ErrInvalid), errors.Is(err, importjob.ErrInvalidName):
		return apiErr(http.StatusBadRequest, CodeInvalid, "%v", err)
	}
	return err // toAPIError renders the rest
}

// readBody reads a whole JSON request body (bounded by MaxBodySize).
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(r.Body)
}

// writeJob renders a job record with status.
func (s *Server) writeJob(w http.ResponseWriter, r *http.Request, status int, jr meta.JobRecord) error {
	info, err := s.jobs.Info(r.Context(), jr)
	if err != nil {
		return internalErr(err)
	}
	writeJSON(w, status, envelope(info))
	return nil
}

func (s *Server) getDatacenter(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := mayReadJobs(p); err != nil {
		return err
	}
	addr, err := s.jobs.Datacenter(r.Context())
	if errors.Is(err, ErrNoDatacenter) {
		return apiErr(http.StatusNotFound, CodeNoDatacenter, "the service has no datacenter address yet: ask the service operator")
	}
	if err != nil {
		return internalErr(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"address": addr})
	return nil
}

func (s *Server) listStorageAccounts(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := mayWriteJobs(p); err != nil {
		return err
	}
	sas, err := s.cfg.DB.ListStorageAccounts(r.Context(), p.accountID)
	if err != nil {
		return internalErr(err)
	}
	out := make([]StorageAccountInfo, 0, len(sas))
	for _, sa := range sas {
		out = append(out, StorageAccountInfo{Name: sa.Name, Store: sa.Store})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// jobFilter is the caller's view: an admin sees its own account; an
// operator every account, or the one ?account= names.
func jobFilter(r *http.Request, p *principal) (meta.JobFilter, error) {
	f := meta.JobFilter{AccountID: r.URL.Query().Get("account"), State: importjob.JobState(r.URL.Query().Get("state"))}
	if f.State != "" && !f.State.Valid() {
		return f, apiErr(http.StatusBadRequest, CodeInvalid, "unknown job state %q", f.State)
	}
	if p.role == meta.RoleAdmin {
		if f.AccountID != "" && f.AccountID != p.accountID {
			return f, errForeignAccount
		}
		f.AccountID = p.accountID
	}
	return f, nil
}

// errForeignAccount: an admin named another account; answered like a
// missing job.
var errForeignAccount = errors.New("another account")

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := mayReadJobs(p); err != nil {
		return err
	}
	f, err := jobFilter(r, p)
	if errors.Is(err, errForeignAccount) {
		writeJSON(w, http.StatusOK, []jobEnvelope{})
		return nil
	}
	if err != nil {
		return err
	}
	rs, err := s.jobs.List(r.Context(), f)
	if err != nil {
		return internalErr(err)
	}
	out := make([]jobEnvelope, 0, len(rs))
	for _, jr := range rs {
		info, err := s.jobs.Info(r.Context(), jr)
		if err != nil {
			return internalErr(err)
		}
		out = append(out, envelope(info))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	name := r.PathValue("name")
	if err := mayReadJobs(p); err != nil {
		return err
	}
	f, err := jobFilter(r, p)
	if errors.Is(err, errForeignAccount) {
		return jobAPIError(meta.ErrNotFound, name)
	}
	if err != nil {
		return err
	}
	if f.AccountID == "" { // an operator without ?account=
		if f.AccountID, err = s.jobAccount(r, name); err != nil {
			return jobAPIError(err, name)
		}
	}
	jr, err := s.jobs.Get(r.Context(), f.AccountID, name)
	if err != nil {
		return jobAPIError(err, name)
	}
	return s.writeJob(w, r, http.StatusOK, jr)
}

// jobAccount finds the one account with a job of that name.
func (s *Server) jobAccount(r *http.Request, name string) (string, error) {
	rs, err := s.cfg.DB.ListJobs(r.Context(), meta.JobFilter{Name: name})
	switch {
	case err != nil:
		return "", err
	case len(rs) == 0:
		return "", meta.ErrNotFound
	case len(rs) > 1:
		return "", apiErr(http.StatusBadRequest, CodeInvalid, "%d accounts have an import job %q: add ?account=<account id>", len(rs), name)
	}
	return rs[0].Job.Account, nil
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := mayWriteJobs(p); err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	req, err := parseCreateJob(b)
	if err != nil {
		return jobAPIError(err, req.Name)
	}
	jr, err := s.jobs.Create(r.Context(), p.accountID, req)
	if err != nil {
		return jobAPIError(err, req.Name)
	}
	return s.writeJob(w, r, http.StatusCreated, jr)
}

func (s *Server) shipJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	name := r.PathValue("name")
	if err := mayWriteJobs(p); err != nil {
		return err
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	sh, err := parseShipping(b)
	if err != nil {
		return jobAPIError(err, name)
	}
	jr, err := s.jobs.ReportShipping(r.Context(), p.accountID, name, sh)
	if err != nil {
		return jobAPIError(err, name)
	}
	return s.writeJob(w, r, http.StatusOK, jr)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p *principal) error {
	name := r.PathValue("name")
	if err := mayWriteJobs(p); err != nil {
		return err
	}
	jr, err := s.jobs.Cancel(r.Context(), p.accountID, name)
	if err != nil {
		return jobAPIError(err, name)
	}
	return s.writeJob(w, r, http.StatusOK, jr)
}
