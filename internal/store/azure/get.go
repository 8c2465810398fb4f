package azure

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/transfer"
)

// Get streams length bytes of name from offset on (length < 0: to the end)
// with a ranged download; a broken connection is resumed where it broke,
// pinned to the same blob version by its ETag.
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

// version identifies the blob a read is pinned to.
type version struct {
	etag *azcore.ETag
	size int64 // of the whole blob
}

// get is Get of a non-empty range, returning the version it reads too.
func (s *Store) get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, version, error) {
	bc := s.client.NewBlobClient(s.key(name))
	var resp blob.DownloadStreamResponse
	err := s.retry.Do(ctx, "get "+name, func(int) error {
		var err error
		resp, err = bc.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: offset, Count: max(length, 0)}})
		return err
	})
	if bloberror.HasCode(err, bloberror.InvalidRange) {
		rc, err := s.emptyRange(ctx, name, offset, length)
		return rc, version{}, err
	}
	if err != nil {
		return nil, version{}, s.translate("get", name, err)
	}
	total, err := objectSize(resp)
	if err != nil {
		resp.Body.Close()
		return nil, version{}, fmt.Errorf("%s: get %s: %w", s.loc, name, err)
	}
	if length < 0 {
		length = total - offset
	}
	if offset+length > total {
		resp.Body.Close()
		return nil, version{}, s.rangeError(name, offset, length, total)
	}
	etag := resp.ETag
	open := func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		opts := &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: off, Count: n}}
		if etag != nil {
			opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: etag}}
		}
		r, err := bc.DownloadStream(ctx, opts)
		var re *azcore.ResponseError
		if asResponse(err, &re) && re.StatusCode == http.StatusPreconditionFailed {
			return nil, transfer.ErrChanged
		}
		if err != nil {
			return nil, err
		}
		return r.Body, nil
	}
	fail := func(off int64, err error) error {
		return s.translate("read", fmt.Sprintf("%s at offset %d", name, off), err)
	}
	return transfer.NewResumeReader(ctx, transfer.Download{Name: name, Body: resp.Body, Offset: offset, Length: length,
		Open: open, Retry: &s.retry, Fail: fail}), version{etag: etag, size: total}, nil
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

// objectSize is the whole blob's size, from Content-Range when the answer
// is partial.
func objectSize(resp blob.DownloadStreamResponse) (int64, error) {
	if resp.ContentRange != nil && *resp.ContentRange != "" {
		cr := *resp.ContentRange
		i := strings.LastIndexByte(cr, '/')
		n, err := strconv.ParseInt(cr[i+1:], 10, 64)
		if i < 0 || err != nil {
			return 0, fmt.Errorf("unreadable Content-Range %q", cr)
		}
		return n, nil
	}
	if resp.ContentLength == nil {
		return 0, fmt.Errorf("answer without Content-Length")
	}
	return *resp.ContentLength, nil
}

// Stat returns the size of name.
func (s *Store) Stat(ctx context.Context, name string) (store.Info, error) {
	if err := store.ValidName(name); err != nil {
		return store.Info{}, err
	}
	bc := s.client.NewBlobClient(s.key(name))
	var props blob.GetPropertiesResponse
	err := s.retry.Do(ctx, "stat "+name, func(int) error {
		var err error
		props, err = bc.GetProperties(ctx, nil)
		return err
	})
	if err != nil {
		return store.Info{}, s.translate("stat", name, err)
	}
	if props.ContentLength == nil {
		return store.Info{}, fmt.Errorf("%s: stat %s: answer without Content-Length", s.loc, name)
	}
	return store.Info{Name: name, Size: *props.ContentLength}, nil
}

// List calls fn for each object whose name starts with prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Info) error) error {
	full := s.key(prefix)
	strip := len(s.key(""))
	pager := s.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &full})
	for pager.More() {
		var page container.ListBlobsFlatResponse
		err := s.retry.Do(ctx, "list "+prefix, func(int) error {
			var err error
			page, err = pager.NextPage(ctx)
			return err
		})
		if err != nil {
			return s.translate("list", prefix, err)
		}
		for _, item := range page.Segment.BlobItems {
			if item.Name == nil || len(*item.Name) < strip {
				continue
			}
			info := store.Info{Name: (*item.Name)[strip:]}
			if item.Properties != nil && item.Properties.ContentLength != nil {
				info.Size = *item.Properties.ContentLength
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes name.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.ValidName(name); err != nil {
		return err
	}
	bc := s.client.NewBlobClient(s.key(name))
	err := s.retry.Do(ctx, "delete "+name, func(attempt int) error {
		_, err := bc.Delete(ctx, nil)
		if attempt > 1 && isNotFound(err) {
			return nil // an earlier attempt did it; only its answer was lost
		}
		return err
	})
	if err != nil {
		return s.translate("delete", name, err)
	}
	return nil
}
