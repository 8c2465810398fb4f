package drive

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepBatchOrder checks the write ordering with batched directory
// fsyncs and journal records: each file is fsynced before its rename, and
// before a manifest is written every renamed file's directory and the
// journal are fsynced.
func TestPrepBatchOrder(t *testing.T) {
	staging, want := makeStaging(t, 80, 100, uniform(1<<10, 8<<10))
	ds := drives(t, 4)
	o := testOptions(staging, ds, 256<<10)
	type step struct{ op, name string }
	var steps []step
	o.hooks = &hooks{bufSize: 16 << 10, op: func(op, name string) error {
		steps = append(steps, step{op, name})
		return nil
	}}
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkDrives(t, res, want, 256<<10)
	if len(res.Drives) < 2 {
		t.Fatalf("%d drives: the test needs several", len(res.Drives))
	}
	synced := map[string]bool{}   // file fsynced (under its partial name)
	unsynced := map[string]bool{} // directories with a rename not yet fsynced
	renamed, journaled := 0, true
	manifests := 0
	for _, s := range steps {
		switch s.op {
		case opSync:
			synced[s.name] = true
		case opRename:
			if s.name == ManifestName || s.name == MACName || s.name == MarkerName {
				continue
			}
			if !synced[s.name] {
				t.Fatalf("%s renamed before it was fsynced", s.name)
			}
			unsynced[path.Dir(s.name)] = true
			renamed++
			journaled = false
		case opSyncDir:
			for _, root := range ds {
				if rel, err := filepath.Rel(root, s.name); err == nil && !strings.HasPrefix(rel, "..") {
					delete(unsynced, filepath.ToSlash(rel))
				}
			}
		case opJournalSync:
			if len(unsynced) > 0 && s.name == opFile {
				t.Fatalf("file records journaled before directories %v were fsynced", unsynced)
			}
			journaled = true
		case opWrite:
			if s.name != ManifestName {
				continue
			}
			manifests++
			if len(unsynced) > 0 || !journaled {
				t.Fatalf("manifest %d written with directories %v not fsynced or files not journaled", manifests, unsynced)
			}
		}
	}
	if renamed != len(want) || manifests < len(res.Drives) {
		t.Errorf("%d renames, %d manifests; want %d and >= %d", renamed, manifests, len(want), len(res.Drives))
	}
}

// TestPrepBatchLost kills a preparation after every file was copied and
// renamed but before their batch reached the journal: the next run finds
// the files on the drive and adopts them without copying them again.
func TestPrepBatchLost(t *testing.T) {
	staging, want := makeStaging(t, 81, 20, uniform(1<<10, 8<<10))
	ds := drives(t, 1)
	var cp copies
	o := testOptions(staging, ds, 0)
	o.hooks = cp.hook(&hooks{noSync: true, op: func(op, name string) error {
		if op == opJournalWrite && name == opFile {
			return errCrash
		}
		return nil
	}})
	if _, err := Prep(context.Background(), o); !errors.Is(err, errCrash) {
		t.Fatalf("err = %v, want the injected crash", err)
	}
	journal, err := os.ReadFile(filepath.Join(staging, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(journal), `"op":"file"`); n != 0 {
		t.Fatalf("%d file records journaled, want none", n)
	}
	if got := len(cp.n); got != len(want) {
		t.Fatalf("%d files copied before the crash, want all %d", got, len(want))
	}
	o.hooks = cp.hook(&hooks{noSync: true})
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.CopiedFiles != 0 {
		t.Errorf("result %+v, want resumed with nothing copied", res)
	}
	checkDrives(t, res, want, 0)
	cp.checkOnce(t)
}
