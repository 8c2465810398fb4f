package importer

import (
	"context"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/seedship/seedship/internal/drive"
)

// maxIgnoredLogged bounds the ignored entries listed in a copy log (all are
// counted).
const maxIgnoredLogged = 10000

// copyAll copies every file of the manifest, then lists what the drive
// holds besides.
func (ru *run) copyAll(ctx context.Context, root string, m *drive.Manifest) error {
	res := ru.res
	res.Files, res.Bytes = len(m.Files), m.Bytes()
	ru.logs.copy.printf("# seedship import log: job %s, drive %s (seq %d), container %s, station %s, started %s",
		ru.job.Name, m.DriveID, m.Seq, ru.job.Container, ru.station, ru.im.now().Format(time.RFC3339))
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		o, why, err := copyFile(ctx, ru.st, root, ru.job.Container, f)
		if err != nil {
			return err
		}
		ru.record(f, o, why)
		ru.report(f.Path)
		if err := ru.save(ctx); err != nil {
			return err
		}
	}
	ru.ignored(root, m)
	ru.logs.copy.printf("# finished %s: %d files copied (%d bytes), %d already present, %d failed, %d entries not in the manifest ignored",
		ru.im.now().Format(time.RFC3339), res.FilesCopied, res.BytesWritten, res.FilesSkipped, res.FilesFailed, res.FilesIgnored)
	return nil
}

// record counts and logs one file's outcome.
func (ru *run) record(f drive.File, o outcome, why string) {
	res := ru.res
	switch o {
	case copied:
		res.FilesCopied++
		res.BytesCopied += f.Size
		res.BytesWritten += f.Size
		ru.logs.copy.printf("copied %s %d %s", f.Path, f.Size, f.SHA256)
	case skipped:
		res.FilesSkipped++
		res.BytesCopied += f.Size
		ru.logs.copy.printf("present %s %d %s", f.Path, f.Size, f.SHA256)
	default:
		res.FilesFailed++
		ru.logs.copy.printf("failed %s (see the error log)", f.Path)
		ru.logs.errs.printf("failed %s: %s", f.Path, why)
		if len(res.Failures) < MaxFailures {
			res.Failures = append(res.Failures, Failure{Path: f.Path, Reason: why})
			ru.im.log().Warn("file not imported", "job", ru.job.Name, "drive", res.DriveID, "path", f.Path, "reason", why)
		}
	}
}

func (ru *run) report(path string) {
	if ru.im.Progress == nil {
		return
	}
	res := ru.res
	ru.im.Progress(Progress{Job: res.Job, DriveID: res.DriveID, Path: path, Files: res.Files, Bytes: res.Bytes,
		FilesDone: res.FilesCopied + res.FilesSkipped + res.FilesFailed, FilesFailed: res.FilesFailed,
		BytesCopied: res.BytesCopied})
}

// ignored logs the drive's entries that the manifest does not list (the
// format's own files aside). They are never copied. The walk does not
// follow symbolic links.
func (ru *run) ignored(root string, m *drive.Manifest) {
	listed := make(map[string]struct{}, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = struct{}{}
	}
	own := map[string]bool{drive.ManifestName: true, drive.MACName: true, drive.MarkerName: true}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		_, isListed := listed[rel]
		kind := "file"
		switch {
		case err != nil:
			kind = "unreadable"
		case d.IsDir() || isListed || own[rel]:
			return nil // a listed entry that is no regular file failed already
		case d.Type()&fs.ModeSymlink != 0:
			kind = "symbolic link"
		case !d.Type().IsRegular():
			kind = "special file"
		}
		ru.res.FilesIgnored++
		if ru.res.FilesIgnored <= maxIgnoredLogged {
			ru.logs.copy.printf("ignored %s (%s, not in the manifest)", quote(rel), kind)
		}
		return nil
	})
	if n := ru.res.FilesIgnored; n > 0 {
		ru.im.log().Info("entries not in the manifest ignored", "job", ru.job.Name, "drive", ru.res.DriveID, "count", n)
	}
}
