// Package store defines the object-store interface that every repository,
// vault and storage container is written through, and the rules for object
// names. Implementations live in the sub-packages (local, mem, faulty, azure,
// s3, and the vault client); storetest holds the conformance suite they all
// pass.
//
// # Server-side copy
//
// A store may also implement Copier: it creates an object from an object of
// another store of the same backend — the same file system, the same Azure
// account, the same S3 endpoint and credentials — without the bytes passing
// through this process (a hard link, CopyObject, Copy Blob From URL). Copy
// keeps the create-only rules of Put. It answers ErrNotSupported, having
// created nothing, when it cannot copy from that store, and the caller
// copies with Get and Put instead. Wrappers that hold a store (retry) pass
// Copy through to it.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors every implementation returns (wrapped with %w and the object name).
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrExists: Put was asked to create an object that already exists.
	ErrExists = errors.New("object already exists")
	// ErrInvalidName: the name breaks the rules of ValidName.
	ErrInvalidName = errors.New("invalid object name")
	// ErrPermission: the store refused the operation (credentials, rights,
	// append-only vault).
	ErrPermission = errors.New("permission denied")
	// ErrNotSupported: the store cannot do this operation with these
	// arguments (a Copier asked to copy from a store it cannot copy from);
	// nothing was changed, and the caller falls back to another way.
	ErrNotSupported = errors.New("operation not supported")
)

// Info describes one stored object.
type Info struct {
	Name string
	Size int64
}

// Putter creates objects.
type Putter interface {
	// Put creates the object name with size bytes read from r (size may be
	// -1 when unknown). Writes are create-only: when name exists, Put
	// returns ErrExists and leaves the existing object untouched. The object
	// becomes visible only once complete. If r is an io.Seeker the store may
	// seek it back to its start position to retry.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
}

// Getter reads objects.
type Getter interface {
	// Get returns length bytes of name from offset on; length < 0 means to
	// the end. A range past the end is an error. The caller closes the reader.
	Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error)
}

// Stater reports an object's size.
type Stater interface {
	Stat(ctx context.Context, name string) (Info, error)
}

// Lister enumerates objects.
type Lister interface {
	// List calls fn for every object whose name starts with prefix, in no
	// particular order. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// Deleter removes objects.
type Deleter interface {
	// Delete removes name; ErrNotFound when it does not exist.
	Delete(ctx context.Context, name string) error
}

// Copier creates objects by server-side copy (see the package doc).
type Copier interface {
	// Copy creates the object dst from the object srcName of src, with the
	// rules of Put: ErrExists when dst exists, and dst visible only once
	// complete. ErrNotSupported (nothing read, nothing created) when the
	// store cannot copy from src; ErrNotFound when srcName does not exist.
	//
	// When check is not nil, Copy first reads the source through check and
	// creates dst only if check returns nil (its error is returned, wrapped),
	// and only with the bytes check saw: a source that changed in between
	// fails the copy. check must not keep r after it returns.
	Copy(ctx context.Context, dst string, src Store, srcName string, check func(r io.Reader) error) error
}

// Store is the whole object-store interface.
type Store interface {
	Putter
	Getter
	Stater
	Lister
	Deleter
}

// ValidName reports whether name is a valid object name: non-empty, at most
// 1024 bytes, slash-separated segments of printable ASCII that are neither
// empty, "." nor "..", no leading or trailing slash, no backslash.
func ValidName(name string) error {
	if name == "" || len(name) > 1024 {
		return fmt.Errorf("%w: %q: empty or longer than 1024 bytes", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return fmt.Errorf("%w: %q: byte %#x at %d is not allowed", ErrInvalidName, name, c, i)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q: empty, \".\" or \"..\" path segment", ErrInvalidName, name)
		}
	}
	return nil
}

// ReadAll reads a whole object.
func ReadAll(ctx context.Context, g Getter, name string) ([]byte, error) {
	rc, err := g.Get(ctx, name, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}
