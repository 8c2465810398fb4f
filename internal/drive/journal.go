package drive

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Names in the staging directory.
const (
	// JournalName is the disk-preparation journal in the staging directory.
	JournalName = "seedship-diskprep.journal"
	// SeedRecordName is the seed record in the staging directory; it is not
	// copied to drives.
	SeedRecordName = "seedship-seed.json"
	// journalVersion is the version written in the journal's first record.
	journalVersion = 1
	// maxJournalLine bounds one journal line.
	maxJournalLine = 64 << 10
)

// Errors about the journal and the staging directory.
var (
	// ErrJournal: the journal is damaged or belongs to another job.
	ErrJournal = errors.New("disk-preparation journal")
	// ErrBusy: another disk preparation holds the staging directory.
	ErrBusy = errors.New("disk preparation already running")
)

// Journal operations, one per line.
const (
	opBegin   = "begin"   // version, job
	opStart   = "start"   // drive, seq, mount, time (the manifest's created)
	opFile    = "file"    // drive, path, size, sha256: file durable on the drive
	opDrop    = "drop"    // drive, path: file removed from the drive to make room
	opFinish  = "finish"  // drive, manifest, bytes, files: manifest and MAC durable (and verified)
	opAbandon = "abandon" // drive: the unfinished drive is given up; its files are copied again
	opDone    = "done"    // bytes, files: every staging file is on a finished drive
)

// record is one journal line.
type record struct {
	Op       string    `json:"op"`
	Version  int       `json:"version,omitempty"`
	Job      string    `json:"job,omitempty"`
	Drive    string    `json:"drive,omitempty"`
	Seq      int       `json:"seq,omitempty"`
	Mount    string    `json:"mount,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	Path     string    `json:"path,omitempty"`
	Size     int64     `json:"size,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Manifest string    `json:"manifest,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	Files    int       `json:"files,omitempty"`
}

// driveRec is what the journal says about one drive.
type driveRec struct {
	id       string
	seq      int
	mount    string
	created  time.Time
	files    []File
	bytes    int64
	finished bool
	manifest string // hex SHA-256 of the manifest, once finished
}

// journalState is the replayed journal.
type journalState struct {
	job    string
	drives []*driveRec          // started and not abandoned, in order
	onDisk map[string]*driveRec // file path → drive holding it
	gaveUp map[string]bool      // ids of abandoned drives
	done   bool
}

// unfinished returns the drive being filled, or nil.
func (s *journalState) unfinished() *driveRec {
	if n := len(s.drives); n > 0 && !s.drives[n-1].finished {
		return s.drives[n-1]
	}
	return nil
}

// apply replays one record.
func (s *journalState) apply(r record) error {
	if s.job == "" && r.Op != opBegin {
		return fmt.Errorf("first record is %q, want %q", r.Op, opBegin)
	}
	if s.done {
		return fmt.Errorf("record %q after %q", r.Op, opDone)
	}
	cur := s.unfinished()
	if r.Op != opBegin && r.Op != opStart && r.Op != opDone && (cur == nil || cur.id != r.Drive) {
		return fmt.Errorf("record %q for drive %q, which is not being filled", r.Op, r.Drive)
	}
	switch r.Op {
	case opBegin:
		return s.applyBegin(r)
	case opStart:
		return s.applyStart(r, cur)
	case opFile:
		return s.applyFile(r, cur)
	case opDrop:
		return s.applyDrop(r, cur)
	case opFinish:
		if !isHex(r.Manifest, 64) || r.Files != len(cur.files) || r.Bytes != cur.bytes {
			return fmt.Errorf("finish of drive %s does not match its files", cur.id)
		}
		cur.finished, cur.manifest = true, r.Manifest
		if r.Mount != "" {
			cur.mount = r.Mount
		}
	case opAbandon:
		for _, f := range cur.files {
			delete(s.onDisk, f.Path)
		}
		s.drives = s.drives[:len(s.drives)-1]
		s.gaveUp[cur.id] = true
	case opDone:
		if cur != nil {
			return fmt.Errorf("done while drive %s is being filled", cur.id)
		}
		s.done = true
	default:
		return fmt.Errorf("unknown operation %q", r.Op)
	}
	return nil
}

func (s *journalState) applyBegin(r record) error {
	if s.job != "" || r.Version != journalVersion || r.Job == "" {
		return fmt.Errorf("bad begin record (version %d, job %q)", r.Version, r.Job)
	}
	s.job = r.Job
	return nil
}

func (s *journalState) applyStart(r record, cur *driveRec) error {
	if cur != nil {
		return fmt.Errorf("drive %s started while drive %s is being filled", r.Drive, cur.id)
	}
	if !isHex(r.Drive, 32) || r.Seq != len(s.drives)+1 || r.Mount == "" || r.Time.IsZero() {
		return fmt.Errorf("bad start record for drive %q (seq %d)", r.Drive, r.Seq)
	}
	for _, d := range s.drives {
		if d.id == r.Drive {
			return fmt.Errorf("drive %s started twice", r.Drive)
		}
	}
	s.drives = append(s.drives, &driveRec{id: r.Drive, seq: r.Seq, mount: r.Mount, created: r.Time})
	return nil
}

func (s *journalState) applyFile(r record, cur *driveRec) error {
	f := File{Path: r.Path, Size: r.Size, SHA256: r.SHA256}
	if err := checkFile(f); err != nil {
		return err
	}
	if d := s.onDisk[f.Path]; d != nil {
		return fmt.Errorf("file %s recorded twice (drives %s and %s)", f.Path, d.id, cur.id)
	}
	cur.files = append(cur.files, f)
	cur.bytes += f.Size
	s.onDisk[f.Path] = cur
	return nil
}

func (s *journalState) applyDrop(r record, cur *driveRec) error {
	i := slices.IndexFunc(cur.files, func(f File) bool { return f.Path == r.Path })
	if i < 0 {
		return fmt.Errorf("drop of %s, which is not on drive %s", r.Path, cur.id)
	}
	cur.bytes -= cur.files[i].Size
	cur.files = slices.Delete(cur.files, i, i+1)
	delete(s.onDisk, r.Path)
	return nil
}

// journal appends records to the journal file, each followed by fsync.
type journal struct {
	f   *os.File
	hk  *hooks
	enc []byte
}

// openJournal opens (creating it if needed) and locks the journal in the
// staging directory, replays it and checks it belongs to job. A torn last
// line — a crash during an append — is cut off.
func openJournal(staging, job string, hk *hooks) (*journal, *journalState, error) {
	name := filepath.Join(staging, JournalName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	j := &journal{f: f, hk: hk}
	st, err := j.load(job)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return j, st, nil
}

func (j *journal) load(job string) (*journalState, error) {
	if err := lockFile(j.f); err != nil {
		return nil, err
	}
	st, valid, err := replay(j.f)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrJournal, j.f.Name(), err)
	}
	if st.job != job && len(st.drives) == 0 && len(st.gaveUp) == 0 && !st.done {
		valid, st.job = 0, "" // nothing prepared yet: the job name may change
	}
	if err := j.cut(valid); err != nil {
		return nil, err
	}
	if st.job == "" {
		if err := j.append(record{Op: opBegin, Version: journalVersion, Job: job}); err != nil {
			return nil, err
		}
		if err := j.hk.syncDir(filepath.Dir(j.f.Name())); err != nil {
			return nil, err
		}
		st.job = job
	}
	if st.job != job {
		return nil, fmt.Errorf("%w %s: the staging location was prepared for job %q, not %q", ErrJournal, j.f.Name(), st.job, job)
	}
	return st, nil
}

// replay reads the journal and returns its state and the length of its
// complete lines.
func replay(r io.Reader) (*journalState, int64, error) {
	st := &journalState{onDisk: map[string]*driveRec{}, gaveUp: map[string]bool{}}
	br := bufio.NewReaderSize(r, 1<<16)
	var valid int64
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == io.EOF {
			return st, valid, nil // a line without newline is torn: ignored
		}
		if err != nil {
			return nil, 0, fmt.Errorf("line %d: %v", n, err)
		}
		var rec record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, 0, fmt.Errorf("line %d: %v", n, err)
		}
		if err := st.apply(rec); err != nil {
			return nil, 0, fmt.Errorf("line %d: %v", n, err)
		}
		valid += int64(len(line))
	}
}

// cut truncates the journal to its complete lines and positions the file at
// the end for appending.
func (j *journal) cut(valid int64) error {
	fi, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if fi.Size() != valid {
		if err := j.f.Truncate(valid); err != nil {
			return fmt.Errorf("journal: cut torn line: %w", err)
		}
		if err := j.hk.sync(j.f); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if _, err := j.f.Seek(valid, io.SeekStart); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// append writes records, one line each, with one write, and syncs the
// journal.
func (j *journal) append(rs ...record) error {
	j.enc = j.enc[:0]
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if len(b) >= maxJournalLine {
			return fmt.Errorf("journal: record for %s too long", r.Path)
		}
		j.enc = append(append(j.enc, b...), '\n')
	}
	if len(rs) == 0 {
		return nil
	}
	if err := j.hk.do(opJournalWrite, rs[len(rs)-1].Op); err != nil {
		return err
	}
	if _, err := j.f.Write(j.enc); err != nil {
		return fmt.Errorf("journal: write: %w", err)
	}
	if err := j.hk.do(opJournalSync, rs[len(rs)-1].Op); err != nil {
		return err
	}
	if err := j.hk.sync(j.f); err != nil {
		return fmt.Errorf("journal: sync: %w", err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }
