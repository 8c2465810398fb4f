package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/seedship/seedship/internal/importjob"
)

// SeedJob returns the import job whose seed this machine may adopt
// (ErrJobNotFound when the account has none of that name or it is for
// another machine).
func (c *Client) SeedJob(ctx context.Context, job string) (*JobInfo, error) {
	var out JobInfo
	if err := c.seedCall(ctx, http.MethodGet, job, "", nil, "get import job "+job, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Adopt copies one batch of the job's seed, the container objects named
// after after, into the repository; call it again with the report's Next
// until Done. ErrJobState while the job is not ready.
func (c *Client) Adopt(ctx context.Context, job, after string) (*AdoptReport, error) {
	var out AdoptReport
	if err := c.seedCall(ctx, http.MethodPost, job, "/adopt", seedRequest{After: after}, "adopt the seed of import job "+job, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CleanupContainer deletes one batch of the job's container objects that
// the repository holds (and, in the last batch, the import logs); call it
// again with the report's Next until Done.
func (c *Client) CleanupContainer(ctx context.Context, job, after string) (*CleanupReport, error) {
	var out CleanupReport
	if err := c.seedCall(ctx, http.MethodPost, job, "/cleanup", seedRequest{After: after}, "clean up the container of import job "+job, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// seedCall sends one seed request with an optional JSON body and decodes
// the 200 answer into out.
func (c *Client) seedCall(ctx context.Context, method, job, action string, body any, what string, out any) error {
	if err := importjob.ValidateName(job); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var rd io.Reader
	var size int64
	var hdr http.Header
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		rd, size, hdr = bytes.NewReader(b), int64(len(b)), http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := c.do(ctx, method, c.machine+"/seed/"+url.PathEscape(job)+action, rd, size, hdr)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return jobResponseError(resp, what)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s: %w: %v", what, ErrProtocol, wrapCtx(ctx, err))
	}
	return nil
}
