package importer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/seedship/seedship/internal/store"
)

// maxLogAttempts bounds the numbered names tried for a log (copy.log,
// copy-2.log, …).
const maxLogAttempts = 1000

// logFile is one log, spooled to a temporary file so that a drive of
// hundreds of thousands of files needs no memory for its log.
type logFile struct {
	f *os.File
	w *bufio.Writer
}

func newLogFile(dir string) (*logFile, error) {
	f, err := os.CreateTemp(dir, "seedship-import-*.log")
	if err != nil {
		return nil, fmt.Errorf("create import log: %w", err)
	}
	return &logFile{f: f, w: bufio.NewWriter(f)}, nil
}

// printf appends a line; write errors surface in publish.
func (l *logFile) printf(format string, args ...any) {
	fmt.Fprintf(l.w, format+"\n", args...)
}

func (l *logFile) close() {
	l.f.Close()
	os.Remove(l.f.Name())
}

// publish stores the log as prefix/base.log, or base-N.log for the first
// N that does not exist yet (objects are create-only), and returns the
// object name.
func (l *logFile) publish(ctx context.Context, st store.Putter, prefix, base string) (string, error) {
	if err := l.w.Flush(); err != nil {
		return "", fmt.Errorf("write import log: %w", err)
	}
	size, err := l.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", fmt.Errorf("write import log: %w", err)
	}
	for n := 1; n <= maxLogAttempts; n++ {
		name := prefix + "/" + base + ".log"
		if n > 1 {
			name = prefix + "/" + base + "-" + strconv.Itoa(n) + ".log"
		}
		err := st.Put(ctx, name, io.NewSectionReader(l.f, 0, size), size)
		if !errors.Is(err, store.ErrExists) {
			return name, err
		}
	}
	return "", fmt.Errorf("store import log %s/%s.log: %d earlier logs exist", prefix, base, maxLogAttempts)
}

// driveLogs are a drive's copy log and error log.
type driveLogs struct {
	copy, errs *logFile
}

func newDriveLogs(dir string) (*driveLogs, error) {
	c, err := newLogFile(dir)
	if err != nil {
		return nil, err
	}
	e, err := newLogFile(dir)
	if err != nil {
		c.close()
		return nil, err
	}
	return &driveLogs{copy: c, errs: e}, nil
}

func (d *driveLogs) close() {
	d.copy.close()
	d.errs.close()
}

// publish stores both logs under prefix and returns their object names.
func (d *driveLogs) publish(ctx context.Context, st store.Putter, prefix string) (copyLog, errLog string, err error) {
	if copyLog, err = d.copy.publish(ctx, st, prefix, "copy"); err != nil {
		return "", "", err
	}
	if errLog, err = d.errs.publish(ctx, st, prefix, "errors"); err != nil {
		return copyLog, "", err
	}
	return copyLog, errLog, nil
}
