package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/verify"
)

const (
	// importLogsDir is where, inside a container, the datacenter import
	// keeps its logs (importer.LogsDir; vault does not import the
	// importer). No repository file can be named like it.
	importLogsDir = "seedship-import-logs"
	// maxConfigSize bounds a repository config read whole for comparison.
	maxConfigSize = 64 << 10
)

// errSeedMismatch: a seed object's bytes differ from what its name says.
var errSeedMismatch = errors.New("does not match its name")

// seedMismatch is the reason a seed object was refused by a verify.Reader
// (verify.ErrMismatch).
func seedMismatch(err error) string {
	return fmt.Sprintf("%v: the object %v", errSeedMismatch, err)
}

// seedSource is an import job's storage container.
type seedSource struct {
	st     store.Store
	job    importjob.Job
	prefix string // "<container>/"
}

// pending returns the container's objects named after after (names
// relative to the container), sorted, without the import logs.
func (src *seedSource) pending(ctx context.Context, after string) ([]store.Info, error) {
	var out []store.Info
	err := src.st.List(ctx, src.prefix, func(fi store.Info) error {
		rel, ok := strings.CutPrefix(fi.Name, src.prefix)
		if !ok {
			return fmt.Errorf("list %s: store returned %s outside the prefix", src.prefix, fi.Name)
		}
		if rel > after && !strings.HasPrefix(rel, importLogsDir+"/") {
			out = append(out, store.Info{Name: rel, Size: fi.Size})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import job %s: list its container: %w", src.job.Name, err)
	}
	slices.SortFunc(out, func(a, b store.Info) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// repoFile reports whether name is a repository file a seed may carry and,
// for a content-named one, the SHA-256 its name promises ("" for config).
func repoFile(name string) (sha string, ok bool) {
	if name == "config" {
		return "", true
	}
	dir, base, _ := strings.Cut(name, "/")
	switch dir {
	case "keys", "index", "snapshots":
		return base, isLowerHex(base) && len(base) == 64
	case "data":
		hh, base, _ := strings.Cut(base, "/")
		return base, len(hh) == 2 && isLowerHex(base) && len(base) == 64 && base[:2] == hh
	}
	return "", false
}

// batch bounds one adopt or cleanup call.
type batch struct {
	lim    Limits
	now    func() time.Time
	stopAt time.Time
}

// newBatch starts a batch: it ends after SeedBatchTime, or half of what is
// left of the request's time, whichever comes first.
func (s *Server) newBatch(ctx context.Context) *batch {
	budget := s.cfg.Limits.SeedBatchTime
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)/2)
	}
	return &batch{lim: s.cfg.Limits, now: s.cfg.Now, stopAt: s.cfg.Now().Add(budget)}
}

// full reports whether the batch should end after n objects and bytes
// copied.
func (b *batch) full(n int, bytes int64) bool {
	return n >= b.lim.SeedBatchObjects || bytes >= b.lim.SeedBatchBytes || !b.now().Before(b.stopAt)
}

// adoptOutcome is what happened to one seed object.
type adoptOutcome int

const (
	absent adoptOutcome = iota // not in the repository (yet)
	copied
	copiedInStore // copied by the store itself (store.Copier)
	present
	damaged
)

// adopt copies the container's repository files named after after into
// rp, one batch.
func (s *Server) adopt(ctx context.Context, rp repo, src *seedSource, after string) (*AdoptReport, error) {
	names, err := src.pending(ctx, after)
	if err != nil {
		return nil, err
	}
	rep := &AdoptReport{Job: src.job.Name, State: src.job.State, Damaged: []Damaged{}}
	b := s.newBatch(ctx)
	defer func() { s.logCopiedInStore(src, rep.ServerCopied) }()
	for _, fi := range names {
		if rep.Files > 0 && b.full(rep.Files, rep.Bytes) {
			return rep, nil
		}
		o, why, err := s.adoptOne(ctx, rp, src, fi)
		if err != nil {
			return nil, err
		}
		switch o {
		case copiedInStore:
			rep.ServerCopied++
			fallthrough
		case copied:
			rep.Copied++
			rep.Bytes += fi.Size
		case present:
			rep.Present++
		default:
			rep.Damaged = append(rep.Damaged, Damaged{Name: fi.Name, Reason: why})
		}
		rep.Files++
		rep.Next = fi.Name
	}
	rep.Next, rep.Done = "", true
	return rep, nil
}

// adoptOne adopts one container object. A problem of the object is an
// outcome (damaged, with the reason); an error is a problem of a store or
// the context and ends the call.
func (s *Server) adoptOne(ctx context.Context, rp repo, src *seedSource, fi store.Info) (adoptOutcome, string, error) {
	sha, ok := repoFile(fi.Name)
	switch {
	case !ok:
		return damaged, "not a repository file", nil
	case fi.Size > s.cfg.Limits.MaxObjectSize:
		return damaged, fmt.Sprintf("%d bytes: larger than the vault's object size limit of %d", fi.Size, s.cfg.Limits.MaxObjectSize), nil
	case sha == "":
		return s.adoptConfig(ctx, rp, src, fi)
	}
	key := rp.prefix + fi.Name
	if o, why, err := s.inRepo(ctx, key, fi.Size); o != absent || err != nil {
		return o, why, err
	}
	if fi.Size == 0 {
		// A store may create an empty object without reading: check first.
		if err := verify.CheckEmpty(sha); err != nil {
			return damaged, seedMismatch(err), nil
		}
	}
	if o, why, err := s.copyInStore(ctx, rp, src, fi, sha); o != absent || err != nil {
		return o, why, err
	}
	return s.stream(ctx, rp, src, fi, sha)
}

// logCopiedInStore notes how many objects of a batch the store copied
// itself.
func (s *Server) logCopiedInStore(src *seedSource, n int) {
	if n > 0 {
		s.cfg.Logger.Debug("seed objects copied within the store", slog.String("job", src.job.Name), slog.Int("objects", n))
	}
}

// copyInStore adopts a content-named object by a server-side copy when
// the vault's store can copy from the container's (store.Copier): the
// store reads the source once through the SHA-256 check, then copies the
// very version it checked (a hard link of the checked file, an ETag-pinned
// cloud copy), so the bytes are read once and never written through this
// process. absent, without error, when the store cannot copy from the
// container: the caller streams the object instead.
func (s *Server) copyInStore(ctx context.Context, rp repo, src *seedSource, fi store.Info, sha string) (adoptOutcome, string, error) {
	c, ok := s.cfg.Store.(store.Copier)
	if !ok {
		return absent, "", nil
	}
	var v *verify.Reader
	check := func(r io.Reader) error {
		v = verify.NewReader(r, fi.Size, sha)
		_, err := io.Copy(io.Discard, v)
		return err
	}
	key := rp.prefix + fi.Name
	err := c.Copy(ctx, key, src.st, src.prefix+fi.Name, check)
	switch {
	case err == nil:
		s.usage.add(rp.vaultID, fi.Size, 1)
		return copiedInStore, "", nil
	case errors.Is(err, store.ErrNotSupported):
		return absent, "", nil
	case v != nil && errors.Is(v.Err(), verify.ErrMismatch):
		return damaged, seedMismatch(v.Err()), nil
	case errors.Is(err, store.ErrNotFound) && src.gone(ctx, fi.Name):
		return damaged, "disappeared from the container", nil
	case errors.Is(err, store.ErrExists):
		return s.inRepo(ctx, key, fi.Size)
	}
	return absent, "", fmt.Errorf("adopt %s: %w", fi.Name, err)
}

// gone reports whether the container no longer holds name (and not, say,
// that the repository's bucket is missing).
func (src *seedSource) gone(ctx context.Context, name string) bool {
	_, err := src.st.Stat(ctx, src.prefix+name)
	return errors.Is(err, store.ErrNotFound)
}

// stream adopts a content-named object by reading it from the container
// and writing it into the repository through the SHA-256 check.
func (s *Server) stream(ctx context.Context, rp repo, src *seedSource, fi store.Info, sha string) (adoptOutcome, string, error) {
	key := rp.prefix + fi.Name
	rc, err := src.st.Get(ctx, src.prefix+fi.Name, 0, -1)
	if errors.Is(err, store.ErrNotFound) {
		return damaged, "disappeared from the container", nil
	}
	if err != nil {
		return absent, "", fmt.Errorf("adopt %s: %w", fi.Name, err)
	}
	defer rc.Close()
	v := verify.NewReader(rc, fi.Size, sha)
	err = s.cfg.Store.Put(ctx, key, v, fi.Size)
	switch {
	case err == nil:
		s.usage.add(rp.vaultID, fi.Size, 1)
		return copied, "", nil
	case errors.Is(v.Err(), verify.ErrMismatch):
		return damaged, seedMismatch(v.Err()), nil
	case errors.Is(err, store.ErrExists):
		return s.inRepo(ctx, key, fi.Size)
	}
	return absent, "", fmt.Errorf("adopt %s: %w", fi.Name, err)
}

// inRepo reports whether the repository holds a content-named object
// already: present with the seed's size (same name, same content), damaged
// with another size.
func (s *Server) inRepo(ctx context.Context, key string, size int64) (adoptOutcome, string, error) {
	fi, err := s.cfg.Store.Stat(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return absent, "", nil
	case err != nil:
		return absent, "", err
	case fi.Size != size:
		return damaged, fmt.Sprintf("the repository holds it with %d bytes, the seed with %d", fi.Size, size), nil
	}
	return present, "", nil
}

// adoptConfig adopts the config, which its name cannot check: the
// repository's own config must be identical, else the seed is another
// repository's.
func (s *Server) adoptConfig(ctx context.Context, rp repo, src *seedSource, fi store.Info) (adoptOutcome, string, error) {
	if fi.Size > maxConfigSize {
		return damaged, fmt.Sprintf("%d bytes: too large for a repository config", fi.Size), nil
	}
	seed, err := readSmall(ctx, src.st, src.prefix+fi.Name)
	if errors.Is(err, store.ErrNotFound) {
		return damaged, "disappeared from the container", nil
	}
	if err != nil {
		return absent, "", err
	}
	key := rp.prefix + fi.Name
	for range 2 { // a second look when a concurrent call created it
		o, why, err := s.sameConfig(ctx, key, seed)
		if o != absent || err != nil {
			return o, why, err
		}
		err = s.cfg.Store.Put(ctx, key, bytes.NewReader(seed), int64(len(seed)))
		if err == nil {
			s.usage.add(rp.vaultID, int64(len(seed)), 1)
			return copied, "", nil
		}
		if !errors.Is(err, store.ErrExists) {
			return absent, "", fmt.Errorf("adopt config: %w", err)
		}
	}
	return absent, "", fmt.Errorf("adopt config: %w and cannot be read", store.ErrExists)
}

// sameConfig compares the repository's config, if any, with the seed's.
func (s *Server) sameConfig(ctx context.Context, key string, seed []byte) (adoptOutcome, string, error) {
	have, err := readSmall(ctx, s.cfg.Store, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return absent, "", nil
	case err != nil:
		return absent, "", err
	case !bytes.Equal(have, seed):
		return damaged, "config of another repository", nil
	}
	return present, "", nil
}

// readSmall reads an object of at most maxConfigSize bytes.
func readSmall(ctx context.Context, st store.Getter, name string) ([]byte, error) {
	rc, err := st.Get(ctx, name, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("read %s: more than %d bytes", name, maxConfigSize)
	}
	return b, nil
}

// cleanup deletes, one batch, the container objects named after after
// that the repository holds identically, and at the end the job's import
// logs.
func (s *Server) cleanup(ctx context.Context, rp repo, src *seedSource, after string) (*CleanupReport, error) {
	names, err := src.pending(ctx, after)
	if err != nil {
		return nil, err
	}
	rep := &CleanupReport{Kept: []Damaged{}}
	b := s.newBatch(ctx)
	for i, fi := range names {
		if i > 0 && b.full(i, 0) {
			return rep, nil
		}
		why, err := s.cleanOne(ctx, rp, src, fi)
		if err != nil {
			return nil, err
		}
		if why != "" {
			rep.Kept = append(rep.Kept, Damaged{Name: fi.Name, Reason: why})
		} else {
			rep.Deleted++
		}
		rep.Next = fi.Name
	}
	n, err := src.deleteLogs(ctx)
	if err != nil {
		return nil, err
	}
	rep.Deleted += n
	rep.Next, rep.Done = "", true
	return rep, nil
}

// cleanOne deletes one container object if the repository holds it, or
// says why it stays.
func (s *Server) cleanOne(ctx context.Context, rp repo, src *seedSource, fi store.Info) (string, error) {
	sha, ok := repoFile(fi.Name)
	if !ok {
		return "not a repository file", nil
	}
	var o adoptOutcome
	var why string
	var err error
	switch {
	case sha == "" && fi.Size > maxConfigSize:
		return fmt.Sprintf("%d bytes: too large for a repository config", fi.Size), nil
	case sha == "":
		o, why, err = s.configAdopted(ctx, rp, src, fi)
	default:
		o, why, err = s.inRepo(ctx, rp.prefix+fi.Name, fi.Size)
	}
	switch {
	case err != nil:
		return "", err
	case o == absent:
		return "not in the repository", nil
	case o != present:
		return why, nil
	}
	if err := src.st.Delete(ctx, src.prefix+fi.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("import job %s: delete %s from its container: %w", src.job.Name, fi.Name, err)
	}
	return "", nil
}

// configAdopted compares the container's config with the repository's.
func (s *Server) configAdopted(ctx context.Context, rp repo, src *seedSource, fi store.Info) (adoptOutcome, string, error) {
	seed, err := readSmall(ctx, src.st, src.prefix+fi.Name)
	if errors.Is(err, store.ErrNotFound) {
		return absent, "", nil
	}
	if err != nil {
		return absent, "", err
	}
	return s.sameConfig(ctx, rp.prefix+fi.Name, seed)
}

// deleteLogs deletes the job's import logs from its container.
func (src *seedSource) deleteLogs(ctx context.Context) (int, error) {
	prefix := src.prefix + importLogsDir + "/" + src.job.Name + "/"
	var names []string
	err := src.st.List(ctx, prefix, func(fi store.Info) error {
		names = append(names, fi.Name)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("import job %s: list its import logs: %w", src.job.Name, err)
	}
	n := 0
	for _, name := range names {
		err := src.st.Delete(ctx, name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, fmt.Errorf("import job %s: delete import log %s: %w", src.job.Name, name, err)
		}
		if err == nil {
			n++
		}
	}
	return n, nil
}
