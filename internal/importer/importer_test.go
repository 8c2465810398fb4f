package importer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/meta"
)

const capacity = 96 << 10 // a few drives of a 20-pack staging repository

func TestImportEndToEnd(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 1, 20, capacity)
	if len(j.drives) < 2 {
		t.Fatalf("%d drives, want several", len(j.drives))
	}
	ctx := context.Background()
	im := e.importer("st1")
	var progress []Progress
	im.Progress = func(p Progress) { progress = append(progress, p) }
	receiveAll(t, im, j)
	if got := e.job(j.name).State; got != importjob.JobReceived {
		t.Fatalf("job state after receipt = %s, want Received", got)
	}
	if rc, err := im.Receive(ctx, testAccount, j.name, j.drives[0].Path); err != nil || !rc.AlreadyReceived {
		t.Errorf("Receive again = %+v, %v; want AlreadyReceived", rc, err)
	}
	var total int
	for i, d := range j.drives {
		res, err := im.Import(ctx, testAccount, j.name, d.Path)
		if err != nil {
			t.Fatal(err)
		}
		total += res.FilesCopied
		if res.State != importjob.DriveCompleted || res.FilesCopied != d.Files || res.BytesCopied != d.Bytes || res.FilesFailed != 0 {
			t.Errorf("drive %d: %+v, want Completed with %d files, %d bytes", i+1, res, d.Files, d.Bytes)
		}
		wantJob := importjob.JobTransferring
		if i == len(j.drives)-1 {
			wantJob = importjob.JobPackaging
		}
		if res.JobState != wantJob {
			t.Errorf("after drive %d the job is %s, want %s", i+1, res.JobState, wantJob)
		}
		e.checkImported(j, d)
		prefix := LogPrefix(j.container, j.name, d.ID)
		if res.CopyLog != prefix+"/copy.log" || res.ErrorLog != prefix+"/errors.log" {
			t.Errorf("logs %s, %s; want them under %s", res.CopyLog, res.ErrorLog, prefix)
		}
		mustContain(t, "copy.log", e.readObject(res.CopyLog), "copied "+manifestOf(t, d, j.key).Files[0].Path+" ", "# finished")
		if got := e.readObject(res.ErrorLog); got != "" {
			t.Errorf("errors.log = %q, want empty", got)
		}
	}
	if total != len(j.files) {
		t.Errorf("%d files copied, staging has %d", total, len(j.files))
	}
	if n := len(progress); n != total || progress[n-1].FilesDone != progress[n-1].Files {
		t.Errorf("%d progress reports, last %+v; want %d", n, progress[n-1], total)
	}
	_, err := im.Import(ctx, testAccount, j.name, j.drives[0].Path)
	mustContain(t, "import of an imported drive", errString(err), "already imported")
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// corrupt flips a byte of the file in the middle.
func corrupt(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptFile(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 2, 8, 1<<20)
	d := j.drives[0]
	m := manifestOf(t, d, j.key)
	bad := m.Files[len(m.Files)-1].Path
	corrupt(t, filepath.Join(d.Path, bad))
	short := m.Files[len(m.Files)-2].Path
	if err := os.Truncate(filepath.Join(d.Path, short), 10); err != nil {
		t.Fatal(err)
	}
	im := e.importer("st1")
	receiveAll(t, im, j)
	res, err := im.Import(context.Background(), testAccount, j.name, d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != importjob.DriveCompletedMoreInfo || res.FilesFailed != 2 || len(res.Failures) != 2 {
		t.Errorf("result %+v, want CompletedMoreInfo with 2 failed files", res)
	}
	e.checkImported(j, d, bad, short)
	mustContain(t, "errors.log", e.readObject(res.ErrorLog), "failed "+bad+": ", "SHA-256", "failed "+short+": ", "10 bytes")
	jb := e.job(j.name)
	if jd := jb.Drive(d.ID); jd.FilesFailed != 2 || jd.BytesCopied != res.BytesCopied {
		t.Errorf("job's drive %+v, want 2 failed files and %d bytes", jd, res.BytesCopied)
	}
}

func TestTamperedManifest(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 3, 20, capacity)
	ctx := context.Background()
	im := e.importer("st1")
	tamper := func(d drive.DriveResult) {
		p := filepath.Join(d.Path, drive.ManifestName)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), `"config"`, `"confiG"`, 1)+" "), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Tampered before receipt: received and failed at once.
	tamper(j.drives[0])
	rc, err := im.Receive(ctx, testAccount, j.name, j.drives[0].Path)
	if !errors.Is(err, ErrDriveFailed) || rc == nil || rc.Failure == "" {
		t.Fatalf("Receive(tampered) = %+v, %v; want ErrDriveFailed", rc, err)
	}
	if got := e.driveState(j.name, j.drives[0].ID); got != importjob.DriveFailed {
		t.Errorf("drive state %s, want Failed", got)
	}
	// Tampered after receipt: the import fails it, nothing is copied.
	d := j.drives[1]
	if _, err := im.Receive(ctx, testAccount, j.name, d.Path); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.Path, drive.MACName), []byte(strings.Repeat("0", 64)+"\n"), 0o644)
	res, err := im.Import(ctx, testAccount, j.name, d.Path)
	if !errors.Is(err, ErrDriveFailed) || res == nil || res.State != importjob.DriveFailed {
		t.Fatalf("Import(bad MAC) = %+v, %v; want Failed", res, err)
	}
	mustContain(t, "errors.log", e.readObject(res.ErrorLog), "MAC")
	objs := e.objects(j.container + "/")
	for name := range objs {
		if !strings.HasPrefix(name, j.container+"/"+LogsDir+"/") {
			t.Errorf("object %s stored from a failed drive", name)
		}
	}
}

func TestForeignDrive(t *testing.T) {
	e := newEnv(t)
	a := e.addJob("seed-a", 4, 4, 1<<20)
	b := e.addJob("seed-b", 5, 4, 1<<20)
	ctx := context.Background()
	im := e.importer("st1")
	_, err := im.Receive(ctx, testAccount, a.name, b.drives[0].Path)
	if !errors.Is(err, ErrForeignDrive) {
		t.Fatalf("Receive(drive of another job) = %v, want ErrForeignDrive", err)
	}
	mustContain(t, "refusal", err.Error(), b.drives[0].ID, "belongs to import job seed-b")
	if _, err := im.Import(ctx, testAccount, a.name, b.drives[0].Path); !errors.Is(err, ErrForeignDrive) {
		t.Errorf("Import(drive of another job) = %v, want ErrForeignDrive", err)
	}
	if _, err := im.Receive(ctx, testAccount, a.name, t.TempDir()); !errors.Is(err, ErrForeignDrive) || !strings.Contains(err.Error(), "cannot identify") {
		t.Errorf("Receive(empty dir) = %v, want ErrForeignDrive, cannot identify", err)
	}
	if got := e.job(a.name).State; got != importjob.JobShipping {
		t.Errorf("job %s is %s after refusals, want Shipping", a.name, got)
	}
	if _, err := im.Receive(ctx, testAccount, "no-such-job", a.drives[0].Path); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Receive(no such job) = %v, want ErrNotFound", err)
	}
	if _, err := im.Import(ctx, testAccount, a.name, a.drives[0].Path); !errors.Is(err, ErrNotReceived) {
		t.Errorf("Import before receipt = %v, want ErrNotReceived", err)
	}
}

func TestResumeAfterCancel(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 6, 12, 1<<20)
	d := j.drives[0]
	im := e.importer("st1")
	receiveAll(t, im, j)
	ctx, cancel := context.WithCancel(context.Background())
	im.Progress = func(p Progress) {
		if p.FilesDone == 5 {
			cancel()
		}
	}
	if _, err := im.Import(ctx, testAccount, j.name, d.Path); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Import = %v, want context.Canceled", err)
	}
	jb := e.job(j.name)
	jd := jb.Drive(d.ID)
	if jd.State != importjob.DriveReceived || jd.Claim != "" || jd.BytesCopied == 0 {
		t.Errorf("drive after cancel %+v, want Received, unclaimed, with progress", jd)
	}
	im.Progress = nil
	res, err := e.importer("st2").Import(context.Background(), testAccount, j.name, d.Path)
	if err != nil {
		t.Fatal(err)
	}
	// The files whose Puts were in flight at the cancel may have been
	// stored too.
	if n := res.FilesSkipped; n < 5 || n > 5+putsInFlight-1 || res.FilesCopied != d.Files-n || res.BytesCopied != d.Bytes ||
		res.State != importjob.DriveCompleted {
		t.Errorf("resumed import %+v, want 5 to %d skipped, the rest copied, Completed", res, 5+putsInFlight-1)
	}
	e.checkImported(j, d)
	if n := len(e.objects(j.container + "/")); n != d.Files+2 {
		t.Errorf("%d objects in the container, want %d files and 2 logs", n, d.Files)
	}
}

// TestStaleClaim takes over the claim of a dead process of this host, and
// of another station only when told to.
func TestStaleClaim(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 7, 20, capacity)
	d := j.drives[0]
	im := e.importer("")
	receiveAll(t, im, j)
	claim := func(id, station string) {
		_, err := meta.ModifyJob(context.Background(), e.db, testAccount, j.name, e.now(), func(jb *importjob.Job) (bool, error) {
			return true, jb.StartDrive(e.now(), id, station)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	other := j.drives[1]
	claim(other.ID, "elsewhere:1")
	_, err := im.Import(context.Background(), testAccount, j.name, other.Path)
	if !errors.Is(err, ErrClaimed) || !strings.Contains(err.Error(), "elsewhere:1 holds it") {
		t.Fatalf("Import of a claimed drive = %v, want ErrClaimed naming the holder", err)
	}
	im.TakeOver = true
	if _, err := im.Import(context.Background(), testAccount, j.name, other.Path); err != nil {
		t.Errorf("Import with TakeOver: %v", err)
	}
	im.TakeOver = false
	host, _ := os.Hostname()
	claim(d.ID, host+":999999999")
	if _, err := im.Import(context.Background(), testAccount, j.name, d.Path); err != nil {
		t.Errorf("Import over a dead local claim: %v", err)
	}
	var notes []string
	for _, h := range e.job(j.name).History {
		notes = append(notes, h.Note)
	}
	mustContain(t, "history notes", strings.Join(notes, "; "), "claim of "+host+":999999999 taken over")
}

func TestConcurrentImports(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 8, 6, 1<<20)
	d := j.drives[0]
	receiveAll(t, e.importer("st"), j)
	release := make(chan struct{})
	var once sync.Once
	errs := make(chan error, 2)
	for _, station := range []string{"station-a", "station-b"} {
		im := e.importer(station)
		im.Progress = func(Progress) { once.Do(func() { errs <- nil }); <-release }
		go func() {
			_, err := im.Import(context.Background(), testAccount, j.name, d.Path)
			errs <- err
		}()
	}
	// One import blocks in its first progress report (nil), the other
	// must be refused meanwhile.
	var refused error
	for range 2 {
		if err := <-errs; err != nil {
			refused = err
		}
	}
	close(release)
	if err := <-errs; err != nil {
		t.Fatalf("the import that got the claim: %v", err)
	}
	if !errors.Is(refused, ErrClaimed) || !strings.Contains(refused.Error(), "station-") {
		t.Fatalf("the other import: %v, want ErrClaimed naming the holder", refused)
	}
	if got := e.driveState(j.name, d.ID); got != importjob.DriveCompleted {
		t.Errorf("drive %s, want Completed", got)
	}
	e.checkImported(j, d)
}

func TestNeverReceivedAndShipBack(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 9, 20, capacity)
	ctx := context.Background()
	im := e.importer("st1")
	first := j.drives[0]
	if _, err := im.Receive(ctx, testAccount, j.name, first.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := im.ShipBack(ctx, testAccount, j.name, importjob.Shipping{Carrier: "DHL", Tracking: "r1"}); !errors.Is(err, importjob.ErrInvalidTransition) {
		t.Errorf("ShipBack before import = %v, want ErrInvalidTransition", err)
	}
	if _, err := im.Import(ctx, testAccount, j.name, first.Path); err != nil {
		t.Fatal(err)
	}
	var job importjob.Job
	for _, d := range j.drives[1:] {
		var err error
		if job, err = im.NeverReceived(ctx, testAccount, j.name, d.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	if job.State != importjob.JobPackaging {
		t.Fatalf("job %s after never-received, want Packaging", job.State)
	}
	job, err := im.ShipBack(ctx, testAccount, j.name, importjob.Shipping{Carrier: "DHL", Tracking: "r 1"})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != importjob.JobCompletedWithErrors || job.Drive(first.ID).State != importjob.DriveShippedBack || job.ReturnShipping.Tracking != "R1" {
		t.Errorf("job after ship-back: %s, drive %s, return %+v", job.State, job.Drive(first.ID).State, job.ReturnShipping)
	}
}

// TestHugeManifest: a 10 GiB manifest (over the size limit) is refused before it is
// read; the drive, known by its marker, fails.
func TestHugeManifest(t *testing.T) {
	e := newEnv(t)
	j := e.addJob("seed-1", 10, 4, 1<<20)
	d := j.drives[0]
	if err := os.Truncate(filepath.Join(d.Path, drive.ManifestName), 10<<30); err != nil { // 10 GiB, sparse
		t.Fatal(err)
	}
	rc, err := e.importer("st1").Receive(context.Background(), testAccount, j.name, d.Path)
	if !errors.Is(err, ErrDriveFailed) || rc.Failure == "" || !strings.Contains(err.Error(), "limit") {
		t.Errorf("Receive(huge manifest) = %v, want ErrDriveFailed over the limit", err)
	}
}
