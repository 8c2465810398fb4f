package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// transient classifies an SDK or network error for the retrier.
func transient(err error) (bool, time.Duration) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch {
		case transfer.TransientStatus(re.StatusCode):
			return true, retryAfter(re.RawResponse)
		case re.ErrorCode == string(bloberror.OperationTimedOut), re.ErrorCode == string(bloberror.ServerBusy):
			return true, retryAfter(re.RawResponse)
		}
		return false, 0
	}
	return transfer.TransientNetError(err), 0
}

// retryAfter reads the server's requested pause, if any.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	for _, h := range []string{"x-ms-retry-after-ms", "retry-after-ms"} {
		if ms, err := strconv.Atoi(resp.Header.Get(h)); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	if sec, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && sec > 0 {
		return time.Duration(sec) * time.Second
	}
	return 0
}

// isExists reports a failed create-only write of an existing blob.
func isExists(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	return re.StatusCode == http.StatusPreconditionFailed ||
		re.StatusCode == http.StatusConflict && re.ErrorCode == string(bloberror.BlobAlreadyExists)
}

// isNotFound reports a missing blob or container.
func isNotFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// translate turns an SDK error of operation op on object name into a store
// error that says what to check. SDK error types never escape: a response
// error is rendered into the message, other errors (network, context) are
// wrapped.
func (s *Store) translate(op, name string, err error) error {
	what := op
	if name != "" {
		what = op + " " + name
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		if errors.Is(err, context.Canceled) || !transfer.TransientNetError(err) {
			return fmt.Errorf("%s: %s: %w", s.loc, what, err)
		}
		return fmt.Errorf("%s: %s: %w (is %s reachable?)", s.loc, what, err, s.endpointHint())
	}
	return fmt.Errorf("%s: %s: %w", s.loc, what, s.classify(re))
}

// classify maps a response error to a store error with advice.
func (s *Store) classify(re *azcore.ResponseError) error {
	code := re.ErrorCode
	switch {
	case code == string(bloberror.ContainerNotFound):
		return fmt.Errorf("container %q does not exist in account %s (run seedship init to create it): %w",
			s.loc.Container, s.account, store.ErrNotFound)
	case re.StatusCode == http.StatusNotFound:
		return store.ErrNotFound
	case isExists(re):
		return store.ErrExists
	case code == string(bloberror.AuthenticationFailed), re.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("authentication failed for account %s: check %s: %w", s.account, s.hint, store.ErrPermission)
	case re.StatusCode == http.StatusForbidden:
		return fmt.Errorf("access denied in account %s (%s): check %s and that it allows this operation: %w",
			s.account, code, s.hint, store.ErrPermission)
	case re.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("request rejected by the service (HTTP 400 %s)", code)
	}
	return fmt.Errorf("service answered HTTP %d %s", re.StatusCode, code)
}

// describe renders an error for a log line without SDK noise.
func (s *Store) describe(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("HTTP %d %s", re.StatusCode, re.ErrorCode)
	}
	return err.Error()
}

func (s *Store) endpointHint() string {
	if s.cfg.Endpoint != "" {
		return s.cfg.Endpoint
	}
	if s.cfg.ConnectionString != "" {
		return "the endpoint of " + EnvConnectionString
	}
	return s.serviceURL()
}

func asResponse(err error, re **azcore.ResponseError) bool { return errors.As(err, re) }
