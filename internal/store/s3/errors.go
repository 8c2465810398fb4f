package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// response extracts minio-go's error answer, if err is one.
func response(err error) (minio.ErrorResponse, bool) {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.StatusCode != 0 {
		return er, true
	}
	return er, false
}

// transient classifies an SDK or network error for the retrier.
func transient(err error) (bool, time.Duration) {
	er, ok := response(err)
	if !ok {
		return transfer.TransientNetError(err), 0
	}
	switch {
	case transfer.TransientStatus(er.StatusCode):
		return true, 0
	case er.StatusCode == http.StatusConflict && er.Code == "ConditionalRequestConflict":
		return true, 0 // AWS: concurrent conditional writes; the retry decides
	case er.Code == "RequestTimeout", er.Code == "SlowDown", er.Code == "InternalError":
		return true, 0
	}
	return false, 0
}

// isExists reports a failed create-only write of an existing object.
func isExists(err error) bool {
	er, ok := response(err)
	return ok && er.StatusCode == http.StatusPreconditionFailed
}

// isNotFound reports a missing object or bucket.
func isNotFound(err error) bool {
	er, ok := response(err)
	return ok && er.StatusCode == http.StatusNotFound
}

// translate turns an error of operation op on object name into a store
// error that says what to check. minio-go's error type never escapes: its
// answer is rendered into the message; other errors (network, context) are
// wrapped.
func (s *Store) translate(op, name string, err error) error {
	what := op
	if name != "" {
		what = op + " " + name
	}
	er, ok := response(err)
	if !ok {
		if errors.Is(err, context.Canceled) || !transfer.TransientNetError(err) {
			return fmt.Errorf("%s: %s: %w", s.loc, what, err)
		}
		return fmt.Errorf("%s: %s: %w (is %s reachable?)", s.loc, what, err, s.loc.host())
	}
	return fmt.Errorf("%s: %s: %w", s.loc, what, s.classify(er))
}

// classify maps an error answer to a store error with advice.
func (s *Store) classify(er minio.ErrorResponse) error {
	switch {
	case er.Code == "NoSuchBucket":
		return fmt.Errorf("bucket %q does not exist at %s (run seedship init to create it): %w",
			s.loc.Bucket, s.loc.host(), store.ErrNotFound)
	case er.StatusCode == http.StatusNotFound:
		return store.ErrNotFound
	case er.StatusCode == http.StatusPreconditionFailed:
		return store.ErrExists
	case er.Code == "RequestTimeTooSkewed":
		return fmt.Errorf("request refused by %s: this computer's clock is off by more than 15 minutes: %w",
			s.loc.host(), store.ErrPermission)
	case er.Code == "InvalidAccessKeyId", er.Code == "SignatureDoesNotMatch", er.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("authentication failed at %s (%s): check %s: %w", s.loc.host(), er.Code, s.hint, store.ErrPermission)
	case er.StatusCode == http.StatusForbidden:
		return fmt.Errorf("access denied to bucket %q at %s (%s): check %s and the bucket policy: %w",
			s.loc.Bucket, s.loc.host(), er.Code, s.hint, store.ErrPermission)
	case er.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("request rejected by %s (HTTP 400 %s: %s)", s.loc.host(), er.Code, er.Message)
	}
	return fmt.Errorf("%s answered HTTP %d %s", s.loc.host(), er.StatusCode, er.Code)
}

// describe renders an error for a log line.
func describe(err error) string {
	if er, ok := response(err); ok {
		return fmt.Sprintf("HTTP %d %s", er.StatusCode, er.Code)
	}
	return err.Error()
}
