// Package location turns a repository location string into an open
// store.Store: azure:CONTAINER[/PREFIX], s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX],
// s3:BUCKET[/PREFIX] (AWS), local:PATH, or a plain path.
package location

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/azure"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/store/s3"
)

// Kind names the backend of a location.
type Kind string

// The backends a location can name.
const (
	Local Kind = "local"
	Azure Kind = "azure"
	S3    Kind = "s3"
)

// ErrUnknownScheme: the location starts with a scheme no backend serves.
var ErrUnknownScheme = errors.New("unknown location scheme")

// ErrEmpty: the location is empty.
var ErrEmpty = errors.New("empty location")

// Parse checks the syntax of loc without touching the network or disk and
// returns its backend and, for local locations, the directory.
func Parse(loc string) (Kind, string, error) {
	if loc == "" {
		return "", "", ErrEmpty
	}
	scheme, rest, ok := splitScheme(loc)
	if !ok {
		return Local, loc, nil
	}
	switch scheme {
	case "local":
		if rest == "" {
			return "", "", fmt.Errorf("location %q: %w", loc, ErrEmpty)
		}
		return Local, rest, nil
	case "azure":
		if _, err := azure.ParseLocation(loc); err != nil {
			return "", "", err
		}
		return Azure, "", nil
	case "s3":
		if _, err := s3.ParseLocation(loc); err != nil {
			return "", "", err
		}
		return S3, "", nil
	}
	// Hook for vault: locations: the vault client adds its case above, a
	// Vault Kind, and its constructors in Open.
	return "", "", fmt.Errorf("%w %q in location %q: use azure:, s3:, local: or a plain path "+
		"(local:%s for a directory whose name contains a colon)", ErrUnknownScheme, scheme+":", loc, loc)
}

// splitScheme splits "scheme:rest". A scheme is a letter followed by
// letters, digits, '+', '-' or '.'; a single letter is a Windows drive, not
// a scheme.
func splitScheme(loc string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(loc, ':')
	if i < 2 {
		return "", "", false
	}
	for j := 0; j < i; j++ {
		c := loc[j]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", "", false
		}
	}
	return strings.ToLower(loc[:i]), loc[i+1:], true
}

// Open opens the store at loc. With create, the directory, container or
// bucket is made when it does not exist yet (seedship init); without, a
// missing one is an error wrapping store.ErrNotFound (and, for a
// directory, fs.ErrNotExist). Cloud credentials come from the environment
// (see docs/storage.md).
func Open(ctx context.Context, loc string, create bool) (store.Store, error) {
	kind, dir, err := Parse(loc)
	if err != nil {
		return nil, err
	}
	switch kind {
	case Azure:
		if create {
			return nonNil(azure.Create(ctx, loc))
		}
		return nonNil(azure.Open(ctx, loc))
	case S3:
		if create {
			return nonNil(s3.Create(ctx, loc))
		}
		return nonNil(s3.Open(ctx, loc))
	}
	if create {
		return nonNil(local.Create(dir))
	}
	st, err := local.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (run seedship init to create it): %w", err, store.ErrNotFound)
	}
	return nonNil(st, err)
}

// nonNil returns a nil interface, not one holding a nil pointer, on error.
func nonNil[T store.Store](st T, err error) (store.Store, error) {
	if err != nil {
		return nil, err
	}
	return st, nil
}
