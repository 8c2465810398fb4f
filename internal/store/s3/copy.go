package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/seedship/seedship/internal/store"
)

var _ store.Copier = (*Store)(nil)

// maxCopySize is the most CopyObject copies in one request (5 GiB).
const maxCopySize = 5 << 30

// errSourceChanged: the source of a copy changed after check read it.
var errSourceChanged = errors.New("the source changed while it was checked")

// Copy implements store.Copier with CopyObject: src must be a *Store on the
// same endpoint with the same credentials (any bucket, any prefix), and the
// object at most 5 GiB; store.ErrNotSupported otherwise. The source is
// read through check first, and the copy is pinned to the version check
// read (x-amz-copy-source-if-match with its ETag).
//
// The copy is create-only by If-None-Match: *, which AWS S3 honours on
// CopyObject; some servers ignore it there (versitygw 1.8 does), so Copy
// also looks for dst first. On those servers a concurrent create of dst
// between that look and the copy is overwritten; never with a partial
// object, and for content-named objects with the same bytes.
func (s *Store) Copy(ctx context.Context, dst string, src store.Store, srcName string, check func(io.Reader) error) error {
	from, ok := src.(*Store)
	if !ok || !s.sameService(from) {
		return fmt.Errorf("%s: copy %s from a %T of another service: %w", s.loc, dst, src, store.ErrNotSupported)
	}
	if err := errors.Join(store.ValidName(dst), store.ValidName(srcName)); err != nil {
		return fmt.Errorf("%s: copy %s from %s: %w", s.loc, dst, srcName, err)
	}
	if _, err := s.Stat(ctx, dst); err == nil {
		return fmt.Errorf("%s: copy %s: %w", s.loc, dst, store.ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	v, err := from.checked(ctx, srcName, check)
	if err != nil {
		return fmt.Errorf("%s: copy %s: %w", s.loc, dst, err)
	}
	return s.copyObject(ctx, dst, from, srcName, v.etag)
}

// sameService reports whether s can copy from o's objects: same endpoint,
// same credentials.
func (s *Store) sameService(o *Store) bool {
	a, b := s.cfg, o.cfg
	return s.loc.host() == o.loc.host() && s.loc.Insecure == o.loc.Insecure &&
		a.AccessKey == b.AccessKey && a.SecretKey == b.SecretKey && a.SessionToken == b.SessionToken &&
		a.Profile == b.Profile && a.CredentialsFile == b.CredentialsFile
}

// checked reads name through check (when not nil) and returns the version
// it read; store.ErrNotSupported, before reading, when the object is too
// large to copy in one request.
func (s *Store) checked(ctx context.Context, name string, check func(io.Reader) error) (version, error) {
	if check == nil {
		info, err := s.statObject(ctx, name)
		if err != nil {
			return version{}, err
		}
		return version{etag: info.ETag, size: info.Size}, tooLarge(name, info.Size)
	}
	rc, v, err := s.get(ctx, name, 0, -1)
	if err != nil {
		return version{}, fmt.Errorf("source %w", err)
	}
	defer rc.Close()
	if err := tooLarge(name, v.size); err != nil {
		return version{}, err
	}
	if err := check(rc); err != nil {
		return version{}, fmt.Errorf("source %s: %w", name, err)
	}
	return v, nil
}

// isNoSuchKey reports a missing object (not a missing bucket).
func isNoSuchKey(err error) bool {
	er, ok := response(err)
	return ok && er.Code == "NoSuchKey"
}

func tooLarge(name string, size int64) error {
	if size > maxCopySize {
		return fmt.Errorf("source %s has %d bytes, more than one copy request takes: %w", name, size, store.ErrNotSupported)
	}
	return nil
}

// statObject is Stat returning the SDK's answer (ETag included).
func (s *Store) statObject(ctx context.Context, name string) (minio.ObjectInfo, error) {
	var info minio.ObjectInfo
	err := s.retry.Do(ctx, "stat "+name, func(int) error {
		var err error
		info, err = s.client.StatObject(ctx, s.loc.Bucket, s.key(name), minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		return info, s.translate("stat source", name, err)
	}
	return info, nil
}

// copyObject copies from's srcName, version etag, to dst, create-only and
// tagged with an upload token like Put.
func (s *Store) copyObject(ctx context.Context, dst string, from *Store, srcName, etag string) error {
	token := newToken()
	headers := map[string]string{
		"If-None-Match":              "*",
		"X-Amz-Copy-Source-If-Match": `"` + etag + `"`,
		"X-Amz-Metadata-Directive":   "REPLACE",
		"X-Amz-Meta-" + tokenKey:     token,
	}
	err := s.retry.Do(ctx, "copy "+dst, func(attempt int) error {
		_, err := s.client.CopyObject(ctx, from.loc.Bucket, from.key(srcName), s.loc.Bucket, s.key(dst),
			headers, minio.CopySrcOptions{}, minio.PutObjectOptions{})
		return s.createdByUs(ctx, dst, attempt, token, err)
	})
	switch {
	case err == nil:
		return nil
	case isExists(err):
		return s.whichCondition(ctx, dst, srcName, err)
	case isNoSuchKey(err):
		return fmt.Errorf("%s: copy %s: source %s: %w", s.loc, dst, srcName, store.ErrNotFound)
	}
	return s.translate("copy", dst, err)
}

// whichCondition explains a 412 answer to a copy: dst exists, or the
// source is no longer the version checked.
func (s *Store) whichCondition(ctx context.Context, dst, srcName string, err error) error {
	_, serr := s.Stat(ctx, dst)
	switch {
	case serr == nil:
		return fmt.Errorf("%s: copy %s: %w", s.loc, dst, store.ErrExists)
	case errors.Is(serr, store.ErrNotFound):
		return fmt.Errorf("%s: copy %s from %s: %w", s.loc, dst, srcName, errSourceChanged)
	}
	return s.translate("copy", dst, err)
}
