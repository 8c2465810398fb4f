package s3

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// Get streams length bytes of name from offset on (length < 0: to the end)
// with a ranged GET; a broken connection is resumed where it broke, pinned
// to the same object version by its ETag.
func (s *Store) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := store.ValidName(name); err != nil {
		return nil, err
	}
	if err := transfer.CheckGet(s.loc, name, offset); err != nil {
		return nil, err
	}
	if length == 0 {
		return s.emptyRange(ctx, name, offset, length)
	}
	rc, _, err := s.get(ctx, name, offset, length)
	return rc, err
}

// version identifies the object a read is pinned to.
type version struct {
	etag string
	size int64 // of the whole object
}

// get is Get of a non-empty range, returning the version it reads too.
func (s *Store) get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, version, error) {
	var (
		body   io.ReadCloser
		info   minio.ObjectInfo
		header http.Header
	)
	err := s.retry.Do(ctx, "get "+name, func(int) error {
		var err error
		body, info, header, err = s.client.GetObject(ctx, s.loc.Bucket, s.key(name), rangeOptions(offset, length, ""))
		return err
	})
	if er, ok := response(err); ok && er.Code == "InvalidRange" {
		rc, err := s.emptyRange(ctx, name, offset, length)
		return rc, version{}, err
	}
	if err != nil {
		return nil, version{}, s.translate("get", name, err)
	}
	total, err := objectSize(header, info)
	if err != nil {
		body.Close()
		return nil, version{}, fmt.Errorf("%s: get %s: %w", s.loc, name, err)
	}
	if length < 0 {
		length = total - offset
	}
	if offset+length > total {
		body.Close()
		return nil, version{}, s.rangeError(name, offset, length, total)
	}
	etag := info.ETag
	open := func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		b, _, _, err := s.client.GetObject(ctx, s.loc.Bucket, s.key(name), rangeOptions(off, n, etag))
		if isExists(err) { // 412: If-Match failed
			return nil, transfer.ErrChanged
		}
		return b, err
	}
	fail := func(off int64, err error) error {
		return s.translate("read", fmt.Sprintf("%s at offset %d", name, off), err)
	}
	return transfer.NewResumeReader(ctx, transfer.Download{Name: name, Body: body, Offset: offset, Length: length,
		Open: open, Retry: &s.retry, Fail: fail}), version{etag: etag, size: total}, nil
}

// rangeOptions asks for [offset, offset+length) (length < 0: to the end),
// of the version etag when given.
func rangeOptions(offset, length int64, etag string) minio.GetObjectOptions {
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		opts.SetRange(offset, offset+length-1)
	case offset > 0:
		opts.SetRange(offset, 0)
	}
	if etag != "" {
		opts.SetMatchETag(etag)
	}
	return opts
}

// emptyRange answers a request that reads no bytes: valid when it starts
// at most at the end and asks for nothing beyond it.
func (s *Store) emptyRange(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, name)
	if err != nil {
		return nil, err
	}
	if offset > info.Size || length > 0 && offset+length > info.Size {
		return nil, s.rangeError(name, offset, max(length, 0), info.Size)
	}
	if offset < info.Size && length != 0 {
		return nil, fmt.Errorf("%s: get %s: service refused range %d+%d of %d bytes", s.loc, name, offset, length, info.Size)
	}
	return empty(), nil
}

func (s *Store) rangeError(name string, offset, length, size int64) error {
	return fmt.Errorf("%s: get %s: range [%d, %d) is past the end of the %d-byte object", s.loc, name, offset, offset+length, size)
}

// objectSize is the whole object's size, from Content-Range when the
// answer is partial.
func objectSize(h http.Header, info minio.ObjectInfo) (int64, error) {
	cr := h.Get("Content-Range")
	if cr == "" {
		return info.Size, nil
	}
	i := strings.LastIndexByte(cr, '/')
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if i < 0 || err != nil {
		return 0, fmt.Errorf("unreadable Content-Range %q", cr)
	}
	return n, nil
}

// Stat returns the size of name.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	if err := store.ValidName(name); err != nil {
		return store.Info{}, err
	}
	var info minio.ObjectInfo
	err := s.retry.Do(ctx, "stat "+name, func(int) error {
		var err error
		info, err = s.client.StatObject(ctx, s.loc.Bucket, s.key(name), minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		return store.Info{}, s.translate("stat", name, err)
	}
	return store.Info{Name: name, Size: info.Size}, nil
}

// List calls fn for each object whose name starts with prefix. A listing
// broken by a transient failure resumes after the last key it delivered.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	strip := len(s.key(""))
	after := ""
	var fnErr error
	err := s.retry.Do(ctx, "list "+prefix, func(int) error {
		opts := minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true, StartAfter: after}
		for obj := range s.client.Client.ListObjectsIter(ctx, s.loc.Bucket, opts) {
			if obj.Err != nil {
				return obj.Err
			}
			after = obj.Key
			if len(obj.Key) <= strip || strings.HasSuffix(obj.Key, "/") {
				continue // directory markers of file-system backed servers
			}
			if fnErr = fn(store.Info{Name: obj.Key[strip:], Size: obj.Size}); fnErr != nil {
				return nil
			}
		}
		return ctx.Err() // the iterator ends quietly when ctx is done
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return s.translate("list", prefix, err)
	}
	return nil
}

// Delete removes name. S3 deletes missing keys without complaint, so the
// object is looked up first to report store.ErrNotFound.
func (s *Store) Delete(ctx context.Context, name string) error {
	if _, err := s.Stat(ctx, name); err != nil {
		return err
	}
	err := s.retry.Do(ctx, "delete "+name, func(int) error {
		return s.client.RemoveObject(ctx, s.loc.Bucket, s.key(name), minio.RemoveObjectOptions{})
	})
	if err != nil {
		return s.translate("delete", name, err)
	}
	return nil
}
