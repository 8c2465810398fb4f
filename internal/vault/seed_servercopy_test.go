package vault

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/local"
	"github.com/seedship/seedship/internal/store/mem"
	"github.com/seedship/seedship/internal/store/retry"
)

// newLinkWorld is a seed world whose repositories are kept in the local
// store vault and whose storage account is the local store sa (or src when
// not nil), both on one file system.
func newLinkWorld(t *testing.T, wrap func(store.Store) store.Store, src store.Store) (w *seedWorld, vault, sa *local.Store) {
	root := t.TempDir()
	var err error
	if vault, err = local.Create(filepath.Join(root, "objects")); err != nil {
		t.Fatal(err)
	}
	if sa, err = local.Create(filepath.Join(root, "sa1")); err != nil {
		t.Fatal(err)
	}
	if src == nil {
		src = sa
	}
	w = newSeedWorld(t, func(c *ServerConfig) {
		c.Store = wrap(vault)
		c.OpenStorage = func(context.Context, string) (store.Store, error) { return src, nil }
	})
	return w, vault, sa
}

// putAll creates files in st under prefix.
func putAll(t *testing.T, st store.Store, prefix string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := st.Put(context.Background(), prefix+name, bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}
}

// linked reports whether the object name of a and of b are one file.
func linked(t *testing.T, a *local.Store, an string, b *local.Store, bn string) bool {
	t.Helper()
	fa, err1 := os.Stat(filepath.Join(a.Dir(), filepath.FromSlash(an)))
	fb, err2 := os.Stat(filepath.Join(b.Dir(), filepath.FromSlash(bn)))
	if err1 != nil || err2 != nil {
		t.Fatalf("stat %s, %s: %v, %v", an, bn, err1, err2)
	}
	return os.SameFile(fa, fb)
}

func TestAdoptLinksLocalSeed(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(store.Store) store.Store
	}{
		{"local", func(st store.Store) store.Store { return st }},
		{"local behind retry", func(st store.Store) store.Store { return retry.New(st, retry.Options{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, vault, sa := newLinkWorld(t, tc.wrap, nil)
			ctx := context.Background()
			w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
			files := w.repoFiles()
			good := len(files)
			wantWhy := w.damagedSeed(files)
			putAll(t, sa, "c-seed/", files)

			rep, err := w.f.machineClient(w.m1).Adopt(ctx, "seed", "")
			if err != nil {
				t.Fatal(err)
			}
			if rep.Copied != good || rep.Files != len(files) || len(rep.Damaged) != len(wantWhy) || !rep.Done {
				t.Errorf("Adopt = %+v, want %d copied and %d damaged", rep, good, len(wantWhy))
			}
			prefix := repoPrefix(w.m1.VaultID, w.m1.MachineID)
			repo := objects(t, vault, prefix)
			for _, d := range rep.Damaged {
				if want := wantWhy[d.Name]; want == "" || !strings.Contains(d.Reason, want) {
					t.Errorf("damaged %s: %q, want %q", d.Name, d.Reason, want)
				}
				if _, ok := repo[d.Name]; ok {
					t.Errorf("damaged %s appeared in the repository", d.Name)
				}
			}
			for name, b := range files {
				if _, bad := wantWhy[name]; bad {
					continue
				}
				if !bytes.Equal(repo[name], b) {
					t.Errorf("repository %s = %d bytes, want the seed's %d", name, len(repo[name]), len(b))
				}
				if name != "config" && !linked(t, sa, "c-seed/"+name, vault, prefix+name) {
					t.Errorf("repository %s is not a hard link of the seed's", name)
				}
			}
			noTempFiles(t, vault.Dir())
			if !strings.Contains(w.f.logs.String(), "copied within the store") {
				t.Errorf("no log of the copies within the store")
			}
		})
	}
}

// A second adopt finds the linked objects present; cleaning the container
// up leaves the repository's names.
func TestAdoptLinkedThenCleanup(t *testing.T) {
	w, vault, sa := newLinkWorld(t, func(st store.Store) store.Store { return st }, nil)
	ctx := context.Background()
	w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
	files := w.repoFiles()
	putAll(t, sa, "c-seed/", files)
	c := w.f.machineClient(w.m1)
	if _, err := c.Adopt(ctx, "seed", ""); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Adopt(ctx, "seed", "")
	if err != nil || rep.Present != len(files) || rep.Copied != 0 {
		t.Fatalf("second Adopt = %+v, %v; want all %d present", rep, err, len(files))
	}
	if _, err := c.CleanupContainer(ctx, "seed", ""); err != nil {
		t.Fatal(err)
	}
	if left := objects(t, sa, "c-seed/"); len(left) != 0 {
		t.Errorf("container after cleanup holds %d objects, want none", len(left))
	}
	got := objects(t, vault, repoPrefix(w.m1.VaultID, w.m1.MachineID))
	for name, b := range files {
		if !bytes.Equal(got[name], b) {
			t.Errorf("repository %s after cleanup = %d bytes, want %d", name, len(got[name]), len(b))
		}
	}
}

// A local repository store falls back to streaming from a container it
// cannot link from.
func TestAdoptCopyFallback(t *testing.T) {
	src := mem.New()
	w, vault, _ := newLinkWorld(t, func(st store.Store) store.Store { return st }, src)
	ctx := context.Background()
	w.f.seedJob(w.acme.AccountID, "seed", "", "", true)
	files := w.repoFiles()
	good := len(files)
	wantWhy := w.damagedSeed(files)
	putAll(t, src, "c-seed/", files)
	rep, err := w.f.machineClient(w.m1).Adopt(ctx, "seed", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != good || len(rep.Damaged) != len(wantWhy) {
		t.Errorf("Adopt = %+v, want %d copied and %d damaged", rep, good, len(wantWhy))
	}
	repo := objects(t, vault, repoPrefix(w.m1.VaultID, w.m1.MachineID))
	if len(repo) != good {
		t.Errorf("repository holds %d objects, want %d", len(repo), good)
	}
	if strings.Contains(w.f.logs.String(), "copied within the store") {
		t.Errorf("copies within the store logged for a memory container")
	}
}

// noTempFiles fails the test when a temporary file of the local store is
// left below dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			return fmt.Errorf("temporary file %s left behind", p)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}
