package azure

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// tokenKey is the metadata entry holding the upload token.
const tokenKey = "seedshipupload"

// Put creates name from size bytes of r (size -1: unknown). A seekable body
// up to SinglePutMax goes up in one request, rewound by seeking for a retry;
// other bodies are read in parts of PartSize: one part goes up in one
// request, more as staged blocks, Concurrency at a time. The blob is created
// only if it does not exist (store.ErrExists otherwise).
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if err := store.ValidName(name); err != nil {
		return err
	}
	if err := transfer.CheckPut(ctx, s.loc, name, size); err != nil {
		return err
	}
	token := newToken()
	if rs, ok := r.(io.ReadSeeker); ok && size >= 0 && size <= s.cfg.SinglePutMax {
		sec, err := transfer.NewSection(rs, size)
		switch {
		case err == nil:
			return s.putSingle(ctx, name, sec, token)
		case !errors.Is(err, transfer.ErrUnseekable):
			return fmt.Errorf("%s: put %s: %w", s.loc, name, err)
		}
		// A pipe behind an io.Seeker: stream it like any reader.
	}
	partSize := s.partSize(size)
	limit := partSize
	if size >= 0 && size < int64(partSize) {
		limit = int(size) + 1 // one more byte shows a body longer than size
	}
	first, full, err := transfer.ReadUpTo(r, limit, size >= 0)
	if err != nil {
		return fmt.Errorf("%s: put %s: %w", s.loc, name, err)
	}
	if !full || size >= 0 && size < int64(partSize) {
		if err := checkSize(int64(len(first)), size); err != nil {
			return fmt.Errorf("%s: put %s: %w", s.loc, name, err)
		}
		return s.putSingle(ctx, name, streaming.NopCloser(bytes.NewReader(first)), token)
	}
	return s.putBlocks(ctx, name, r, first, size, token)
}

// partSize is the configured block size, grown when size needs more blocks
// than a blob may have.
func (s *Store) partSize(size int64) int {
	ps := s.cfg.PartSize
	if need := (size + maxBlocks - 1) / maxBlocks; need > ps {
		ps = (need + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return int(ps)
}

func checkSize(got, want int64) error {
	if want >= 0 && got != want {
		return fmt.Errorf("body holds %d bytes, size says %d", got, want)
	}
	return nil
}

// ifNoneMatchAny makes a write create-only.
func ifNoneMatchAny() *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: ptr(azcore.ETagAny)}}
}

// putSingle uploads body in one create-only request.
func (s *Store) putSingle(ctx context.Context, name string, body io.ReadSeekCloser, token string) error {
	bb := s.client.NewBlockBlobClient(s.key(name))
	opts := &blockblob.UploadOptions{Metadata: map[string]*string{tokenKey: &token}, AccessConditions: ifNoneMatchAny()}
	err := s.retry.Do(ctx, "put "+name, func(attempt int) error {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind body: %w", err)
		}
		_, err := bb.Upload(ctx, body, opts)
		return s.createdByUs(ctx, name, attempt, token, err)
	})
	if err != nil {
		return s.translate("put", name, err)
	}
	return nil
}

// createdByUs turns the "exists" answer to a retried create into success
// when the blob there carries our upload token: an earlier attempt got
// through and only its answer was lost.
func (s *Store) createdByUs(ctx context.Context, name string, attempt int, token string, err error) error {
	if attempt == 1 || !isExists(err) {
		return err
	}
	props, perr := s.client.NewBlobClient(s.key(name)).GetProperties(ctx, nil)
	if perr != nil {
		return err
	}
	for k, v := range props.Metadata {
		if strings.EqualFold(k, tokenKey) && v != nil && *v == token {
			return nil
		}
	}
	return err
}

// putBlocks stages r as blocks, first (a full part) being the first, and
// commits them create-only.
func (s *Store) putBlocks(ctx context.Context, name string, r io.Reader, first []byte, size int64, token string) error {
	if _, err := s.Stat(ctx, name); err == nil {
		return fmt.Errorf("%s: put %s: %w", s.loc, name, store.ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	bb := s.client.NewBlockBlobClient(s.key(name))
	parts, total, err := transfer.UploadParts(ctx, r, first, s.cfg.Concurrency, func(ctx context.Context, n int, data []byte) error {
		if n > maxBlocks {
			return fmt.Errorf("more than %d blocks of %d bytes: give the size to Put", maxBlocks, len(first))
		}
		id := blockID(token, n)
		return s.retry.Do(ctx, "put block of "+name, func(int) error {
			_, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(data)), nil)
			return err
		})
	})
	if err != nil {
		return s.translate("put", name, err)
	}
	if err := checkSize(total, size); err != nil {
		return fmt.Errorf("%s: put %s: %w", s.loc, name, err)
	}
	ids := make([]string, parts)
	for i := range ids {
		ids[i] = blockID(token, i+1)
	}
	opts := &blockblob.CommitBlockListOptions{Metadata: map[string]*string{tokenKey: &token}, AccessConditions: ifNoneMatchAny()}
	err = s.retry.Do(ctx, "commit "+name, func(attempt int) error {
		_, err := bb.CommitBlockList(ctx, ids, opts)
		if bloberror.HasCode(err, bloberror.InvalidBlockList) {
			// Another writer's commit discards our uncommitted blocks.
			if _, serr := s.Stat(ctx, name); serr == nil {
				return store.ErrExists
			}
		}
		return s.createdByUs(ctx, name, attempt, token, err)
	})
	if err != nil {
		return s.translate("put", name, err)
	}
	return nil
}

// blockID names block n of one upload; all IDs of a blob have one length.
func blockID(token string, n int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%08d", token, n))
}
