package importer

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/importjob"
	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/azure"
	"github.com/seedship/seedship/internal/store/location"
	"github.com/seedship/seedship/internal/store/s3"
)

// BenchmarkImport measures Import of a prepared drive (512 MiB in 16 MiB
// packs) into a store of each kind against the baseline: the same files
// uploaded to the same store with the same SDK, one after the other, in
// the same iteration (the order alternates, and the disk is synced before
// each). The timer runs during Import only, so the MB/s that go test
// prints is the import's; the custom metrics give both and their ratio.
// The s3 and azure cases need the test services:
//
//	eval "$(scripts/services.sh up)"
//	go test -run XXX -bench Import -benchtime 3x ./internal/importer/
func BenchmarkImport(b *testing.B) {
	var d *benchDrive
	prepared := func(sb *testing.B) *benchDrive {
		if d == nil {
			d = prepBenchDrive(sb, b.TempDir())
		}
		return d
	}
	kinds := []struct {
		name   string
		target func(*testing.B) *benchTarget
	}{{"local", localTarget}, {"s3", s3Target}, {"azure", azureTarget}}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			t := k.target(b) // first: a missing service fails before the drive is prepared
			benchImport(b, prepared(b), t)
		})
	}
}

const (
	benchPackSize = 16 << 20 // the default pack size
	benchPacks    = 32       // 512 MiB
	benchJob      = "bench-import"
)

// benchDrive is the prepared drive the sub-benchmarks share.
type benchDrive struct {
	key   []byte
	drive drive.DriveResult
	files []drive.File
}

// benchTarget is one kind of store.
type benchTarget struct {
	loc string // the storage account's location
	// upload is the baseline: the drive file at path stored as name
	// through the SDK directly.
	upload func(ctx context.Context, name, path string, size int64) error
	st     store.Store // for clearing between iterations
}

// prepBenchDrive writes a staging repository below dir and prepares one
// drive from it with drive.Prep.
func prepBenchDrive(b *testing.B, dir string) *benchDrive {
	b.Helper()
	staging, driveDir := filepath.Join(dir, "staging"), filepath.Join(dir, "drive")
	writeBenchStaging(b, staging)
	if err := os.Mkdir(driveDir, 0o755); err != nil {
		b.Fatal(err)
	}
	d := &benchDrive{key: make([]byte, drive.JobKeySize)}
	rng := rand.NewChaCha8([32]byte{'k'})
	rng.Read(d.key)
	res, err := drive.Prep(context.Background(), drive.Options{Staging: staging, Job: benchJob, JobKey: d.key,
		Drives: []string{driveDir}, SkipVerify: true, Rand: rand.NewChaCha8([32]byte{'d'})})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.RemoveAll(staging); err != nil {
		b.Fatal(err)
	}
	d.drive = res.Drives[0]
	d.files = manifestOf(b, d.drive, d.key).Files
	// Prep drops what it wrote from the page cache; read it back once so
	// that import and baseline both read the drive from memory.
	for _, f := range d.files {
		data, err := os.ReadFile(filepath.Join(driveDir, filepath.FromSlash(f.Path)))
		if err != nil || int64(len(data)) != f.Size {
			b.Fatalf("warm %s: %d bytes, %v", f.Path, len(data), err)
		}
	}
	return d
}

// writeBenchStaging writes seeded random content-addressed files: a config,
// a key, a snapshot, four 256 KiB index files and the packs.
func writeBenchStaging(b *testing.B, dir string) {
	rng := rand.NewChaCha8([32]byte{'s'})
	buf := make([]byte, benchPackSize)
	put := func(top string, n int) {
		data := buf[:n]
		rng.Read(data)
		sum := sha256.Sum256(data)
		name := hex.EncodeToString(sum[:])
		rel := top + "/" + name
		switch top {
		case "config":
			rel = top
		case "data":
			rel = "data/" + name[:2] + "/" + name
		}
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	put("config", 155)
	put("keys", 460)
	put("snapshots", 2<<10)
	for range 4 {
		put("index", 256<<10)
	}
	for range benchPacks {
		put("data", benchPackSize)
	}
}

// benchImport runs the iterations: a fresh service database with the job
// registered and the drive received, then Import into container
// "import-N" and the baseline into "baseline-N", then both are deleted.
func benchImport(b *testing.B, d *benchDrive, t *benchTarget) {
	b.SetBytes(d.drive.Bytes)
	var imported, uploaded benchCost
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		im := benchImporter(b, d, t.loc, fmt.Sprintf("import-%d", n))
		phases := []func(){
			func() { imported.add(b, true, func() { runImport(b, im, d) }) },
			func() { uploaded.add(b, false, func() { runBaseline(b, d, t, fmt.Sprintf("baseline-%d", n)) }) },
		}
		if n%2 == 0 {
			phases[0], phases[1] = phases[1], phases[0]
		}
		for _, phase := range phases {
			syscall.Sync()
			phase()
		}
		clearPrefix(b, t.st, fmt.Sprintf("import-%d/", n))
		clearPrefix(b, t.st, fmt.Sprintf("baseline-%d/", n))
		b.StartTimer()
	}
	b.StopTimer()
	mb := float64(d.drive.Bytes) * float64(n) / 1e6
	b.ReportMetric(mb/imported.wall.Seconds(), "import-MB/s")
	b.ReportMetric(mb/uploaded.wall.Seconds(), "baseline-MB/s")
	b.ReportMetric(uploaded.wall.Seconds()/imported.wall.Seconds(), "ratio")
	b.ReportMetric(float64(imported.cpu.Microseconds())/mb, "import-cpu-us/MB")
	b.ReportMetric(float64(uploaded.cpu.Microseconds())/mb, "baseline-cpu-us/MB")
}

// benchCost sums the wall-clock and CPU time (of this process: the
// servers' is not counted) of one contender's runs.
type benchCost struct{ wall, cpu time.Duration }

// add runs f, with the benchmark timer running when timed.
func (c *benchCost) add(b *testing.B, timed bool, f func()) {
	cpu, start := cpuTime(), time.Now()
	if timed {
		b.StartTimer()
	}
	f()
	if timed {
		b.StopTimer()
	}
	c.wall += time.Since(start)
	c.cpu += cpuTime() - cpu
}

// cpuTime is the user and system time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchImporter registers the job in a new service database whose storage
// account is loc, receives the drive and returns an importer that opens
// stores as seedshipd does, with the default SaveEvery (on the database's
// test clock, which the job's expiry needs).
func benchImporter(b *testing.B, d *benchDrive, loc, container string) *Importer {
	e := newEnvAt(b, loc)
	j := &testJob{name: benchJob, container: container, key: d.key, drives: []drive.DriveResult{d.drive}}
	e.register(j, func(int) drive.DriveResult { return d.drive }, 1)
	im := &Importer{DB: e.db, Station: "bench", TempDir: b.TempDir(), Now: e.now,
		OpenStore: func(ctx context.Context, loc string) (store.Store, error) { return location.Open(ctx, loc, true) }}
	receiveAll(b, im, j)
	return im
}

// runImport imports the drive.
func runImport(b *testing.B, im *Importer, d *benchDrive) {
	res, err := im.Import(b.Context(), testAccount, benchJob, d.drive.Path)
	if err != nil {
		b.Fatal(err)
	}
	if res.State != importjob.DriveCompleted || res.FilesCopied != len(d.files) || res.BytesWritten != d.drive.Bytes {
		b.Fatalf("import: %+v; want Completed, %d files, %d bytes written", res, len(d.files), d.drive.Bytes)
	}
}

// runBaseline uploads every file of the drive below prefix, one after the
// other.
func runBaseline(b *testing.B, d *benchDrive, t *benchTarget, prefix string) {
	for _, f := range d.files {
		path := filepath.Join(d.drive.Path, filepath.FromSlash(f.Path))
		if err := t.upload(b.Context(), prefix+"/"+f.Path, path, f.Size); err != nil {
			b.Fatalf("baseline upload of %s: %v", f.Path, err)
		}
	}
}

// clearPrefix deletes the objects below prefix, untimed, so that the
// servers' disks do not fill up.
func clearPrefix(b *testing.B, st store.Store, prefix string) {
	ctx := b.Context()
	var names []string
	err := st.List(ctx, prefix, func(i store.Info) error {
		names = append(names, i.Name)
		return nil
	})
	for _, name := range names {
		if err == nil {
			err = st.Delete(ctx, name)
		}
	}
	if err != nil {
		b.Fatalf("clear %s: %v", prefix, err)
	}
}

// openTarget opens (creating) the store at loc for clearing.
func openTarget(b *testing.B, loc string) store.Store {
	st, err := location.Open(b.Context(), loc, true)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// localTarget is a directory on the test's disk; the baseline copies each
// file with io.Copy between the two *os.File (copy_file_range on Linux) and
// fsyncs it.
func localTarget(b *testing.B) *benchTarget {
	dir := filepath.Join(b.TempDir(), "store")
	t := &benchTarget{loc: dir, st: openTarget(b, dir)}
	t.upload = func(_ context.Context, name, path string, _ int64) error {
		return copySync(filepath.Join(dir, filepath.FromSlash(name)), path)
	}
	return t
}

func copySync(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// requireServices fails the benchmark when the test services' settings
// are missing.
func requireServices(b *testing.B, vars ...string) {
	b.Helper()
	if os.Getenv("SEEDSHIP_TEST_NO_SERVICES") == "1" {
		b.Skip("SEEDSHIP_TEST_NO_SERVICES=1: not benchmarking against the test services")
	}
	for _, v := range vars {
		if os.Getenv(v) == "" {
			b.Fatalf("%s is not set: %s needs the test services; start them with\n\teval \"$(scripts/services.sh up)\"", v, b.Name())
		}
	}
}

// benchBucket is a fresh bucket or container name.
func benchBucket() string {
	var r [6]byte
	crand.Read(r[:])
	return "seedship-bench-" + hex.EncodeToString(r[:])
}

// s3Target is a new bucket on the S3 test server; the baseline is
// minio-go's PutObject of the open file with seedship's part size (16 MiB,
// so one PUT per pack).
func s3Target(b *testing.B) *benchTarget {
	requireServices(b, "SEEDSHIP_TEST_S3_ENDPOINT", s3.EnvAccessKey, s3.EnvSecretKey)
	endpoint := os.Getenv("SEEDSHIP_TEST_S3_ENDPOINT")
	bucket := benchBucket()
	t := &benchTarget{loc: "s3:" + endpoint + "/" + bucket}
	t.st = openTarget(b, t.loc)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := t.st.(*s3.Store).DeleteBucket(ctx); err != nil {
			b.Errorf("delete bucket %s: %v", bucket, err)
		}
	})
	host, insecure := strings.CutPrefix(endpoint, "http://")
	host = strings.TrimPrefix(host, "https://")
	c, err := minio.New(host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv(s3.EnvAccessKey), os.Getenv(s3.EnvSecretKey), ""),
		Secure: !insecure, Region: os.Getenv(s3.EnvRegion),
	})
	if err != nil {
		b.Fatal(err)
	}
	t.upload = func(ctx context.Context, name, path string, size int64) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = c.PutObject(ctx, bucket, name, f, size, minio.PutObjectOptions{PartSize: s3.DefaultPartSize})
		return err
	}
	return t
}

// azureTarget is a new container on Azurite; the baseline is azblob's
// UploadFile of the open file with seedship's block size and concurrency
// (a file up to 256 MiB goes up in one Put Blob).
func azureTarget(b *testing.B) *benchTarget {
	requireServices(b, azure.EnvConnectionString)
	container := benchBucket()
	t := &benchTarget{loc: "azure:" + container}
	t.st = openTarget(b, t.loc)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := t.st.(*azure.Store).DeleteContainer(ctx); err != nil {
			b.Errorf("delete container %s: %v", container, err)
		}
	})
	c, err := azblob.NewClientFromConnectionString(os.Getenv(azure.EnvConnectionString), nil)
	if err != nil {
		b.Fatal(err)
	}
	t.upload = func(ctx context.Context, name, path string, _ int64) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = c.UploadFile(ctx, container, name, f, &azblob.UploadFileOptions{
			BlockSize: azure.DefaultPartSize, Concurrency: azure.DefaultConcurrency})
		return err
	}
	return t
}
