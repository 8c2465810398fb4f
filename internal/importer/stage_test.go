package importer

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/faulty"
	"github.com/seedship/seedship/internal/store/local"
)

// TestBufferedAndStreamed: with a buffer limit inside the packs' sizes,
// some files are read into memory before their Put and others streamed; a
// corrupt file of either kind fails and never appears in the container.
func TestBufferedAndStreamed(t *testing.T) {
	const limit = 6 << 10
	e := newEnv(t)
	j := e.addJob("seed-1", 8, 12, 1<<20)
	d := j.drives[0]
	var small, large string
	for _, f := range manifestOf(t, d, j.key).Files {
		switch {
		case f.Size > limit:
			large = f.Path
		case f.Size > 0 && filepath.Dir(filepath.Dir(f.Path)) == "data":
			small = f.Path
		}
	}
	if small == "" || large == "" {
		t.Fatalf("no pack below and above %d bytes on the drive", limit)
	}
	corrupt(t, filepath.Join(d.Path, small))
	corrupt(t, filepath.Join(d.Path, large))
	im := e.importer("st1")
	im.bufferLimit = limit
	receiveAll(t, im, j)
	res, err := im.Import(context.Background(), testAccount, j.name, d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != importjob.DriveCompletedMoreInfo || res.FilesFailed != 2 || res.FilesCopied != d.Files-2 {
		t.Errorf("result %+v, want CompletedMoreInfo with 2 failed files", res)
	}
	e.checkImported(j, d, small, large)
	mustContain(t, "errors.log", e.readObject(res.ErrorLog), "failed "+small+": ", "failed "+large+": ", "SHA-256")
}

// TestStoreFailureStopsImport: a store error, in a lookup ahead of the
// Puts or in a Put, stops the import and gives the claim back; the next
// run finishes the drive, skipping what was stored.
func TestStoreFailureStopsImport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rule   faulty.Rule
		stored int // files surely stored before the failure
	}{
		{"stat", faulty.Rule{Op: faulty.OpStat, Nth: 4}, 3},
		{"put", faulty.Rule{Op: faulty.OpPut, Nth: 3}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			j := e.addJob("seed-1", 9, 12, 1<<20)
			d := j.drives[0]
			im := e.importer("st1")
			receiveAll(t, im, j)
			fs := faulty.New(e.st, faulty.WithRules(tc.rule))
			im.OpenStore = func(context.Context, string) (store.Store, error) { return fs, nil }
			if _, err := im.Import(context.Background(), testAccount, j.name, d.Path); !errors.Is(err, faulty.ErrInjected) {
				t.Fatalf("Import with a failing %s = %v, want ErrInjected", tc.name, err)
			}
			jb := e.job(j.name)
			if jd := jb.Drive(d.ID); jd.State != importjob.DriveReceived || jd.Claim != "" {
				t.Errorf("drive after the failure %+v, want Received and unclaimed", jd)
			}
			im.OpenStore = func(_ context.Context, loc string) (store.Store, error) { return local.Open(loc) }
			res, err := im.Import(context.Background(), testAccount, j.name, d.Path)
			if err != nil {
				t.Fatal(err)
			}
			// The Puts in flight beside the failed one may have finished.
			most := tc.stored
			if tc.rule.Op == faulty.OpPut {
				most += putsInFlight - 1
			}
			if n := res.FilesSkipped; res.State != importjob.DriveCompleted || n < tc.stored || n > most || res.FilesCopied != d.Files-n {
				t.Errorf("second import %+v, want Completed with %d to %d skipped", res, tc.stored, most)
			}
			e.checkImported(j, d)
		})
	}
}

// TestReadVerified: the file must have exactly the manifest's size and
// hash; an empty file reads as empty.
func TestReadVerified(t *testing.T) {
	root, _ := handDrive(t, make([]byte, 32), "x", map[string]string{"a": "hello", "e": ""}, nil)
	for _, tc := range []struct {
		f       drive.File
		bufSize int
		want    string // a reason fragment; "" for success
	}{
		{entry("a", "hello"), 5, ""},
		{entry("e", ""), 0, ""},
		{entry("a", "hellO"), 5, "SHA-256"},
		{entry("a", "hello!"), 6, "6"},
		{entry("missing", "x"), 1, "missing"},
		{entry("e", "x"), 1, "0 bytes"},
	} {
		data, why := readVerified(root, tc.f, make([]byte, tc.bufSize))
		switch {
		case tc.want == "" && (why != "" || string(data) != map[string]string{"a": "hello", "e": ""}[tc.f.Path]):
			t.Errorf("readVerified(%s) = %q, %q; want the content", tc.f.Path, data, why)
		case tc.want != "":
			mustContain(t, "readVerified("+tc.f.Path+") reason", why, tc.want)
		}
	}
}
