package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/importjob"
)

// AccountClient is an account admin's client of the import-job API, with
// the service's certificate pinned by the account settings file's
// fingerprint like Client.
type AccountClient struct {
	hc   *http.Client
	base string
	key  string
}

// AccountOption configures an AccountClient.
type AccountOption func(*AccountClient)

// WithHTTPClient replaces the pinned HTTP client (tests).
func WithHTTPClient(hc *http.Client) AccountOption {
	return func(c *AccountClient) { c.hc = hc }
}

// NewAccountClient returns a client acting with s's API key. It does not
// contact the service.
func NewAccountClient(s *AccountSettings, opts ...AccountOption) (*AccountClient, error) {
	if s == nil {
		return nil, fmt.Errorf("account client: %w: no account settings", ErrFile)
	}
	e := s.Endpoint
	if err := e.check(); err != nil {
		return nil, fmt.Errorf("account client: %w", err)
	}
	if s.APIKey == "" {
		return nil, fmt.Errorf("account client: %w: no api_key", ErrFile)
	}
	c := &AccountClient{base: strings.TrimRight(e.URL, "/"), key: s.APIKey}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		hc, err := NewHTTPClient(e)
		if err != nil {
			return nil, err
		}
		c.hc = hc
	}
	return c, nil
}

// Datacenter returns the datacenter's shipping address (ErrNoDatacenter
// when the service has none yet).
func (c *AccountClient) Datacenter(ctx context.Context) (string, error) {
	var out struct {
		Address string `json:"address"`
	}
	err := c.call(ctx, http.MethodGet, "/v1/datacenter", nil, http.StatusOK, "get datacenter address", &out)
	return out.Address, err
}

// StorageAccounts lists the account's storage accounts.
func (c *AccountClient) StorageAccounts(ctx context.Context) ([]StorageAccountInfo, error) {
	var out []StorageAccountInfo
	err := c.call(ctx, http.MethodGet, "/v1/storage-accounts", nil, http.StatusOK, "list storage accounts", &out)
	return out, err
}

// Job returns the account's job of that name (ErrJobNotFound).
func (c *AccountClient) Job(ctx context.Context, name string) (*JobInfo, error) {
	var out JobInfo
	err := c.call(ctx, http.MethodGet, jobPath(name), nil, http.StatusOK, "get import job "+name, &out)
	return result(&out, err)
}

// Jobs returns the account's jobs.
func (c *AccountClient) Jobs(ctx context.Context) ([]JobInfo, error) {
	var out []JobInfo
	err := c.call(ctx, http.MethodGet, "/v1/jobs", nil, http.StatusOK, "list import jobs", &out)
	return out, err
}

// CreateJob creates an import job in state Creating (ErrJobExists,
// ErrStorageAccountNotFound, ErrInvalidJob).
func (c *AccountClient) CreateJob(ctx context.Context, req CreateJobRequest) (*JobInfo, error) {
	var out JobInfo
	err := c.call(ctx, http.MethodPost, "/v1/jobs", req, http.StatusCreated, "create import job "+req.Name, &out)
	return result(&out, err)
}

// ReportShipping reports the inbound shipment of the job's drives and moves
// it to Shipping (ErrTrackingInUse, ErrInvalidTransition, ErrInvalidJob).
func (c *AccountClient) ReportShipping(ctx context.Context, name string, s importjob.Shipping) (*JobInfo, error) {
	var out JobInfo
	err := c.call(ctx, http.MethodPost, jobPath(name)+"/shipping", s, http.StatusOK, "report shipping of import job "+name, &out)
	return result(&out, err)
}

// CancelJob cancels a job that was not shipped (ErrInvalidTransition).
func (c *AccountClient) CancelJob(ctx context.Context, name string) (*JobInfo, error) {
	var out JobInfo
	err := c.call(ctx, http.MethodPost, jobPath(name)+"/cancel", nil, http.StatusOK, "cancel import job "+name, &out)
	return result(&out, err)
}

func jobPath(name string) string { return "/v1/jobs/" + url.PathEscape(name) }

func result(info *JobInfo, err error) (*JobInfo, error) {
	if err != nil {
		return nil, err
	}
	return info, nil
}

// call sends one request with an optional JSON body and decodes the answer
// into out when its status is want. GETs are retried like Client's.
func (c *AccountClient) call(ctx context.Context, method, path string, body any, want int, what string, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	resp, err := c.do(ctx, method, c.base+path, b)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer drain(resp)
	if resp.StatusCode != want {
		return jobResponseError(resp, what)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s: %w: %v", what, ErrProtocol, err)
	}
	return nil
}

func (c *AccountClient) do(ctx context.Context, method, u string, body []byte) (*http.Response, error) {
	attempts := 1
	if method == http.MethodGet {
		attempts = 3
	}
	for i := 1; ; i++ {
		resp, err := c.send(ctx, method, u, body)
		if i >= attempts || !retryable(resp, err) || ctx.Err() != nil {
			if err != nil {
				return nil, wrapCtx(ctx, err)
			}
			return resp, nil
		}
		if resp != nil {
			drain(resp)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(i*i) * 200 * time.Millisecond):
		}
	}
}

func (c *AccountClient) send(ctx context.Context, method, u string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("User-Agent", "seedship-account-client/1")
	return c.hc.Do(req)
}

// jobCodes maps the import-job API's error codes onto sentinel errors.
var jobCodes = map[string]error{
	CodeJobNotFound:            ErrJobNotFound,
	CodeJobExists:              ErrJobExists,
	CodeTrackingInUse:          ErrTrackingInUse,
	CodeInvalidTransition:      ErrInvalidTransition,
	CodeStorageAccountNotFound: ErrStorageAccountNotFound,
	CodeNoDatacenter:           ErrNoDatacenter,
	CodeInvalid:                ErrInvalidJob,
	CodeJobState:               ErrJobState,
}

// jobResponseError turns an error answer into a sentinel error with the
// service's message.
func jobResponseError(resp *http.Response, what string) error {
	var body errorBody
	json.NewDecoder(io.LimitReader(resp.Body, 8<<10)).Decode(&body)
	msg := body.Error
	if msg == "" {
		msg = resp.Status
	}
	sentinel, ok := jobCodes[body.Code]
	if !ok {
		sentinel = codeError(resp.StatusCode, body.Code)
	}
	return fmt.Errorf("%s: %w: %s", what, sentinel, msg)
}
