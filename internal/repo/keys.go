package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/seedship/seedship/internal/crypto"
	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/store"
)

// KeyInfo describes one key file.
type KeyInfo struct {
	ID      oid.ID
	Current bool // the key that opened this repository
	File    *crypto.KeyFile
}

// AddKey wraps the master key with a new password and stores it as a new
// key file. It returns the key file's ID.
func (r *Repository) AddKey(ctx context.Context, password []byte) (oid.ID, error) {
	kf, err := crypto.NewKeyFile(r.key, password, r.opts.KDF, r.opts.Host, currentUser(), r.opts.Now())
	if err != nil {
		return oid.ID{}, err
	}
	b, err := kf.Marshal()
	if err != nil {
		return oid.ID{}, err
	}
	id := oid.Hash(b)
	if err := putBytes(ctx, r.st, "keys/"+id.String(), b); err != nil {
		return oid.ID{}, fmt.Errorf("write key file: %w", err)
	}
	return id, nil
}

// Keys lists the key files.
func (r *Repository) Keys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	err := r.st.List(ctx, "keys/", func(fi store.Info) error {
		id, err := oid.Parse(strings.TrimPrefix(fi.Name, "keys/"))
		if err != nil {
			return nil // not ours; ignore
		}
		b, err := store.ReadAll(ctx, r.st, fi.Name)
		if err != nil {
			return err
		}
		kf, err := crypto.ParseKeyFile(b)
		if err != nil {
			return fmt.Errorf("key %s: %w", id.Short(), err)
		}
		out = append(out, KeyInfo{ID: id, Current: id == r.keyID, File: kf})
		return nil
	})
	return out, err
}

// RemoveKey deletes a key file. The key in use and the last key cannot be
// removed.
func (r *Repository) RemoveKey(ctx context.Context, id oid.ID) error {
	keys, err := r.Keys(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, k := range keys {
		found = found || k.ID == id
	}
	switch {
	case !found:
		return fmt.Errorf("%w: %s", ErrNoKey, id.Short())
	case len(keys) == 1:
		return ErrLastKey
	case id == r.keyID:
		return fmt.Errorf("key %s opened this repository: open it with another password to remove it", id.Short())
	}
	return r.st.Delete(ctx, "keys/"+id.String())
}

// ChangePassword adds a key file for password and removes the current one.
func (r *Repository) ChangePassword(ctx context.Context, password []byte) (oid.ID, error) {
	id, err := r.AddKey(ctx, password)
	if err != nil {
		return oid.ID{}, err
	}
	old := r.keyID
	r.keyID = id
	if err := r.st.Delete(ctx, "keys/"+old.String()); err != nil {
		return id, fmt.Errorf("new key %s added, but removing the old key failed: %w", id.Short(), err)
	}
	return id, nil
}

// unlock tries every key file with password.
func unlock(ctx context.Context, st store.Store, password []byte) (*crypto.Key, oid.ID, error) {
	var names []string
	err := st.List(ctx, "keys/", func(fi store.Info) error {
		names = append(names, fi.Name)
		return nil
	})
	if err != nil {
		return nil, oid.ID{}, fmt.Errorf("list keys: %w", err)
	}
	if len(names) == 0 {
		return nil, oid.ID{}, fmt.Errorf("%w: no key files", ErrNotRepository)
	}
	var lastErr error
	for _, name := range names {
		b, err := store.ReadAll(ctx, st, name)
		if err != nil {
			lastErr = err
			continue
		}
		kf, err := crypto.ParseKeyFile(b)
		if err != nil {
			lastErr = fmt.Errorf("%s: %w", name, err)
			continue
		}
		key, err := kf.Unlock(password)
		if errors.Is(err, crypto.ErrWrongPassword) {
			continue
		}
		if err != nil {
			lastErr = fmt.Errorf("%s: %w", name, err)
			continue
		}
		id, _ := oid.Parse(strings.TrimPrefix(name, "keys/"))
		return key, id, nil
	}
	if lastErr != nil {
		return nil, oid.ID{}, fmt.Errorf("%w (and a key file could not be read: %v)", ErrWrongPassword, lastErr)
	}
	return nil, oid.ID{}, ErrWrongPassword
}

// putBytes creates name with b; an existing object with the same name is
// not an error when its content is addressed by its hash (callers decide).
func putBytes(ctx context.Context, st store.Putter, name string, b []byte) error {
	return st.Put(ctx, name, bytes.NewReader(b), int64(len(b)))
}
