package vault

import (
	"errors"
	"net/http"

	"github.com/seedship/seedship/internal/meta"
)

// The authorisation rules, in one place:
//
//   - an account admin reaches the vaults and machines of its own account,
//     and their repositories;
//   - a machine reaches its own vault's record and its own repository,
//     append-only unless granted delete (locks/ excepted);
//   - an operator reaches neither: no vault, machine or backup data.
//
// Outside its scope a caller gets 403; a missing record inside its scope
// is 404.

func forbidden() *apiError {
	return apiErr(http.StatusForbidden, CodeForbidden, "this credential does not give access to that resource")
}

// repo is one machine's repository as reached by a caller.
type repo struct {
	vaultID, machineID string
	prefix             string // object-name prefix in the service's store
	byMachine          bool   // the caller is the machine itself
}

// repoPrefix is where machine m of vault v keeps its repository.
func repoPrefix(v, m string) string { return "vaults/" + v + "/machines/" + m + "/" }

// adminVault returns the vault id if p administers its account.
func (s *Server) adminVault(r *http.Request, p *principal, id string) (meta.Vault, error) {
	if p.role != meta.RoleAdmin {
		return meta.Vault{}, forbidden()
	}
	v, err := s.cfg.DB.GetVault(r.Context(), id)
	if errors.Is(err, meta.ErrNotFound) {
		return v, apiErr(http.StatusNotFound, CodeNotFound, "no vault %s", id)
	}
	if err != nil {
		return v, internalErr(err)
	}
	if v.AccountID != p.accountID {
		return v, forbidden()
	}
	return v, nil
}

// readableVault returns the vault if p is its account's admin or one of
// its machines.
func (s *Server) readableVault(r *http.Request, p *principal, id string) (meta.Vault, error) {
	if p.role == meta.RoleMachine {
		if p.vaultID != id {
			return meta.Vault{}, forbidden()
		}
		v, err := s.cfg.DB.GetVault(r.Context(), id)
		if err != nil {
			return v, internalErr(err)
		}
		return v, nil
	}
	return s.adminVault(r, p, id)
}

// machineFor returns the machine of the request's path if p is that
// machine or its account's admin.
func (s *Server) machineFor(r *http.Request, p *principal) (meta.Machine, error) {
	vaultID, machineID := r.PathValue("vault"), r.PathValue("machine")
	if p.role == meta.RoleMachine && (p.vaultID != vaultID || p.machineID != machineID) {
		return meta.Machine{}, forbidden()
	}
	if p.role != meta.RoleMachine {
		if _, err := s.adminVault(r, p, vaultID); err != nil {
			return meta.Machine{}, err
		}
	}
	m, err := s.cfg.DB.GetMachine(r.Context(), machineID)
	if err == nil && m.VaultID != vaultID {
		err = meta.ErrNotFound
	}
	if errors.Is(err, meta.ErrNotFound) {
		return m, apiErr(http.StatusNotFound, CodeNotFound, "no machine %s in vault %s", machineID, vaultID)
	}
	if err != nil {
		return m, internalErr(err)
	}
	return m, nil
}

// repoFor returns the repository of the request's path if p may reach it.
// A machine's own repository needs no database lookup: its key says which
// it is.
func (s *Server) repoFor(r *http.Request, p *principal) (repo, error) {
	vaultID, machineID := r.PathValue("vault"), r.PathValue("machine")
	if p.role == meta.RoleMachine {
		if p.vaultID != vaultID || p.machineID != machineID {
			return repo{}, forbidden()
		}
		return repo{vaultID: vaultID, machineID: machineID, prefix: repoPrefix(vaultID, machineID), byMachine: true}, nil
	}
	if _, err := s.machineFor(r, p); err != nil {
		return repo{}, err
	}
	return repo{vaultID: vaultID, machineID: machineID, prefix: repoPrefix(vaultID, machineID)}, nil
}

// mayDelete reports whether the caller may delete the object name of rp:
// admins always, machines only locks/ unless granted delete.
func (s *Server) mayDelete(r *http.Request, rp repo, name string) error {
	if !rp.byMachine || len(name) > len("locks/") && name[:len("locks/")] == "locks/" {
		return nil
	}
	m, err := s.cfg.DB.GetMachine(r.Context(), rp.machineID)
	if err != nil {
		return internalErr(err)
	}
	v, err := s.cfg.DB.GetVault(r.Context(), rp.vaultID)
	if err != nil {
		return internalErr(err)
	}
	if m.Delete || v.MachineDelete {
		return nil
	}
	return apiErr(http.StatusForbidden, CodeAppendOnly,
		"vault %s is append-only for machines: only locks/ may be deleted; retention runs as an admin operation, or an admin grants delete (seedshipd vault grant-delete)", v.Name)
}
