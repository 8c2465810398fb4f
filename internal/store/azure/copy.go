package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/seedship/seedship/internal/store"
)

var _ store.Copier = (*Store)(nil)

const (
	// maxCopySize is the most Copy Blob From URL copies (256 MiB).
	maxCopySize = 256 << 20
	// sourceSASLife is how long the read-only SAS of a copy source lasts.
	sourceSASLife = time.Hour
)

// errSourceChanged: the source of a copy changed after check read it.
var errSourceChanged = errors.New("the source changed while it was checked")

// Copy implements store.Copier with Copy Blob From URL, a synchronous
// server-side copy: src must be a *Store of the same account (any
// container, any prefix) and the blob at most 256 MiB; store.ErrNotSupported
// otherwise. The service reads the source through a short read-only SAS
// made with the source store's shared key, or through the source store's
// own SAS token. The source is read through check first and the copy is
// pinned to the version check read (its ETag); the blob is created with
// If-None-Match: *, like Put.
func (s *Store) Copy(ctx context.Context, dst string, src store.Store, srcName string, check func(io.Reader) error) error {
	from, ok := src.(*Store)
	if !ok || !s.sameAccount(from) {
		return fmt.Errorf("%s: copy %s from a %T of another account: %w", s.loc, dst, src, store.ErrNotSupported)
	}
	if err := errors.Join(store.ValidName(dst), store.ValidName(srcName)); err != nil {
		return fmt.Errorf("%s: copy %s from %s: %w", s.loc, dst, srcName, err)
	}
	if !from.canSign() {
		return fmt.Errorf("%s: copy %s: the source store has no shared key or SAS to let the service read it: %w",
			s.loc, dst, store.ErrNotSupported)
	}
	v, err := from.checked(ctx, srcName, check)
	if err != nil {
		return fmt.Errorf("%s: copy %s: %w", s.loc, dst, err)
	}
	srcURL, err := from.readURL(srcName)
	if err != nil {
		return fmt.Errorf("%s: copy %s: %w", s.loc, dst, err)
	}
	return s.copyFromURL(ctx, dst, srcName, srcURL, v.etag)
}

// sameAccount reports whether o's blobs are in s's account.
func (s *Store) sameAccount(o *Store) bool {
	a, errA := blob.ParseURL(s.client.URL())
	b, errB := blob.ParseURL(o.client.URL())
	return errA == nil && errB == nil && s.account == o.account &&
		a.Scheme == b.Scheme && a.Host == b.Host && a.IPEndpointStyleInfo == b.IPEndpointStyleInfo
}

// canSign reports whether s can give the service a URL to read its blobs:
// it has a shared key (to sign a SAS) or a SAS token.
func (s *Store) canSign() bool {
	u, err := blob.ParseURL(s.client.URL())
	return err == nil && u.SAS.Signature() != "" || s.sharedKey()
}

// sharedKey reports whether the client signs with a shared key.
func (s *Store) sharedKey() bool {
	_, err := s.client.NewBlobClient("x").GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Minute), nil)
	return err == nil
}

// readURL returns a URL through which the service may read name: a fresh
// read-only SAS when s has a shared key, else its blob URL with the store's
// own SAS token.
func (s *Store) readURL(name string) (string, error) {
	bc := s.client.NewBlobClient(s.key(name))
	u, err := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(sourceSASLife), nil)
	if errors.Is(err, bloberror.MissingSharedKeyCredential) {
		return bc.URL(), nil // the SAS token is in the client's URL
	}
	if err != nil {
		return "", fmt.Errorf("sign a read URL for %s: %w", name, err)
	}
	return u, nil
}

// checked reads name through check (when not nil) and returns the version
// it read; store.ErrNotSupported, before reading, when the blob is too
// large to copy in one request.
func (s *Store) checked(ctx context.Context, name string, check func(io.Reader) error) (version, error) {
	if check == nil {
		props, err := s.properties(ctx, name)
		if err != nil {
			return version{}, err
		}
		if props.ContentLength == nil {
			return version{}, fmt.Errorf("stat source %s: answer without Content-Length", name)
		}
		return version{etag: props.ETag, size: *props.ContentLength}, tooLarge(name, *props.ContentLength)
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

func tooLarge(name string, size int64) error {
	if size > maxCopySize {
		return fmt.Errorf("source %s has %d bytes, more than one copy request takes: %w", name, size, store.ErrNotSupported)
	}
	return nil
}

// properties reads name's properties.
func (s *Store) properties(ctx context.Context, name string) (blob.GetPropertiesResponse, error) {
	bc := s.client.NewBlobClient(s.key(name))
	var props blob.GetPropertiesResponse
	err := s.retry.Do(ctx, "stat "+name, func(int) error {
		var err error
		props, err = bc.GetProperties(ctx, nil)
		return err
	})
	if err != nil {
		return props, s.translate("stat source", name, err)
	}
	return props, nil
}

// copyFromURL copies the blob at srcURL, version etag, to dst,
// create-only and tagged with an upload token like Put.
func (s *Store) copyFromURL(ctx context.Context, dst, srcName, srcURL string, etag *azcore.ETag) error {
	token := newToken()
	opts := &blob.CopyFromURLOptions{
		Metadata:                       map[string]*string{tokenKey: &token},
		BlobAccessConditions:           ifNoneMatchAny(),
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: etag},
	}
	bc := s.client.NewBlobClient(s.key(dst))
	err := s.retry.Do(ctx, "copy "+dst, func(attempt int) error {
		_, err := bc.CopyFromURL(ctx, srcURL, opts)
		return s.createdByUs(ctx, dst, attempt, token, err)
	})
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return nil
	case bloberror.HasCode(err, bloberror.SourceConditionNotMet):
		return fmt.Errorf("%s: copy %s from %s: %w", s.loc, dst, srcName, errSourceChanged)
	case isExists(err):
		// Azurite answers ConditionNotMet for either condition.
		return s.whichCondition(ctx, dst, srcName, err)
	case bloberror.HasCode(err, bloberror.CannotVerifyCopySource) && asResponse(err, &re) && re.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: copy %s: source %s: %w", s.loc, dst, srcName, store.ErrNotFound)
	}
	return s.translate("copy", dst, err)
}

// whichCondition explains a failed condition of a copy: dst exists, or
// the source is no longer the version checked.
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
