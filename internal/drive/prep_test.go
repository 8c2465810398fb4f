package drive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrepOneDrive(t *testing.T) {
	staging, want := makeStaging(t, 1, 20, uniform(1, 200<<10))
	ds := drives(t, 1)
	var cp copies
	o := testOptions(staging, ds, 0)
	o.hooks = cp.hook(nil)
	var kinds []EventKind
	o.Progress = func(e Event) {
		if len(kinds) == 0 || kinds[len(kinds)-1] != e.Kind {
			kinds = append(kinds, e.Kind)
		}
	}
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Drives) != 1 || res.Files != len(want) || res.CopiedFiles != len(want) || res.Resumed || res.AlreadyDone {
		t.Errorf("result %+v, want one drive with %d files", res, len(want))
	}
	checkDrives(t, res, want, 0)
	cp.checkOnce(t)
	if diff := cmp.Diff([]EventKind{DriveStarted, FileCopied, ManifestWritten, FileVerified, DriveFinished}, kinds); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(ds[0], "data", ".tmp-123")); err == nil {
		t.Error("store temporary file was copied")
	}

	before := listDrive(t, ds[0])
	again, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyDone || again.CopiedFiles != 0 || !cmp.Equal(again.Drives, res.Drives) {
		t.Errorf("re-run result %+v, want AlreadyDone with the same drives", again)
	}
	if diff := cmp.Diff(before, listDrive(t, ds[0])); diff != "" {
		t.Errorf("re-run changed the drive:\n%s", diff)
	}
	cp.checkOnce(t)
}

func TestPrepMultiDrive(t *testing.T) {
	staging, want := makeStaging(t, 2, 60, uniform(10<<10, 100<<10))
	const capacity = 1 << 20
	ds := drives(t, 8)
	var cp copies
	o := testOptions(staging, ds, capacity)
	o.hooks = cp.hook(nil)
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Drives) < 3 {
		t.Fatalf("%d drives, want several", len(res.Drives))
	}
	checkDrives(t, res, want, capacity)
	cp.checkOnce(t)
	m, _, _ := ReadManifest(res.Drives[0].Path, testKey)
	if m.Files[0].Path != "config" || !strings.HasPrefix(m.Files[1].Path, "keys/") {
		t.Errorf("drive 1 starts with %s, %s; want config and keys first", m.Files[0].Path, m.Files[1].Path)
	}
	for _, d := range ds[len(res.Drives):] {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Errorf("unused drive %s was written", d)
		}
	}
}

func TestPrepNextDrive(t *testing.T) {
	staging, want := makeStaging(t, 3, 30, uniform(10<<10, 100<<10))
	ds := drives(t, 10)
	o := testOptions(staging, ds[:1], 1<<20)
	var asked []int
	o.NextDrive = func(ctx context.Context, seq int) (string, error) {
		asked = append(asked, seq)
		return ds[seq-1], nil
	}
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkDrives(t, res, want, 1<<20)
	if len(asked) != len(res.Drives)-1 || asked[0] != 2 {
		t.Errorf("NextDrive asked for %v, %d drives used", asked, len(res.Drives))
	}
}

func TestPrepNeedDriveThenContinue(t *testing.T) {
	staging, want := makeStaging(t, 4, 30, uniform(10<<10, 100<<10))
	ds := drives(t, 10)
	var cp copies
	o := testOptions(staging, ds[:1], 1<<20)
	o.hooks = cp.hook(nil)
	res, err := Prep(context.Background(), o)
	var need *NeedDriveError
	if !errors.As(err, &need) || !errors.Is(err, ErrNeedDrive) || need.Seq != 2 || need.Files == 0 || need.Bytes == 0 {
		t.Fatalf("err = %v, want NeedDriveError for drive 2", err)
	}
	if !strings.Contains(err.Error(), "run again") || len(res.Drives) != 1 {
		t.Errorf("message %q, %d drives", err, len(res.Drives))
	}
	o.Drives = ds // the finished first drive is recognised and skipped
	res, err = Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Drives[0].Path != ds[0] || res.Drives[1].Path != ds[1] {
		t.Errorf("result %+v", res)
	}
	checkDrives(t, res, want, 1<<20)
	cp.checkOnce(t)
}

func TestPrepNotEmpty(t *testing.T) {
	staging, want := makeStaging(t, 5, 5, uniform(1, 1000))
	ds := drives(t, 1)
	for _, name := range []string{"lost+found", "old"} {
		if err := os.Mkdir(filepath.Join(ds[0], name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(ds[0], "old", "f"), []byte("x"), 0o644)
	o := testOptions(staging, ds, 0)
	if _, err := Prep(context.Background(), o); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "old") {
		t.Fatalf("err = %v, want ErrNotEmpty naming the entry", err)
	}
	if _, err := os.Stat(filepath.Join(ds[0], "old", "f")); err != nil {
		t.Fatal("refused drive was changed")
	}
	var offered []string
	o.ConfirmErase = func(ctx context.Context, path string, entries []string) (bool, error) {
		offered = entries
		return path == ds[0], nil
	}
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(offered, []string{"old"}) {
		t.Errorf("ConfirmErase offered %v", offered)
	}
	checkDrives(t, res, want, 0)
	if _, err := os.Stat(filepath.Join(ds[0], "lost+found")); err != nil {
		t.Error("lost+found was removed")
	}
}

func TestPrepTooLarge(t *testing.T) {
	staging, _ := makeStaging(t, 6, 3, uniform(300<<10, 400<<10))
	ds := drives(t, 3)
	o := testOptions(staging, ds, 200<<10)
	_, err := Prep(context.Background(), o)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "data/") || !strings.Contains(err.Error(), "KiB") {
		t.Fatalf("err = %v, want ErrTooLarge naming the file and sizes", err)
	}
	// Fits under the cap but not with the manifest's room: found per drive.
	staging2, _ := makeStaging(t, 7, 1, uniform(200<<10, 200<<10))
	o = testOptions(staging2, ds[1:], 201<<10)
	if _, err := Prep(context.Background(), o); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// ds[1] took the small metadata files; ds[2] was refused untouched.
	for _, d := range []string{ds[0], ds[2]} {
		if entries, _ := os.ReadDir(d); len(entries) > 0 {
			t.Errorf("drive %s written although the file does not fit", d)
		}
	}
}

func TestPrepRefusesBadInput(t *testing.T) {
	staging, _ := makeStaging(t, 8, 2, uniform(1, 10))
	ds := drives(t, 1)
	tests := map[string]struct {
		mod  func(*Options)
		want error
	}{
		"short key":         {func(o *Options) { o.JobKey = testKey[:31] }, ErrJobKey},
		"bad job name":      {func(o *Options) { o.Job = "../x" }, nil},
		"drive is staging":  {func(o *Options) { o.Drives = []string{staging} }, ErrDrivePath},
		"drive in staging":  {func(o *Options) { o.Drives = []string{filepath.Join(staging, "data")} }, ErrDrivePath},
		"drive is a file":   {func(o *Options) { o.Drives = []string{filepath.Join(staging, "config")} }, ErrDrivePath},
		"missing staging":   {func(o *Options) { o.Staging = filepath.Join(staging, "nope") }, ErrStaging},
		"negative capacity": {func(o *Options) { o.Capacity = -1 }, nil},
	}
	for name, tc := range tests {
		o := testOptions(staging, ds, 0)
		tc.mod(&o)
		_, err := Prep(context.Background(), o)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestPrepStagingProblems(t *testing.T) {
	t.Run("corrupt pack", func(t *testing.T) {
		staging, want := makeStaging(t, 9, 3, uniform(100, 200))
		for p := range want {
			if strings.HasPrefix(p, "data/") {
				os.WriteFile(filepath.Join(staging, p), []byte("bit rot"), 0o644)
				break
			}
		}
		_, err := Prep(context.Background(), testOptions(staging, drives(t, 1), 0))
		if !errors.Is(err, ErrStaging) || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("err = %v, want ErrStaging: damaged", err)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		staging, _ := makeStaging(t, 10, 1, uniform(100, 200))
		os.Symlink(t.TempDir(), filepath.Join(staging, "data", "elsewhere"))
		_, err := Prep(context.Background(), testOptions(staging, drives(t, 1), 0))
		if !errors.Is(err, ErrStaging) || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("err = %v, want ErrStaging: symbolic link", err)
		}
	})
}

func TestPrepJournalJob(t *testing.T) {
	staging, _ := makeStaging(t, 11, 2, uniform(100, 200))
	ds := drives(t, 2)
	o := testOptions(staging, ds[:1], 0)
	o.Job = "typo"
	o.Capacity = -1 // fails after the journal was created
	if _, err := Prep(context.Background(), o); err == nil {
		t.Fatal("negative capacity accepted")
	}
	o = testOptions(staging, ds[:1], 0) // nothing prepared yet: a new name is fine
	if _, err := Prep(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o.Job = "other-job"
	if _, err := Prep(context.Background(), o); !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), testJob) {
		t.Errorf("err = %v, want ErrJournal naming the job", err)
	}
}

func TestPrepTornJournal(t *testing.T) {
	staging, want := makeStaging(t, 12, 10, uniform(1000, 5000))
	ds := drives(t, 1)
	o := testOptions(staging, ds, 0)
	n, op := 0, ""
	o.hooks = crashAt(25, &n, &op)
	if _, err := Prep(context.Background(), o); !errors.Is(err, errCrash) {
		t.Fatalf("err = %v, want crash", err)
	}
	f, _ := os.OpenFile(filepath.Join(staging, JournalName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"op":"file","drive":"0011`)
	f.Close()
	o.hooks = nil
	res, err := Prep(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkDrives(t, res, want, 0)
}

func TestPrepCorruptJournal(t *testing.T) {
	staging, _ := makeStaging(t, 13, 1, uniform(10, 20))
	os.WriteFile(filepath.Join(staging, JournalName), []byte(`{"op":"begin","version":1,"job":"seed-test"}`+"\n"+`garbage`+"\n"), 0o600)
	if _, err := Prep(context.Background(), testOptions(staging, drives(t, 1), 0)); !errors.Is(err, ErrJournal) {
		t.Errorf("err = %v, want ErrJournal", err)
	}
}

func TestPrepBusy(t *testing.T) {
	staging, _ := makeStaging(t, 14, 1, uniform(10, 20))
	o := testOptions(staging, drives(t, 1), 0)
	entered, release := make(chan struct{}), make(chan struct{})
	o.hooks = &hooks{op: func(op, name string) error {
		if op == opWrite {
			select {
			case <-entered:
			default:
				close(entered)
				<-release
			}
		}
		return nil
	}}
	done := make(chan error)
	go func() { _, err := Prep(context.Background(), o); done <- err }()
	<-entered
	o2 := testOptions(staging, drives(t, 1), 0)
	if _, err := Prep(context.Background(), o2); !errors.Is(err, ErrBusy) {
		t.Errorf("concurrent Prep: err = %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
