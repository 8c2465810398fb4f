package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/seedship/seedship/internal/meta"
)

// The JSON bodies of the management endpoints (documented in docs/api.md).

// WhoAmI is the body of GET /v1/whoami.
type WhoAmI struct {
	Role      meta.Role `json:"role"`
	KeyID     string    `json:"key_id"`
	Name      string    `json:"name"`
	AccountID string    `json:"account_id,omitempty"`
	VaultID   string    `json:"vault_id,omitempty"`
	MachineID string    `json:"machine_id,omitempty"`
}

// VaultInfo describes a vault.
type VaultInfo struct {
	ID            string    `json:"id"`
	AccountID     string    `json:"account_id"`
	Name          string    `json:"name"`
	MachineDelete bool      `json:"machine_delete"`
	Created       time.Time `json:"created"`
	StoredBytes   int64     `json:"stored_bytes"`
	Objects       int64     `json:"objects"`
}

// MachineInfo describes a machine.
type MachineInfo struct {
	ID       string    `json:"id"`
	VaultID  string    `json:"vault_id"`
	Hostname string    `json:"hostname"`
	Delete   bool      `json:"delete"`
	Created  time.Time `json:"created"`
}

// registerRequest and registerResponse are POST /v1/register's bodies.
type registerRequest struct {
	Hostname string `json:"hostname"`
}

type registerResponse struct {
	AccountID string `json:"account_id"`
	VaultID   string `json:"vault_id"`
	VaultName string `json:"vault_name"`
	MachineID string `json:"machine_id"`
	Hostname  string `json:"hostname"`
	Key       string `json:"key"`
}

// decodeBody decodes an optional JSON body into v.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return apiErr(http.StatusBadRequest, CodeBadRequest, "request body: %v", err)
	}
	return nil
}

func (s *Server) vaultInfo(v meta.Vault) VaultInfo {
	u := s.usage.get(v.ID)
	return VaultInfo{ID: v.ID, AccountID: v.AccountID, Name: v.Name, MachineDelete: v.MachineDelete,
		Created: v.Created, StoredBytes: u.Bytes, Objects: u.Objects}
}

func machineInfo(m meta.Machine) MachineInfo {
	return MachineInfo{ID: m.ID, VaultID: m.VaultID, Hostname: m.Hostname, Delete: m.Delete, Created: m.Created}
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p *principal) error {
	writeJSON(w, http.StatusOK, WhoAmI{Role: p.role, KeyID: p.keyID, Name: p.name, AccountID: p.accountID,
		VaultID: p.vaultID, MachineID: p.machineID})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p != nil && p.role != meta.RoleOperator {
		return forbidden()
	}
	if s.cfg.Metrics == nil {
		return apiErr(http.StatusNotFound, CodeNotFound, "metrics are not enabled")
	}
	s.cfg.Metrics.ServeHTTP(w, r)
	return nil
}

func (s *Server) listVaults(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p.role != meta.RoleAdmin {
		return forbidden()
	}
	vs, err := s.cfg.DB.ListVaults(r.Context(), p.accountID)
	if err != nil {
		return internalErr(err)
	}
	out := make([]VaultInfo, 0, len(vs))
	for _, v := range vs {
		out = append(out, s.vaultInfo(v))
	}
	writeJSON(w, http.StatusOK, map[string][]VaultInfo{"vaults": out})
	return nil
}

func (s *Server) createVault(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p.role != meta.RoleAdmin {
		return forbidden()
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	v, err := s.admin.CreateVault(r.Context(), p.accountID, req.Name)
	if errors.Is(err, ErrName) {
		return apiErr(http.StatusBadRequest, CodeBadRequest, "%v", err)
	}
	if errors.Is(err, meta.ErrExists) {
		return apiErr(http.StatusConflict, CodeExists, "vault %q already exists", req.Name)
	}
	if err != nil {
		return internalErr(err)
	}
	writeJSON(w, http.StatusCreated, s.vaultInfo(v))
	return nil
}

func (s *Server) getVault(w http.ResponseWriter, r *http.Request, p *principal) error {
	v, err := s.readableVault(r, p, r.PathValue("vault"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.vaultInfo(v))
	return nil
}

func (s *Server) createCredentials(w http.ResponseWriter, r *http.Request, p *principal) error {
	v, err := s.adminVault(r, p, r.PathValue("vault"))
	if err != nil {
		return err
	}
	var req struct {
		Valid string `json:"valid"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var valid time.Duration
	if req.Valid != "" {
		if valid, err = time.ParseDuration(req.Valid); err != nil {
			return apiErr(http.StatusBadRequest, CodeBadRequest, "valid: %v", err)
		}
	}
	vc, err := s.admin.VaultCredentials(r.Context(), p.accountID, v.ID, valid)
	if errors.Is(err, ErrValidity) {
		return apiErr(http.StatusBadRequest, CodeBadRequest, "%v", err)
	}
	if err != nil {
		return internalErr(err)
	}
	writeJSON(w, http.StatusCreated, vc)
	return nil
}

func (s *Server) listMachines(w http.ResponseWriter, r *http.Request, p *principal) error {
	v, err := s.adminVault(r, p, r.PathValue("vault"))
	if err != nil {
		return err
	}
	ms, err := s.cfg.DB.ListMachines(r.Context(), v.ID)
	if err != nil {
		return internalErr(err)
	}
	out := make([]MachineInfo, 0, len(ms))
	for _, m := range ms {
		out = append(out, machineInfo(m))
	}
	writeJSON(w, http.StatusOK, map[string][]MachineInfo{"machines": out})
	return nil
}

func (s *Server) getMachine(w http.ResponseWriter, r *http.Request, p *principal) error {
	m, err := s.machineFor(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, machineInfo(m))
	return nil
}

// register consumes a registration token (the bearer credential) and
// creates a machine. Failures count against the source IP like failed
// authentications.
func (s *Server) register(w http.ResponseWriter, r *http.Request, _ *principal) error {
	ip := remoteIP(r)
	if wait := s.limiter.wait(ip); wait > 0 {
		return rateLimited(wait)
	}
	tok, err := parseCredential(bearer(r))
	if err != nil || tok.Kind != kindToken {
		s.limiter.fail(ip)
		return apiErr(http.StatusUnauthorized, CodeUnauthorized, "missing or malformed registration token")
	}
	var req registerRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	host, err := checkHostname(req.Hostname)
	if err != nil {
		return err
	}
	mc, err := s.admin.register(r.Context(), tok, host)
	if err != nil {
		return s.registerError(ip, err)
	}
	getReqLog(r.Context()).keyID = tok.ID
	writeJSON(w, http.StatusCreated, registerResponse{AccountID: mc.AccountID, VaultID: mc.VaultID,
		VaultName: mc.VaultName, MachineID: mc.MachineID, Hostname: mc.Hostname, Key: mc.Key})
	return nil
}

func (s *Server) registerError(ip string, err error) error {
	switch {
	case errors.Is(err, ErrExpired):
		return apiErr(http.StatusUnauthorized, CodeTokenExpired, "registration token expired: ask the account admin for new vault credentials")
	case errors.Is(err, meta.ErrTokenUsed):
		return apiErr(http.StatusUnauthorized, CodeTokenUsed, "registration token already used: ask the account admin for new vault credentials")
	case errors.Is(err, meta.ErrNotFound), errors.Is(err, ErrCredential):
		s.limiter.fail(ip)
		return apiErr(http.StatusUnauthorized, CodeUnauthorized, "invalid registration token")
	}
	return internalErr(err)
}

func checkHostname(h string) (string, error) {
	if h == "" {
		return "unknown", nil
	}
	if len(h) > 255 || !utf8.ValidString(h) {
		return "", apiErr(http.StatusBadRequest, CodeBadRequest, "hostname: more than 255 bytes or not UTF-8")
	}
	for _, c := range h {
		if c < ' ' || c == 0x7f {
			return "", apiErr(http.StatusBadRequest, CodeBadRequest, "hostname: control character %s", fmt.Sprintf("%U", c))
		}
	}
	return h, nil
}
