package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/seedship/seedship/internal/index"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/repo"
	"github.com/seedship/seedship/internal/store"
)

// ErrOtherRepository: the vault holds a repository other than the
// staging location's.
var ErrOtherRepository = errors.New("the vault holds another repository")

// Prefixes of the repository files that make a repository's identity, and
// of its metadata (everything but the packs).
var (
	IdentityFiles = []string{"config", "keys/"}
	MetadataFiles = []string{"config", "keys/", "index/", "snapshots/"}
)

// maxMetadataFile bounds one metadata file read into memory (index files
// are a few MiB; snapshots and keys are small).
const maxMetadataFile = 256 << 20

// CopyFiles copies the files of src under the given prefixes ("config"
// is a name, the others end in "/") into dst, create-only: files dst
// already has are skipped, except config, whose bytes must be equal — a
// different config means dst is another repository (ErrOtherRepository).
// It returns how many files it copied.
func CopyFiles(ctx context.Context, src, dst store.Store, prefixes []string) (int, error) {
	n := 0
	for _, pre := range prefixes {
		var names []string
		err := src.List(ctx, pre, func(fi store.Info) error {
			if pre == "config" && fi.Name != "config" {
				return nil
			}
			names = append(names, fi.Name)
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("list %s of the staging location: %w", pre, err)
		}
		for _, name := range names {
			copied, err := copyFile(ctx, src, dst, name)
			if err != nil {
				return n, err
			}
			if copied {
				n++
			}
		}
	}
	return n, nil
}

func copyFile(ctx context.Context, src, dst store.Store, name string) (bool, error) {
	b, err := readAll(ctx, src, name, maxMetadataFile)
	if err != nil {
		return false, err
	}
	err = dst.Put(ctx, name, bytes.NewReader(b), int64(len(b)))
	if errors.Is(err, store.ErrExists) {
		if name != "config" {
			return false, nil
		}
		have, err := readAll(ctx, dst, name, maxMetadataFile)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(have, b) {
			return false, fmt.Errorf("%w: its config differs from the staging location's; the seed can only be adopted by the repository it was written for", ErrOtherRepository)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("copy %s: %w", name, err)
	}
	return true, nil
}

func readAll(ctx context.Context, st store.Store, name string, limit int64) ([]byte, error) {
	rc, err := st.Get(ctx, name, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, limit)
	}
	return b, nil
}

// Fallback is the machine's vault store while a seed travels: reads of
// packs the vault does not have yet are served from the staging location,
// so that a backup finds its parent's trees and a restore works before
// the seed is adopted. Writes and listings go to the vault only.
type Fallback struct {
	store.Store
	Staging store.Store
}

// Get implements store.Store.
func (f Fallback) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	rc, err := f.Store.Get(ctx, name, offset, length)
	if errors.Is(err, store.ErrNotFound) && strings.HasPrefix(name, "data/") {
		if rc2, err2 := f.Staging.Get(ctx, name, offset, length); err2 == nil {
			return rc2, nil
		}
	}
	return rc, err
}

// Stat implements store.Store.
func (f Fallback) Stat(ctx context.Context, name string) (store.Info, error) {
	fi, err := f.Store.Stat(ctx, name)
	if errors.Is(err, store.ErrNotFound) && strings.HasPrefix(name, "data/") {
		if fi2, err2 := f.Staging.Stat(ctx, name); err2 == nil {
			return fi2, nil
		}
	}
	return fi, err
}

// RepairResult is what Repair did.
type RepairResult struct {
	// Missing is how many packs the index listed that the vault lacked.
	Missing int
	// Resent and ResentBytes count the packs re-sent from staging.
	Resent      int
	ResentBytes int64
	// Lost are the packs that could not be re-sent; their chunks are no
	// longer indexed, so the next backup reads them from the source files.
	Lost []oid.ID
}

// maxPack bounds a pack read into memory for re-sending.
const maxPack = 1 << 30

// Repair makes the repository hold every pack its index lists: each
// missing pack is re-sent from the first staging store with an intact copy
// (its SHA-256 checked against its name), and the packs none has are
// dropped from the index (repo.DropPacks), so that the next backup reads
// their chunks again from the source files. progress, when set, is called
// after each missing pack. The caller holds a repository lock.
func Repair(ctx context.Context, r *repo.Repository, dst store.Store, stagings []store.Store, progress func(done, total int)) (RepairResult, error) {
	var res RepairResult
	missing, err := r.MissingPacks(ctx)
	if err != nil {
		return res, err
	}
	res.Missing = len(missing)
	for i, id := range missing {
		n, err := resend(ctx, dst, stagings, repo.PackName(id), id)
		switch {
		case err != nil:
			return res, err
		case n < 0:
			res.Lost = append(res.Lost, id)
		default:
			res.Resent++
			res.ResentBytes += n
		}
		if progress != nil {
			progress(i+1, len(missing))
		}
	}
	if len(res.Lost) > 0 {
		if err := r.DropPacks(ctx, res.Lost); err != nil {
			return res, err
		}
	}
	return res, nil
}

// resend copies pack name from the first staging store holding an intact
// copy into dst; -1 when none has one. Only dst's errors are errors: a
// staging copy that is missing, unreadable or damaged is skipped.
func resend(ctx context.Context, dst store.Store, stagings []store.Store, name string, id oid.ID) (int64, error) {
	for _, st := range stagings {
		b, err := readAll(ctx, st, name, maxPack)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		if oid.ID(sum) != id {
			continue
		}
		err = dst.Put(ctx, name, bytes.NewReader(b), int64(len(b)))
		if err != nil && !errors.Is(err, store.ErrExists) {
			return 0, fmt.Errorf("re-send pack %s: %w", path.Base(name), err)
		}
		return int64(len(b)), nil
	}
	return -1, nil
}

// SyncTreePacks copies the packs holding tree blobs that the repository's
// index lists but the vault lacks from the staging store: trees are a small
// part of a seed, and with them in the vault a seed snapshot survives the
// loss of a drive and of the staging location as far as its files' data
// can be read again from the sources (a lost tree could never be rebuilt:
// the directories it described have changed since). It returns how many
// packs and bytes it sent. The caller holds a repository lock.
func SyncTreePacks(ctx context.Context, r *repo.Repository, dst, staging store.Store) (int, int64, error) {
	missing, err := r.MissingPacks(ctx)
	if err != nil || len(missing) == 0 {
		return 0, 0, err
	}
	want := make(map[oid.ID]bool, len(missing))
	for _, id := range missing {
		want[id] = false
	}
	r.Index().Each(func(e index.Entry) bool {
		if e.Type == pack.TreeBlob {
			if _, ok := want[e.Pack]; ok {
				want[e.Pack] = true
			}
		}
		return true
	})
	var n int
	var bytes int64
	for _, id := range missing {
		if !want[id] {
			continue
		}
		size, err := resend(ctx, dst, []store.Store{staging}, repo.PackName(id), id)
		if err != nil {
			return n, bytes, err
		}
		if size >= 0 {
			n++
			bytes += size
		}
	}
	return n, bytes, nil
}
