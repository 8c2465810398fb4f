package azure

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seedship/seedship/internal/store"
)

// Scheme is the location prefix of Azure Blob repositories.
const Scheme = "azure:"

// ErrLocation reports a malformed azure: location.
var ErrLocation = errors.New("invalid azure location")

// Location is a parsed repository location azure:CONTAINER[/PREFIX].
type Location struct {
	Container string
	Prefix    string // "" or slash-separated segments without leading/trailing slash
}

// ParseLocation parses "azure:CONTAINER[/PREFIX]".
func ParseLocation(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return Location{}, fmt.Errorf("%w %q: want azure:CONTAINER[/PREFIX]", ErrLocation, s)
	}
	container, prefix, _ := strings.Cut(rest, "/")
	prefix = strings.TrimSuffix(prefix, "/")
	if err := validContainer(container); err != nil {
		return Location{}, fmt.Errorf("%w %q: %v", ErrLocation, s, err)
	}
	if prefix != "" {
		if err := store.ValidName(prefix); err != nil {
			return Location{}, fmt.Errorf("%w %q: prefix: %v", ErrLocation, s, err)
		}
	}
	return Location{Container: container, Prefix: prefix}, nil
}

// String returns the location in the form ParseLocation accepts.
func (l Location) String() string {
	if l.Prefix == "" {
		return Scheme + l.Container
	}
	return Scheme + l.Container + "/" + l.Prefix
}

// validContainer applies Azure's container naming rules: 3 to 63 lowercase
// letters, digits and hyphens, starting with a letter or digit, no two
// hyphens in a row, not ending with a hyphen.
func validContainer(c string) error {
	if len(c) < 3 || len(c) > 63 {
		return fmt.Errorf("container name %q must be 3 to 63 characters long", c)
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
		case ch == '-' && i > 0 && i < len(c)-1 && c[i-1] != '-':
		default:
			return fmt.Errorf("container name %q: only lowercase letters, digits and single hyphens inside the name are allowed", c)
		}
	}
	return nil
}
