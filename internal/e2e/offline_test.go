package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOfflineSeeding is issue 6's end-to-end walk with the real binaries:
// an offline backup shipped on three drives, one with a corrupted file and
// one that never arrives; a backup while the drives travel; adoption with
// repair from the staging location; an incremental; restores of three
// snapshots; ship-back; cleanup.
func TestOfflineSeeding(t *testing.T) { offlineSeeding(t, walk{}) }

// TestOfflineSeedingStagingLost is the same walk with the staging location
// gone before adoption: what the container lacks is read again from the
// source files.
func TestOfflineSeedingStagingLost(t *testing.T) { offlineSeeding(t, walk{loseStaging: true}) }

// TestOfflineSeedingRegisteredLater: the offline backup ran before the
// machine was registered; seed attach hands it to the vault, whose
// repository then takes the seed's keys.
func TestOfflineSeedingRegisteredLater(t *testing.T) { offlineSeeding(t, walk{registerLate: true}) }

// walk varies the offline-seeding walk.
type walk struct {
	loseStaging  bool // remove the staging location before adoption
	registerLate bool // offline backup before registration, then seed attach
}

func offlineSeeding(t *testing.T, w walk) {
	loseStaging := w.loseStaging
	tmp := t.TempDir()
	data := filepath.Join(tmp, "service")
	port := freePort(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	acme, cred := filepath.Join(tmp, "acme.json"), filepath.Join(tmp, "cred.json")
	ops := newUser(t)
	ops.ok("seedshipd", "account", "create", "--data", data, "acme", "--out", acme, "--url", url)
	ops.ok("seedshipd", "storage-account", "create", "--data", data, "--account", "acme", "sa1", "--store", filepath.Join(tmp, "sa1"))
	ops.ok("seedshipd", "datacenter", "set", "--data", data, "--address", "Seedship DC1\nDock 4")
	ops.ok("seedshipd", "vault", "create", "--data", data, "--account", "acme", "servers")
	ops.ok("seedshipd", "vault", "credentials", "--data", data, "--account", "acme", "servers", "--out", cred, "--valid", "1h", "--url", url)
	serve(t, ops, data, port)

	// Init → register → offline backup.
	m := newUser(t, "SEEDSHIP_CONFIG="+filepath.Join(tmp, "config"), "SEEDSHIP_PASSWORD=secret")
	if !w.registerLate {
		m.ok("seedship", "register", "--vault-credentials", cred)
		m.ok("seedship", "init")
	}
	src, staging := filepath.Join(tmp, "src"), filepath.Join(tmp, "staging")
	genTree(t, src)
	seedTree := hashTree(t, src)
	m.ok("seedship", "backup", "--offline", "--staging", staging, "--job", "seed-1", "--account-settings", acme,
		"--storage-account", "sa1", "--container", "web1", src)
	if w.registerLate {
		m.ok("seedship", "register", "--vault-credentials", cred)
		m.ok("seedship", "seed", "attach", "--staging", staging)

		// A machine whose vault repository was initialised on its own
		// cannot take the seed: attach refuses it up front.
		cred2 := filepath.Join(tmp, "cred2.json")
		ops.ok("seedshipd", "vault", "credentials", "--data", data, "--account", "acme", "servers", "--out", cred2, "--valid", "1h", "--url", url)
		m2 := newUser(t, "SEEDSHIP_CONFIG="+filepath.Join(tmp, "config2"), "SEEDSHIP_PASSWORD=secret")
		m2.ok("seedship", "register", "--vault-credentials", cred2)
		m2.ok("seedship", "init")
		if r := m2.run(nil, "seedship", "seed", "attach", "--staging", staging); r.code == 0 || !strings.Contains(r.stderr, "already holds a repository other than the staging location's") {
			t.Errorf("attach to a vault with its own repository: exit %d\n%s", r.code, r.stderr)
		}
	}

	// Disk preparation onto three drives, shipping.
	drives := threeDrives(t)
	r := m.ok("seedship", "diskprep", "--staging", staging, "--drive", drives[0], "--drive", drives[1], "--drive", drives[2],
		"--drive-capacity", strconv.Itoa(20<<20))
	for i, d := range drives {
		if _, err := os.Stat(filepath.Join(d, "seedship-manifest.json")); err != nil {
			t.Fatalf("drive %d has no manifest after diskprep:\n%s", i+1, r.stdout)
		}
	}
	m.ok("seedship", "shipping", "--staging", staging, "--carrier", "UPS", "--tracking", "1Z E2E 0001", "--packages", "1",
		"--ship-date", time.Now().Format(time.DateOnly), "--return-address", "ACME, 1 Main St", "--contact", "ops@acme.example", "--yes")

	// The datacenter receives and imports drives 1 and 2; a file of drive 2
	// was damaged on the way; drive 3 is not there yet.
	bad := corruptPack(t, drives[1])
	for _, d := range drives[:2] {
		ops.ok("seedshipd", "ops", "receive", "--data", data, "--job", "seed-1", "--drive", d)
	}
	ops.ok("seedshipd", "ops", "import", "--data", data, "--job", "seed-1", "--drive", drives[0])
	r = ops.run(nil, "seedshipd", "ops", "import", "--data", data, "--job", "seed-1", "--drive", drives[1])
	if !strings.Contains(r.stdout, "CompletedMoreInfo") || !strings.Contains(r.stdout, bad) {
		t.Fatalf("import of the damaged drive: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// A backup while waiting protects a new file, sending only that file.
	writeRandom(t, filepath.Join(src, "new", "while-waiting.bin"), 1<<20, 99)
	waitTree := hashTree(t, src)
	r = m.ok("seedship", "backup", "--json", src)
	if !strings.Contains(r.stderr, "waiting for import job seed-1 (Transferring, 2/3 drives done)") {
		t.Errorf("backup while waiting did not say so:\n%s", r.stderr)
	}
	if s := summary(t, r.stdout); s.DataAdded > 2<<20 || s.DataAdded < 1<<20 {
		t.Errorf("backup while waiting added %d bytes, want about the new file's 1 MiB", s.DataAdded)
	}

	if r := m.run(nil, "seedship", "seed", "cleanup"); r.code == 0 || !strings.Contains(r.stderr, "not adopted yet") {
		t.Errorf("seed cleanup before adoption: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
	if r := m.ok("seedship", "seed", "status"); !strings.Contains(r.stdout, "job state:  Transferring (2/3 drives done)") {
		t.Errorf("seed status while waiting:\n%s", r.stdout)
	}

	// Drive 3 never arrives: the job moves to Packaging.
	ops.ok("seedshipd", "ops", "never-received", "--data", data, "--job", "seed-1", "--drive-id", driveID(t, drives[2]))
	if st := seedStatus(t, m); st.JobState != "Packaging" || st.State != "waiting" {
		t.Fatalf("after never-received: job %s, seed %s", st.JobState, st.State)
	}

	// The next backup adopts the container and re-sends what is missing
	// (the damaged pack and drive 3's files) from the staging location —
	// or, when it is gone, reads the source files of the lost chunks again.
	if loseStaging {
		if err := os.RemoveAll(staging); err != nil {
			t.Fatal(err)
		}
		if r := m.run(nil, "seedship", "check"); r.code == 0 || !strings.Contains(r.stderr, "has not adopted the seed of import job seed-1") {
			t.Errorf("check with the seed's packs neither adopted nor reachable: exit %d\n%s", r.code, r.stderr)
		}
	}
	r = m.ok("seedship", "backup", src)
	t.Logf("adopting backup:\n%s%s", r.stdout, r.stderr)
	want := "re-sent from the staging location"
	if loseStaging {
		want = "read again from the source files by this backup"
	}
	if !strings.Contains(r.stdout, "seed of import job seed-1 adopted") || !strings.Contains(r.stdout, want) {
		t.Errorf("adopting backup does not say %q:\n%s\n%s", want, r.stdout, r.stderr)
	}
	st := seedStatus(t, m)
	resent, lost := st.Adoption.Resent, st.Adoption.Lost
	if loseStaging {
		resent, lost = lost, resent
	}
	if st.State != "adopted" || st.Adoption == nil || resent < 2 || lost != 0 || st.Adoption.Files == 0 {
		t.Fatalf("seed status after adoption: %+v %+v", st, st.Adoption)
	}

	// A 1% change is an incremental: unchanged files are not read again
	// and about as many bytes as changed are sent.
	changeFile(t, filepath.Join(src, "big", "b1.bin"), 5<<20, 400<<10)
	latestTree := hashTree(t, src)
	r = m.ok("seedship", "backup", "--json", src)
	s := summary(t, r.stdout)
	// The change is 400 KiB at 5 MiB into a 12 MiB file: the chunks before
	// it are reused, and the chunker finds its old boundaries again after
	// one chunk in half the cases, after up to 8 in the worst 1% (a
	// sample of 300 chunker keys gave 8.1 MiB at most; docs/benchmarks.md).
	if s.FilesChanged != 1 || s.FilesNew != 0 || s.DataAdded > 10<<20 {
		t.Errorf("incremental after adoption: %+v", s)
	}
	t.Logf("first incremental after adoption: %d bytes changed, %d bytes added (%d chunks)", 400<<10, s.DataAdded, s.DataBlobs)

	// Restores of the seed, the waiting-time and the latest snapshot.
	ids := snapshotIDs(t, m)
	if len(ids) != 4 {
		t.Fatalf("%d snapshots, want 4 (seed, waiting, adopting, incremental)", len(ids))
	}
	for i, c := range []struct {
		id   string
		want map[string]string
	}{{ids[0], seedTree}, {ids[1], waitTree}, {ids[3], latestTree}} {
		target := filepath.Join(tmp, fmt.Sprintf("restore-%d", i))
		m.ok("seedship", "restore", c.id, "--target", target, "--verify")
		sameTree(t, "restore of snapshot "+c.id[:8], hashTree(t, filepath.Join(target, src)), c.want)
	}
	m.ok("seedship", "check", "--read-data")

	// The drives go back; the job ends with errors (a bad file, a lost
	// drive); the staging location and the container's copy are removed.
	ops.ok("seedshipd", "ops", "ship-back", "--data", data, "--job", "seed-1", "--carrier", "UPS", "--tracking", "1Z E2E BACK")
	if st := seedStatus(t, m); st.JobState != "CompletedWithErrors" {
		t.Errorf("after ship-back: job %s, want CompletedWithErrors", st.JobState)
	}
	m.ok("seedship", "seed", "cleanup", "--container")
	if _, err := os.Stat(staging); !os.IsNotExist(err) {
		t.Errorf("staging location still there after cleanup: %v", err)
	}
	if left := repoFiles(t, filepath.Join(tmp, "sa1", "web1")); len(left) > 0 {
		t.Errorf("container still holds %d repository files after cleanup --container: %v", len(left), left[:min(3, len(left))])
	}
	m.ok("seedship", "check", "--read-data")
	writeRandom(t, filepath.Join(src, "after-cleanup.bin"), 64<<10, 7)
	m.ok("seedship", "backup", src)
}

// genTree writes about 49 MiB: four 12 MiB incompressible files (three
// packs of about 16 MiB) and 200 small text files.
func genTree(t *testing.T, dir string) {
	t.Helper()
	for i := range 4 {
		writeRandom(t, filepath.Join(dir, "big", fmt.Sprintf("b%d.bin", i)), 12<<20, uint64(i))
	}
	for i := range 200 {
		p := filepath.Join(dir, "small", fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%03d.txt", i))
		content := strings.Repeat(fmt.Sprintf("file %d line\n", i), 100+i*3)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func writeRandom(t *testing.T, path string, size int, seed uint64) {
	t.Helper()
	b := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// changeFile overwrites n bytes of path at offset with new random bytes.
func changeFile(t *testing.T, path string, offset, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{42}).Read(b)
	if _, err := f.WriteAt(b, int64(offset)); err != nil {
		t.Fatal(err)
	}
}

// threeDrives returns three empty filesystems: 64 MiB ext4 loop devices
// when running as root with the tools, else plain directories.
func threeDrives(t *testing.T) []string {
	t.Helper()
	var out []string
	for range 3 {
		d, err := loopExt4(t)
		if err != nil {
			t.Logf("using directories as drives: %v", err)
			return []string{t.TempDir(), t.TempDir(), t.TempDir()}
		}
		out = append(out, d)
	}
	t.Log("drives are 64 MiB ext4 loop-device filesystems")
	return out
}

// loopExt4 makes and mounts a 64 MiB ext4 filesystem on a loop device;
// the device and mount are removed when the test ends.
func loopExt4(t *testing.T) (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("not root")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		return "", err
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		return "", err
	}
	sh := func(name string, args ...string) (string, error) {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := sh("mkfs.ext4", "-q", "-F", "-m", "0", img); err != nil {
		return "", err
	}
	dev, err := sh("losetup", "-f", "--show", img)
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mnt := t.TempDir()
	if _, err := sh("mount", dev, mnt); err != nil {
		return "", err
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	// lost+found is not data: diskprep accepts a fresh filesystem.
	return mnt, nil
}

// corruptPack flips a byte in the middle of the first pack the drive's
// manifest lists and returns its path.
func corruptPack(t *testing.T, drive string) string {
	t.Helper()
	var m struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	b, err := os.ReadFile(filepath.Join(drive, "seedship-manifest.json"))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if !strings.HasPrefix(f.Path, "data/") {
			continue
		}
		p := filepath.Join(drive, filepath.FromSlash(f.Path))
		fb, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fb[len(fb)/2] ^= 0x40
		if err := os.WriteFile(p, fb, 0o644); err != nil {
			t.Fatal(err)
		}
		return f.Path
	}
	t.Fatalf("drive %s holds no pack", drive)
	return ""
}

func driveID(t *testing.T, drive string) string {
	t.Helper()
	var mk struct {
		DriveID string `json:"drive_id"`
	}
	b, err := os.ReadFile(filepath.Join(drive, "seedship-drive.json"))
	if err == nil {
		err = json.Unmarshal(b, &mk)
	}
	if err != nil || mk.DriveID == "" {
		t.Fatalf("drive marker of %s: %v", drive, err)
	}
	return mk.DriveID
}

type backupSummary struct {
	FilesNew        uint64 `json:"files_new"`
	FilesChanged    uint64 `json:"files_changed"`
	FilesUnmodified uint64 `json:"files_unmodified"`
	DataBlobs       uint64 `json:"data_blobs"`
	DataAdded       uint64 `json:"data_added"`
}

// summary finds the summary object in backup --json output.
func summary(t *testing.T, out string) backupSummary {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		var m struct {
			Type    string        `json:"message_type"`
			Summary backupSummary `json:"summary"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Type == "summary" {
			return m.Summary
		}
	}
	t.Fatalf("no summary in backup --json output:\n%s", out)
	return backupSummary{}
}

type seedInfo struct {
	JobState string `json:"job_state"`
	State    string `json:"state"`
	Adoption *struct {
		Files  int `json:"files"`
		Resent int `json:"resent"`
		Lost   int `json:"lost"`
	} `json:"adoption"`
}

func seedStatus(t *testing.T, u *user) seedInfo {
	t.Helper()
	var out []seedInfo
	r := u.ok("seedship", "seed", "status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("seed status --json: %v, %d seeds\n%s", err, len(out), r.stdout)
	}
	return out[0]
}

func snapshotIDs(t *testing.T, u *user) []string {
	t.Helper()
	var snaps []struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(u.ok("seedship", "snapshots", "--json").stdout), &snaps); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(snaps, func(a, b struct {
		ID   string    `json:"id"`
		Time time.Time `json:"time"`
	}) int {
		return a.Time.Compare(b.Time)
	})
	ids := make([]string, len(snaps))
	for i, s := range snaps {
		ids[i] = s.ID
	}
	return ids
}

// repoFiles lists the repository files below dir (not the import logs).
func repoFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"config", "keys", "index", "snapshots", "data"} {
		filepath.Walk(filepath.Join(dir, sub), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}
