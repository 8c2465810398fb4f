package repo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/pack"
	"github.com/seedship/seedship/internal/snapshot"
	"github.com/seedship/seedship/internal/store"
)

// Kinds of files stored outside packs, each under its own prefix.
const (
	KindIndex     = "index"
	KindSnapshots = "snapshots"
	KindLocks     = "locks"
)

// Errors about snapshots.
var (
	ErrNoSnapshot        = errors.New("no matching snapshot")
	ErrAmbiguousSnapshot = errors.New("snapshot ID prefix is ambiguous")
)

// SaveUnpacked seals plain and stores it as kind/<id>, where id is the
// SHA-256 of the stored bytes.
func (r *Repository) SaveUnpacked(ctx context.Context, kind string, plain []byte) (oid.ID, error) {
	sealed := r.key.Seal(nil, plain, nil)
	id := oid.Hash(sealed)
	err := putBytes(ctx, r.st, kind+"/"+id.String(), sealed)
	if err != nil && !errors.Is(err, store.ErrExists) {
		return oid.ID{}, fmt.Errorf("save %s %s: %w", kind, id.Short(), err)
	}
	return id, nil
}

// LoadUnpacked reads kind/<id>, checks its hash and decrypts it.
func (r *Repository) LoadUnpacked(ctx context.Context, kind string, id oid.ID) ([]byte, error) {
	name := kind + "/" + id.String()
	b, err := store.ReadAll(ctx, r.st, name)
	if err != nil {
		return nil, err
	}
	if oid.Hash(b) != id {
		return nil, fmt.Errorf("%s: %w: content does not match its name", name, ErrCorrupt)
	}
	plain, err := r.key.Open(nil, b, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return plain, nil
}

// List returns the IDs of all files of a kind.
func (r *Repository) List(ctx context.Context, kind string) ([]oid.ID, error) {
	var ids []oid.ID
	err := r.st.List(ctx, kind+"/", func(fi store.Info) error {
		if id, err := oid.Parse(strings.TrimPrefix(fi.Name, kind+"/")); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return ids, nil
}

// SaveTree stores a tree blob.
func (r *Repository) SaveTree(ctx context.Context, t *snapshot.Tree) (oid.ID, error) {
	b, err := snapshot.EncodeTree(t)
	if err != nil {
		return oid.ID{}, err
	}
	id, _, err := r.SaveBlob(ctx, pack.TreeBlob, b)
	return id, err
}

// LoadTree loads and decodes a tree blob.
func (r *Repository) LoadTree(ctx context.Context, id oid.ID) (*snapshot.Tree, error) {
	b, err := r.LoadBlob(ctx, pack.TreeBlob, id, nil)
	if err != nil {
		return nil, fmt.Errorf("load tree %s: %w", id.Short(), err)
	}
	t, err := snapshot.DecodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id.Short(), err)
	}
	return t, nil
}

// SaveSnapshot stores a snapshot and sets its ID.
func (r *Repository) SaveSnapshot(ctx context.Context, s *snapshot.Snapshot) (oid.ID, error) {
	b, err := s.Marshal()
	if err != nil {
		return oid.ID{}, err
	}
	id, err := r.SaveUnpacked(ctx, KindSnapshots, b)
	if err == nil {
		s.ID = id
	}
	return id, err
}

// LoadSnapshot loads one snapshot.
func (r *Repository) LoadSnapshot(ctx context.Context, id oid.ID) (*snapshot.Snapshot, error) {
	b, err := r.LoadUnpacked(ctx, KindSnapshots, id)
	if err != nil {
		return nil, err
	}
	s, err := snapshot.ParseSnapshot(b)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", id.Short(), err)
	}
	s.ID = id
	return s, nil
}

// DeleteSnapshot removes a snapshot (its data stays until prune).
func (r *Repository) DeleteSnapshot(ctx context.Context, id oid.ID) error {
	return r.st.Delete(ctx, KindSnapshots+"/"+id.String())
}

// Snapshots loads every snapshot, oldest first.
func (r *Repository) Snapshots(ctx context.Context) ([]*snapshot.Snapshot, error) {
	ids, err := r.List(ctx, KindSnapshots)
	if err != nil {
		return nil, err
	}
	snaps := make([]*snapshot.Snapshot, len(ids))
	err = parallel(ctx, len(ids), 4, func(i int) error {
		s, err := r.LoadSnapshot(ctx, ids[i])
		snaps[i] = s
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
	return snaps, nil
}

// FindSnapshot resolves "latest" or a unique ID prefix to a snapshot.
func (r *Repository) FindSnapshot(ctx context.Context, ref string) (*snapshot.Snapshot, error) {
	if ref == "latest" {
		snaps, err := r.Snapshots(ctx)
		if err != nil {
			return nil, err
		}
		if len(snaps) == 0 {
			return nil, fmt.Errorf("%w: the repository has no snapshots", ErrNoSnapshot)
		}
		return snaps[len(snaps)-1], nil
	}
	ids, err := r.List(ctx, KindSnapshots)
	if err != nil {
		return nil, err
	}
	var match []oid.ID
	for _, id := range ids {
		if strings.HasPrefix(id.String(), strings.ToLower(ref)) {
			match = append(match, id)
		}
	}
	switch {
	case ref == "" || len(match) == 0:
		return nil, fmt.Errorf("%w: %q (list them with \"seedship snapshots\")", ErrNoSnapshot, ref)
	case len(match) > 1:
		return nil, fmt.Errorf("%w: %q matches %d snapshots: give more digits", ErrAmbiguousSnapshot, ref, len(match))
	}
	return r.LoadSnapshot(ctx, match[0])
}
