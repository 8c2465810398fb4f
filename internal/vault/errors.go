package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
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
