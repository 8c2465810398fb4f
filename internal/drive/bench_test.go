package drive

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchStaging is 128 MiB in 16 MiB packs (the default pack size) on the real
// filesystem of the test's temporary directory.
func benchStaging(b *testing.B) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	src := filepath.Join(dir, "staging")
	os.Mkdir(src, 0o755)
	// makeStaging uses tempDir (tmpfs when available); copy it to disk.
	tmp, _ := makeStaging(b, 99, 8, uniform(16<<20, 16<<20))
	if out, err := exec.Command("cp", "-r", tmp+"/.", src).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v %s", err, out)
	}
	os.Remove(filepath.Join(src, SeedRecordName))
	os.Remove(filepath.Join(src, "data", ".tmp-123"))
	files, err := scanStaging(src)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	return src, total
}

func benchPrep(b *testing.B, verify bool) {
	staging, total := benchStaging(b)
	target := b.TempDir()
	b.SetBytes(total)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		os.Remove(filepath.Join(staging, JournalName))
		d := filepath.Join(target, "d", string(rune('a'+i%26)))
		os.RemoveAll(filepath.Dir(d))
		os.MkdirAll(d, 0o755)
		exec.Command("sync").Run()
		b.StartTimer()
		o := testOptions(staging, []string{d}, 0)
		o.SkipVerify = !verify
		if _, err := Prep(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepCopy: copy with hashing, fsync per file, no read-back.
func BenchmarkPrepCopy(b *testing.B) { benchPrep(b, false) }

// BenchmarkPrepCopyVerify: copy, then read every file back from the drive
// (page cache dropped) and compare hashes.
func BenchmarkPrepCopyVerify(b *testing.B) { benchPrep(b, true) }

// BenchmarkCpSync is the baseline: cp -r of the same files to the same kind
// of target, then sync.
func BenchmarkCpSync(b *testing.B) {
	staging, total := benchStaging(b)
	target := b.TempDir()
	b.SetBytes(total)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		d := filepath.Join(target, "d", string(rune('a'+i%26)))
		os.RemoveAll(filepath.Dir(d))
		os.MkdirAll(d, 0o755)
		exec.Command("sync").Run()
		b.StartTimer()
		if out, err := exec.Command("cp", "-r", staging+"/.", d).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
		if err := exec.Command("sync").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
