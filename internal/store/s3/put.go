package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// tokenKey is the user-metadata entry holding the upload token.
const tokenKey = "Seedship-Upload"

// Put creates name from size bytes of r (size -1: unknown). A seekable body
// up to SinglePutMax goes up in one request, rewound by seeking for a retry;
// other bodies are read in parts of PartSize: one part goes up in one
// request, more as a multipart upload, Concurrency parts at a time. Every
// create carries If-None-Match: * (store.ErrExists when name exists).
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
			return s.putSingle(ctx, name, sec, size, token)
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
		return s.putSingle(ctx, name, bytes.NewReader(first), int64(len(first)), token)
	}
	return s.putMultipart(ctx, name, r, first, size, token)
}

// partSize is the configured part size, grown when size needs more parts
// than an upload may have.
func (s *Store) partSize(size int64) int {
	ps := s.cfg.PartSize
	if need := (size + maxParts - 1) / maxParts; need > ps {
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

// createOptions marks a write create-only and tags it with token.
func createOptions(token string) minio.PutObjectOptions {
	opts := minio.PutObjectOptions{UserMetadata: map[string]string{tokenKey: token}}
	opts.SetMatchETagExcept("*")
	return opts
}

// putSingle uploads body in one create-only request.
func (s *Store) putSingle(ctx context.Context, name string, body io.ReadSeeker, size int64, token string) error {
	opts := createOptions(token)
	err := s.retry.Do(ctx, "put "+name, func(attempt int) error {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind body: %w", err)
		}
		_, err := s.client.PutObject(ctx, s.loc.Bucket, s.key(name), body, size, "", "", opts)
		return s.createdByUs(ctx, name, attempt, token, err)
	})
	if err != nil {
		return s.translate("put", name, err)
	}
	return nil
}

// createdByUs turns the "exists" answer to a retried create into success
// when the object there carries our upload token: an earlier attempt got
// through and only its answer was lost.
func (s *Store) createdByUs(ctx context.Context, name string, attempt int, token string, err error) error {
	if attempt == 1 || !isExists(err) && !isNoSuchUpload(err) {
		return err
	}
	info, serr := s.client.StatObject(ctx, s.loc.Bucket, s.key(name), minio.StatObjectOptions{})
	if serr != nil {
		return err
	}
	if info.Metadata.Get("X-Amz-Meta-"+tokenKey) == token {
		return nil
	}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, tokenKey) && v == token {
			return nil
		}
	}
	if isNoSuchUpload(err) {
		return minio.ErrorResponse{StatusCode: 412, Code: "PreconditionFailed"} // someone else's object
	}
	return err
}

// isNoSuchUpload reports an upload that is gone: a retried completion of
// an upload that an earlier attempt completed.
func isNoSuchUpload(err error) bool {
	er, ok := response(err)
	return ok && er.Code == "NoSuchUpload"
}

// putMultipart uploads r as a multipart upload, first (a full part) being
// the first part, and completes it create-only.
func (s *Store) putMultipart(ctx context.Context, name string, r io.Reader, first []byte, size int64, token string) error {
	if _, err := s.Stat(ctx, name); err == nil {
		return fmt.Errorf("%s: put %s: %w", s.loc, name, store.ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	key := s.key(name)
	opts := createOptions(token)
	var uploadID string
	err := s.retry.Do(ctx, "start upload of "+name, func(int) error {
		var err error
		uploadID, err = s.client.NewMultipartUpload(ctx, s.loc.Bucket, key, opts)
		return err
	})
	if err != nil {
		return s.translate("put", name, err)
	}
	if err := s.uploadAndComplete(ctx, name, uploadID, r, first, size, token); err != nil {
		s.abort(name, uploadID)
		return err
	}
	return nil
}

func (s *Store) uploadAndComplete(ctx context.Context, name, uploadID string, r io.Reader, first []byte, size int64, token string) error {
	key := s.key(name)
	var (
		mu    sync.Mutex
		parts []minio.CompletePart
	)
	_, total, err := transfer.UploadParts(ctx, r, first, s.cfg.Concurrency, func(ctx context.Context, n int, data []byte) error {
		if n > maxParts {
			return fmt.Errorf("more than %d parts of %d bytes: give the size to Put", maxParts, len(first))
		}
		var part minio.ObjectPart
		err := s.retry.Do(ctx, "put part of "+name, func(int) error {
			var err error
			part, err = s.client.PutObjectPart(ctx, s.loc.Bucket, key, uploadID, n, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
			return err
		})
		mu.Lock()
		parts = append(parts, minio.CompletePart{PartNumber: n, ETag: part.ETag})
		mu.Unlock()
		return err
	})
	if err != nil {
		return s.translate("put", name, err)
	}
	if err := checkSize(total, size); err != nil {
		return fmt.Errorf("%s: put %s: %w", s.loc, name, err)
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	opts := createOptions(token)
	err = s.retry.Do(ctx, "complete "+name, func(attempt int) error {
		_, err := s.client.CompleteMultipartUpload(ctx, s.loc.Bucket, key, uploadID, parts, opts)
		return s.createdByUs(ctx, name, attempt, token, err)
	})
	if err != nil {
		return s.translate("put", name, err)
	}
	return nil
}

// abort drops an unfinished upload, best effort, even when ctx is done.
func (s *Store) abort(name, uploadID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.AbortMultipartUpload(ctx, s.loc.Bucket, s.key(name), uploadID); err != nil && s.cfg.Logger != nil {
		s.cfg.Logger.Warn("abandoned multipart upload", "store", s.loc.String(), "name", name, "err", describe(err))
	}
}
