package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/drive"
)

// Errors of steps whose command succeeded but did not do its part.
var (
	errNoDrives   = errors.New("diskprep filled no drive")
	errNotAdopted = errors.New("the backup after the import did not adopt the seed")
)

func (q *qs) offlineBackup(ctx context.Context) error {
	staging := q.path("staging")
	return q.run(ctx, "offline backup", func(string) (string, error) {
		sizes, err := qsStagingSizes(staging)
		if err != nil {
			return "", err
		}
		for _, n := range sizes {
			q.fig.staging += n
		}
		q.fig.stagingN = len(sizes)
		return fmt.Sprintf("%s into staging/: a %s repository, %.2f of the source; %s",
			formatBytes(q.fig.source.bytes), formatBytes(q.fig.staging),
			qsRatio(q.fig.staging, q.fig.source.bytes), qsRate(q.fig.source.bytes, time.Since(q.began))), nil
	}, "backup", "--offline", "--staging", staging, "--job", qsJob, "--account-settings", q.path("acme-settings.json"),
		"--storage-account", qsStorageAccount, "--container", qsContainer, q.src)
}

// diskprep copies the staging location onto simulated drives (folders)
// with a capacity that spreads a seed of two large packs or more over
// several drives.
func (q *qs) diskprep(ctx context.Context) error {
	sizes, err := qsStagingSizes(q.path("staging"))
	if err != nil {
		return err
	}
	capacity, n := qsDriveCapacity(sizes)
	q.fig.capacity = capacity
	args := []string{"diskprep", "--staging", q.path("staging")}
	var drives []string
	for i := range n {
		d := q.path(fmt.Sprintf("drive%d", i+1))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		drives = append(drives, d)
		args = append(args, "--drive", d)
	}
	args = append(args, "--drive-capacity", fmt.Sprint(capacity))
	err = q.run(ctx, "diskprep", func(string) (string, error) { return q.drivesUsed(ctx, drives) }, args...)
	if err == nil && len(q.drives) == 0 {
		err = errNoDrives
	}
	return err
}

// drivesUsed notes the drives diskprep filled (diskprep fills them in
// order), removes the folders it did not need, and describes the drives
// as the import job lists them.
func (q *qs) drivesUsed(ctx context.Context, folders []string) (string, error) {
	for _, d := range folders {
		if _, err := os.Stat(filepath.Join(d, drive.ManifestName)); err != nil {
			os.Remove(d) // an empty folder diskprep did not need
			continue
		}
		q.drives = append(q.drives, d)
	}
	ds, err := q.svc.drives(ctx)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, d := range ds {
		q.fig.driveBytes += d.Bytes
		parts = append(parts, fmt.Sprintf("%s, %s", qsPlural(d.Files, "file"), formatBytes(d.Bytes)))
	}
	q.fig.drives = len(ds)
	return fmt.Sprintf("%s of at most %s (%s), verified; import job created",
		qsPlural(len(ds), "drive"), formatBytes(q.fig.capacity), strings.Join(parts, "; ")), nil
}

// datacenter receives and imports every drive, as seedshipd ops does.
func (q *qs) datacenter(ctx context.Context) error {
	im := q.svc.importer(q.path("service"))
	svcDir := q.path("service")
	for i, d := range q.drives {
		err := q.step(fmt.Sprintf("receive %d", i+1), qsCommand("seedshipd", "ops", "receive", "--data", svcDir, "--job", qsJob, "--drive", d),
			func() (string, error) { return q.svc.receive(ctx, im, d) })
		if err != nil {
			return err
		}
		err = q.step(fmt.Sprintf("import %d", i+1), qsCommand("seedshipd", "ops", "import", "--data", svcDir, "--job", qsJob, "--drive", d),
			func() (string, error) {
				r, err := q.svc.importDrive(ctx, im, d)
				if err != nil {
					return "", err
				}
				q.fig.imported += r.BytesCopied
				return fmt.Sprintf("drive %d: %s, %s into datacenter/%s/, each verified; %s; job %s",
					r.Seq, qsPlural(r.FilesCopied+r.FilesSkipped, "file"), formatBytes(r.BytesCopied), qsContainer,
					qsRate(r.BytesCopied, time.Since(q.began)), r.JobState), nil
			})
		q.fig.importTime += time.Since(q.began)
		if err != nil {
			return err
		}
	}
	return nil
}

// afterImport runs the customer's side after the import: adoption, an
// incremental, a verified restore, a check; the drives go back; the
// seed's status.
func (q *qs) afterImport(ctx context.Context) error {
	if err := q.run(ctx, "adoption", qsAdoptionFacts, "backup", q.src); err != nil {
		return err
	}
	if err := q.step("change", "(edit files in "+q.src+")", func() (string, error) {
		what, n, err := qsChangeSource(q.src, q.fig.source.bytes)
		q.fig.changed = n
		return what, err
	}); err != nil {
		return err
	}
	if err := q.incremental(ctx); err != nil {
		return err
	}
	if err := q.restore(ctx); err != nil {
		return err
	}
	if err := q.run(ctx, "check", qsCheckFacts, "check", "--read-data"); err != nil {
		return err
	}
	im := q.svc.importer(q.path("service"))
	err := q.step("ship back", qsCommand("seedshipd", "ops", "ship-back", "--data", q.path("service"), "--job", qsJob, "--carrier", "UPS", "--tracking", "1ZQUICKSTARTBACK"),
		func() (string, error) { return q.svc.shipBack(ctx, im) })
	if err != nil {
		return err
	}
	return q.run(ctx, "seed status", qsSeedStatusFacts, "seed", "status")
}

// incremental backs up the change over the network and measures what it
// sent.
func (q *qs) incremental(ctx context.Context) error {
	args := []string{"backup", "--json", q.src}
	return q.step("incremental", qsCommand(append([]string{"seedship"}, args...)...), func() (string, error) {
		in0, _ := q.svc.traffic()
		out, err := q.seedship(ctx, args...)
		if err != nil {
			return "", err
		}
		in, _ := q.svc.traffic()
		q.fig.sent = in - in0
		var sum struct {
			Summary struct {
				FilesNew        uint64 `json:"files_new"`
				FilesChanged    uint64 `json:"files_changed"`
				FilesUnmodified uint64 `json:"files_unmodified"`
				DataBlobs       uint64 `json:"data_blobs"`
				DataAdded       uint64 `json:"data_added"`
			} `json:"summary"`
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
			return "", fmt.Errorf("backup --json summary: %w", err)
		}
		s := sum.Summary
		q.fig.added = int64(s.DataAdded)
		return fmt.Sprintf("%d new, %d changed, %d unmodified files; %s (%s) new",
			s.FilesNew, s.FilesChanged, s.FilesUnmodified, qsPlural(int(s.DataBlobs), "chunk"), formatBytes(int64(s.DataAdded))), nil
	})
}

// restore restores the latest snapshot from the vault, verifies it and
// compares it with the source.
func (q *qs) restore(ctx context.Context) error {
	target := q.path("restore")
	args := []string{"restore", "latest", "--verify", "--target", target}
	return q.step("restore", qsCommand(append([]string{"seedship"}, args...)...), func() (string, error) {
		if _, err := q.seedship(ctx, args...); err != nil {
			return "", err
		}
		if err := compareTrees(q.src, filepath.Join(target, q.src)); err != nil {
			return "", fmt.Errorf("restored files differ from %s: %w", q.src, err)
		}
		st, err := qsStatTree(filepath.Join(target, q.src))
		if err != nil {
			return "", err
		}
		q.fig.restored = st.bytes
		return fmt.Sprintf("latest snapshot: %s, %s, verified, identical to %s; %s",
			qsPlural(st.files, "file"), formatBytes(st.bytes), q.rel(q.src+"/"), qsRate(st.bytes, time.Since(q.began))), nil
	})
}

// qsRegisterFacts names the machine that register created.
func qsRegisterFacts(out string) (string, error) {
	id := "?"
	if _, rest, ok := strings.Cut(out, "registered this machine as "); ok {
		id, _, _ = strings.Cut(rest, " ")
	}
	return fmt.Sprintf("this machine is %.8s… in vault %s; its identity in config/", id, qsVault), nil
}

// qsAdoptionFacts picks what the adopting backup says about the seed; a
// backup that adopted nothing fails the step.
func qsAdoptionFacts(out string) (string, error) {
	for _, line := range strings.Split(out, "\n") {
		if _, what, ok := strings.Cut(line, " adopted: "); ok {
			what, _, _ = strings.Cut(what, " read again")
			return "the vault adopted the seed: " + strings.Replace(what, "the storage container", "the container", 1), nil
		}
	}
	return "", errNotAdopted
}

func qsCheckFacts(out string) (string, error) {
	line, _, _ := strings.Cut(out, "\n")
	return strings.TrimPrefix(line, "checked "), nil
}

func qsSeedStatusFacts(out string) (string, error) {
	var parts []string
	for _, line := range strings.Split(out, "\n") {
		for _, k := range []string{"job state:", "seed:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), k); ok {
				parts = append(parts, strings.TrimSuffix(strings.Fields(k)[0], ":")+" "+strings.TrimSpace(v))
			}
		}
	}
	return strings.Join(parts, "; "), nil
}

// qsPlural is "1 file", "2 files".
func qsPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
