package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/seedship/seedship/internal/importjob"
)

// Errors of this package, wrapped with %w.
var (
	// ErrCredential: a bearer credential is malformed.
	ErrCredential = errors.New("malformed credential")
	// ErrFile: a credential or configuration file is malformed.
	ErrFile = errors.New("malformed credentials file")
	// ErrName: an account or vault name breaks the naming rules.
	ErrName = errors.New("invalid name")
	// ErrUnauthorized: the service did not accept the credential (401).
	ErrUnauthorized = errors.New("not authorised by the vault service")
	// ErrFingerprint: the service's certificate does not match the pinned
	// fingerprint.
	ErrFingerprint = errors.New("service certificate does not match the pinned fingerprint")
	// ErrNotRegistered: this machine has no vault configuration.
	ErrNotRegistered = errors.New("this machine is not registered with a vault")
	// ErrRegistered: this machine already has a vault configuration.
	ErrRegistered = errors.New("this machine is already registered with a vault")
	// ErrExpired: a registration token is past its expiry time.
	ErrExpired = errors.New("registration token expired")
	// ErrProtocol: the service answered something this client does not
	// understand.
	ErrProtocol = errors.New("unexpected answer from the vault service")
	// ErrValidity: a requested token validity is out of bounds.
	ErrValidity = errors.New("invalid token validity")
	// ErrRange: a ranged read reaches past the end of the object (416).
	ErrRange = errors.New("range outside the object")

	// ErrJobNotFound: the account has no import job of that name (404
	// job_not_found).
	ErrJobNotFound = errors.New("import job not found")
	// ErrJobExists: the account already has an import job of that name
	// (409 job_exists).
	ErrJobExists = errors.New("import job already exists")
	// ErrTrackingInUse: another import job already has that tracking
	// number (409 tracking_in_use).
	ErrTrackingInUse = errors.New("tracking number already used by another import job")
	// ErrInvalidTransition: the job's state does not allow the change (409
	// invalid_transition). It is importjob's sentinel, so errors.Is works
	// with either name.
	ErrInvalidTransition = importjob.ErrInvalidTransition
	// ErrStorageAccountNotFound: the account has no storage account of that
	// name (404 storage_account_not_found).
	ErrStorageAccountNotFound = errors.New("storage account not found")
	// ErrNoDatacenter: the service has no datacenter address yet (404
	// no_datacenter).
	ErrNoDatacenter = errors.New("no datacenter address set")
	// ErrInvalidJob: an import-job request is malformed (400 invalid).
	ErrInvalidJob = errors.New("invalid import job request")
	// ErrJobState: the import job's seed cannot be adopted or cleaned up
	// in its state: not yet Packaging, or cancelled or expired (409
	// job_state).
	ErrJobState = errors.New("import job not ready for its seed")
)

// Error codes of the API's JSON error body {"error": "...", "code": "..."}.
const (
	CodeBadRequest     = "bad_request"
	CodeInvalidName    = "invalid_name"
	CodeUnauthorized   = "unauthorized"
	CodeTokenExpired   = "token_expired"
	CodeTokenUsed      = "token_used"
	CodeForbidden      = "forbidden"
	CodeDisabled       = "account_disabled"
	CodeAppendOnly     = "append_only"
	CodeNotFound       = "not_found"
	CodeExists         = "exists"
	CodeTooLarge       = "too_large"
	CodeRange          = "range_not_satisfiable"
	CodeRateLimited    = "rate_limited"
	CodeInternal       = "internal"
	CodeUnavailable    = "unavailable"
	CodeRequestTimeout = "timeout"

	// Codes of the import-job API.
	CodeJobNotFound            = "job_not_found"
	CodeJobExists              = "job_exists"
	CodeTrackingInUse          = "tracking_in_use"
	CodeInvalidTransition      = "invalid_transition"
	CodeStorageAccountNotFound = "storage_account_not_found"
	CodeNoDatacenter           = "no_datacenter"
	CodeInvalid                = "invalid"
	CodeJobState               = "job_state"
)

// apiError is an error with its HTTP status and code; handlers return it
// and writeError renders it. Msg must never contain a secret.
type apiError struct {
	Status int
	Code   string
	Msg    string
	Err    error         // logged only, for 5xx
	Retry  time.Duration // Retry-After, for 429
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

func (e *apiError) Unwrap() error { return e.Err }

func apiErr(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

func internalErr(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Msg: "internal error", Err: err}
}

// errorBody is the JSON error body.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="seedship"`)
	}
	if e.Retry > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(e.Retry.Seconds()))))
	}
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(errorBody{Error: e.Msg, Code: e.Code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
