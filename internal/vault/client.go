package vault

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/store"
)

// ClientConfig says how to reach one machine's repository.
type ClientConfig struct {
	Endpoint Endpoint
	// Key is the bearer credential: the machine's key, or its account
	// admin's API key.
	Key       string
	VaultID   string
	MachineID string
	// HTTPClient replaces the default client from NewHTTPClient.
	HTTPClient *http.Client
}

// Client is a store.Store over the vault API: one machine's repository.
type Client struct {
	hc      *http.Client
	base    string // service URL without trailing slash
	machine string // URL of the machine: /v1/vaults/V/machines/M
	objects string // URL of the repository's objects collection
	key     string
}

var _ store.Store = (*Client)(nil)

// NewClient returns the store of cfg's repository. It does not contact the
// service; Ping does.
func NewClient(cfg ClientConfig) (*Client, error) {
	e := cfg.Endpoint
	if err := e.check(); err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	if err := firstErr(checkID("vault", cfg.VaultID), checkID("machine", cfg.MachineID)); err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(e); err != nil {
			return nil, err
		}
	}
	base := strings.TrimRight(e.URL, "/")
	machine := base + "/v1/vaults/" + cfg.VaultID + "/machines/" + cfg.MachineID
	return &Client{hc: hc, base: base, key: cfg.Key, machine: machine, objects: machine + "/objects"}, nil
}

// Ping checks that the service answers, presents the pinned certificate
// and accepts the key.
func (c *Client) Ping(ctx context.Context) (WhoAmI, error) {
	var who WhoAmI
	resp, err := c.do(ctx, http.MethodGet, c.base+"/v1/whoami", nil, 0, nil)
	if err != nil {
		return who, fmt.Errorf("reach vault %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return who, responseError(resp, "reach vault", c.base)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxFileSize)).Decode(&who); err != nil {
		return who, fmt.Errorf("reach vault %s: %w: %v", c.base, ErrProtocol, err)
	}
	return who, nil
}

// objectURL escapes each segment of a valid name.
func (c *Client) objectURL(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.objects + "/" + strings.Join(segs, "/")
}

// readerOnly keeps the HTTP client from closing the caller's reader. Other
// readers go to the client as they are, so that a bytes.Reader's WriterTo
// saves a copy.
type readerOnly struct{ r io.Reader }

func (o readerOnly) Read(p []byte) (int, error) { return o.r.Read(p) }

// Put implements store.Putter; the body streams, never buffered whole.
func (c *Client) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if err := store.ValidName(name); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	body := r
	if _, ok := r.(io.Closer); ok {
		body = readerOnly{r} // the HTTP client would close it
	}
	if size == 0 {
		body = http.NoBody
	}
	resp, err := c.do(ctx, http.MethodPut, c.objectURL(name), body, size, nil)
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return responseError(resp, "put", name)
	}
	return nil
}

// Get implements store.Getter with a Range request.
func (c *Client) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := store.ValidName(name); err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if offset < 0 {
		return nil, fmt.Errorf("get %s: %w: offset %d", name, ErrRange, offset)
	}
	if length == 0 {
		return c.getEmpty(ctx, name, offset)
	}
	var hdr http.Header
	if offset > 0 || length > 0 {
		rg := "bytes=" + strconv.FormatInt(offset, 10) + "-"
		if length > 0 {
			rg += strconv.FormatInt(offset+length-1, 10)
		}
		hdr = http.Header{"Range": {rg}}
	}
	resp, err := c.do(ctx, http.MethodGet, c.objectURL(name), nil, 0, hdr)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		defer drain(resp)
		return nil, responseError(resp, "get", name)
	}
	if length > 0 && resp.ContentLength != length {
		drain(resp)
		return nil, fmt.Errorf("get %s: %w: %d bytes for a %d-byte range", name, ErrProtocol, resp.ContentLength, length)
	}
	return resp.Body, nil
}

// getEmpty answers a zero-length read, which HTTP ranges cannot express.
func (c *Client) getEmpty(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	fi, err := c.Stat(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if offset > fi.Size {
		return nil, fmt.Errorf("get %s: %w: offset %d past %d bytes", name, ErrRange, offset, fi.Size)
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// Stat implements store.Stater with HEAD.
func (c *Client) Stat(ctx context.Context, name string) (store.Info, error) {
	if err := store.ValidName(name); err != nil {
		return store.Info{}, fmt.Errorf("stat %s: %w", name, err)
	}
	resp, err := c.do(ctx, http.MethodHead, c.objectURL(name), nil, 0, nil)
	if err != nil {
		return store.Info{}, fmt.Errorf("stat %s: %w", name, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return store.Info{}, responseError(resp, "stat", name)
	}
	if resp.ContentLength < 0 {
		return store.Info{}, fmt.Errorf("stat %s: %w: no Content-Length", name, ErrProtocol)
	}
	return store.Info{Name: name, Size: resp.ContentLength}, nil
}

// Delete implements store.Deleter.
func (c *Client) Delete(ctx context.Context, name string) error {
	if err := store.ValidName(name); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	resp, err := c.do(ctx, http.MethodDelete, c.objectURL(name), nil, 0, nil)
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return responseError(resp, "delete", name)
	}
	return nil
}

// List implements store.Lister over the streamed listing.
func (c *Client) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	resp, err := c.do(ctx, http.MethodGet, c.objects+"?prefix="+url.QueryEscape(prefix), nil, 0, nil)
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return responseError(resp, "list", strconv.Quote(prefix))
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var e ListEntry
		if err := dec.Decode(&e); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("listing ended early")
			}
			return fmt.Errorf("list %q: %w: %v", prefix, ErrProtocol, wrapCtx(ctx, err))
		}
		switch {
		case e.Done:
			return nil
		case e.Error != "" || e.Code != "":
			return fmt.Errorf("list %q: %w: %s", prefix, codeError(0, e.Code), e.Error)
		}
		if err := fn(store.Info{Name: e.Name, Size: e.Size}); err != nil {
			return err
		}
	}
}

// do sends one request. GET and HEAD are retried on connection failures
// and 502/503/504; other methods are not, as their bodies are streams.
func (c *Client) do(ctx context.Context, method, u string, body io.Reader, size int64, hdr http.Header) (*http.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	attempts := 1
	if method == http.MethodGet || method == http.MethodHead {
		attempts = 3
	}
	for i := 1; ; i++ {
		resp, err := c.send(ctx, method, u, body, size, hdr)
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

func (c *Client) send(ctx context.Context, method, u string, body io.Reader, size int64, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil && body != http.NoBody {
		req.ContentLength = size
		if size < 0 {
			req.ContentLength = -1
		}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("User-Agent", "seedship-vault-client/1")
	return c.hc.Do(req)
}

func retryable(resp *http.Response, err error) bool {
	var cve *tls.CertificateVerificationError
	if err != nil {
		return !errors.Is(err, ErrFingerprint) && !errors.As(err, &cve)
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// wrapCtx prefers the context's error, so cancellation is recognisable.
func wrapCtx(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// drain reads a little of the body so the connection can be reused.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// responseError turns a non-success response into the store's errors.
func responseError(resp *http.Response, op, name string) error {
	var body errorBody
	json.NewDecoder(io.LimitReader(resp.Body, 8<<10)).Decode(&body)
	msg := body.Error
	if msg == "" {
		msg = resp.Status
	}
	return fmt.Errorf("%s %s: %w: %s", op, name, codeError(resp.StatusCode, body.Code), msg)
}

// codeError maps an API status or error code onto the sentinel errors
// (HEAD answers carry no body, so the status alone must do).
func codeError(status int, code string) error {
	switch {
	case code == CodeInvalidName:
		return store.ErrInvalidName
	case status == http.StatusNotFound || code == CodeNotFound:
		return store.ErrNotFound
	case status == http.StatusConflict || code == CodeExists:
		return store.ErrExists
	case status == http.StatusUnauthorized || code == CodeUnauthorized:
		return fmt.Errorf("%w: %w", ErrUnauthorized, store.ErrPermission)
	case status == http.StatusForbidden || code == CodeForbidden || code == CodeAppendOnly || code == CodeDisabled:
		return store.ErrPermission
	case status == http.StatusRequestedRangeNotSatisfiable || code == CodeRange:
		return ErrRange
	case status == http.StatusBadRequest && code == "":
		return store.ErrInvalidName // a HEAD's 400: the name is all it sends
	}
	return fmt.Errorf("%w (HTTP %d %s)", ErrProtocol, status, code)
}
