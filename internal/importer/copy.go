package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/verify"
)

// LogsDir is the top-level name, inside a container, of the import logs.
// Manifest paths cannot start with "seedship-" (drive.CheckPath), so no
// drive file can collide with a log.
const LogsDir = "seedship-import-logs"

// errMismatch: a file on the drive differs from its manifest entry.
var errMismatch = errors.New("differs from the manifest")

// ObjectName returns the object name of manifest path p in container:
// "CONTAINER/p". It fails unless p passes drive.CheckPath, the container is
// a valid object name, and the result is a valid object name (at most 1024
// bytes): a name it returns always lies below "CONTAINER/" and never in
// the container's LogsDir.
func ObjectName(container, p string) (string, error) {
	if err := store.ValidName(container); err != nil {
		return "", fmt.Errorf("container %q: %w", container, err)
	}
	if err := drive.CheckPath(p); err != nil {
		return "", err
	}
	name := container + "/" + p
	if err := store.ValidName(name); err != nil {
		return "", fmt.Errorf("%w: %q in container %s: %v", drive.ErrPath, p, container, err)
	}
	return name, nil
}

// LogPrefix is the folder, inside the container, of a drive's logs.
func LogPrefix(container, job, driveID string) string {
	return container + "/" + LogsDir + "/" + job + "/" + driveID
}

// driveErr says what went wrong reading file f through a verify.Reader:
// a mismatch with the manifest, or an error of the drive.
func driveErr(f drive.File, err error) error {
	if errors.Is(err, verify.ErrMismatch) {
		return fmt.Errorf("%w: file %s %w", errMismatch, f.Path, err)
	}
	return fmt.Errorf("read %s from the drive: %w", f.Path, err)
}

// outcome is what happened to one file.
type outcome int

const (
	copied outcome = iota
	skipped
	failed
)

// openChecked opens a manifest file on the drive, without following
// links, and checks its size against the manifest. A problem is returned as
// a reason (the file failed), never as an error.
func openChecked(root string, f drive.File) (*os.File, string) {
	r, err := drive.OpenNoFollow(root, f.Path)
	if err != nil {
		return nil, err.Error()
	}
	fi, err := r.Stat()
	why := ""
	switch {
	case err != nil:
		why = err.Error()
	case fi.Size() != f.Size:
		why = fmt.Sprintf("%v: file %s has %d bytes on the drive, the manifest says %d", errMismatch, f.Path, fi.Size(), f.Size)
	case f.Size == 0:
		// A store may create an empty object without reading: check first.
		if err := verify.CheckEmpty(f.SHA256); err != nil {
			why = driveErr(f, err).Error()
		}
	}
	if why != "" {
		r.Close()
		return nil, why
	}
	return r, ""
}

// putStream copies a file too large to hold in memory into the store as
// name, through a verify.Reader. A problem of the file or the drive is an
// outcome (failed, with the reason); an error is a problem of the store or
// the context and stops the import.
func putStream(ctx context.Context, st store.Store, root, name string, f drive.File) (outcome, string, error) {
	r, why := openChecked(root, f)
	if why != "" {
		return failed, why, nil
	}
	defer r.Close()
	v := verify.NewReader(r, f.Size, f.SHA256)
	err := st.Put(ctx, name, v, f.Size)
	if err != nil && v.Err() != nil {
		return failed, driveErr(f, v.Err()).Error(), nil
	}
	return putDone(ctx, st, name, f, err)
}

// putVerified stores data, the verified content of file f, as name: a
// seekable body, which the cloud stores send in one request.
func putVerified(ctx context.Context, st store.Store, name string, f drive.File, data []byte) (outcome, string, error) {
	return putDone(ctx, st, name, f, st.Put(ctx, name, bytes.NewReader(data), f.Size))
}

// putDone turns the store's answer to a Put into an outcome.
func putDone(ctx context.Context, st store.Store, name string, f drive.File, err error) (outcome, string, error) {
	switch {
	case err == nil:
		return copied, "", nil
	case errors.Is(err, store.ErrExists):
		o, why, err := existing(ctx, st, name, f)
		if o == failed && why == "" && err == nil {
			return failed, fmt.Sprintf("put %s: exists but cannot be found", name), nil
		}
		return o, why, err
	}
	return failed, "", fmt.Errorf("copy %s to %s: %w", f.Path, name, err)
}

// existing reports an object already in the container: skipped with the
// right size (an earlier attempt copied it, and objects become visible only
// verified), failed with another size. (failed, "", nil): not there.
func existing(ctx context.Context, st store.Store, name string, f drive.File) (outcome, string, error) {
	info, err := st.Stat(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return failed, "", nil
	case err != nil:
		return failed, "", fmt.Errorf("stat %s: %w", name, err)
	case info.Size != f.Size:
		return failed, fmt.Sprintf("object %s already exists with %d bytes, the manifest says %d: not overwritten", name, info.Size, f.Size), nil
	}
	return skipped, "", nil
}

// quote makes an untrusted name safe for one log line.
func quote(s string) string {
	q := fmt.Sprintf("%q", s)
	if q[1:len(q)-1] == s && !strings.ContainsAny(s, " \t") {
		return s
	}
	return q
}
