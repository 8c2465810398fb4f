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
	if err := ru.copyFiles(ctx, root, m.Files); err != nil {
		return err
	}
	ru.ignored(root, m)
	ru.logs.copy.printf("# finished %s: %d files copied (%d bytes), %d already present, %d failed, %d entries not in the manifest ignored",
		ru.im.now().Format(time.RFC3339), res.FilesCopied, res.BytesWritten, res.FilesSkipped, res.FilesFailed, res.FilesIgnored)
	return nil
}

// copyFiles stores the files, putsInFlight at a time, each after the
// stager looked it up and, when it fits in memory, read and verified it;
// the stager works on the next file meanwhile. Outcomes are recorded in
// the manifest's order.
func (ru *run) copyFiles(ctx context.Context, root string, files []drive.File) error {
	ctx, cancel := context.WithCancel(ctx)
	limit := ru.im.bufferLimit
	if limit == 0 {
		limit = maxBuffered
	}
	s, staged := stage(ctx, ru.st, root, ru.job.Container, limit, files)
	var queue []*pendingPut
	defer func() {
		cancel()
		for _, p := range queue {
			<-p.done
		}
		for range staged { // wait for the stager to stop
		}
	}()
	for sf := range staged {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := &pendingPut{sf: sf, done: make(chan struct{})}
		go func() {
			defer close(p.done)
			p.o, p.why, p.err = ru.put(ctx, root, sf)
			s.done(sf)
		}()
		queue = append(queue, p)
		if err := ru.finishPuts(ctx, &queue, putsInFlight-1); err != nil {
			return err
		}
	}
	if err := ru.finishPuts(ctx, &queue, 0); err != nil {
		return err
	}
	return ctx.Err()
}

// pendingPut is a file being stored.
type pendingPut struct {
	sf   staged
	done chan struct{}
	o    outcome
	why  string
	err  error
}

// finishPuts waits for the oldest Puts of the queue, recording their
// outcomes, until keep are left; a failed Put stays in the queue.
func (ru *run) finishPuts(ctx context.Context, queue *[]*pendingPut, keep int) error {
	for len(*queue) > keep {
		p := (*queue)[0]
		<-p.done
		if p.err != nil {
			return p.err
		}
		*queue = (*queue)[1:]
		ru.record(p.sf.f, p.o, p.why)
		ru.report(p.sf.f.Path)
		if err := ru.save(ctx); err != nil {
			return err
		}
	}
	return nil
}

// put stores a staged file that is still to be copied.
func (ru *run) put(ctx context.Context, root string, sf staged) (outcome, string, error) {
	switch {
	case sf.err != nil:
		return failed, "", sf.err
	case sf.o != copied:
		return sf.o, sf.why, nil
	case sf.buffered:
		return putVerified(ctx, ru.st, sf.name, sf.f, sf.data)
	}
	return putStream(ctx, ru.st, root, sf.name, sf.f)
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
