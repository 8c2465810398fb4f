package archiver

import (
	"errors"
	"slices"
	"testing"
)

func TestCleanPaths(t *testing.T) {
	got, err := CleanPaths([]string{"/a/b", "/a b", "/a", "/ab/", "/a/../c//d", "/a"})
	if want := []string{"/a", "/a b", "/ab", "/c/d"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("CleanPaths = %q, %v; want %q", got, err, want)
	}
	if _, err := CleanPaths(nil); !errors.Is(err, ErrNoPaths) {
		t.Errorf("CleanPaths(nil) error = %v, want ErrNoPaths", err)
	}
}
