// Package snapshot defines what a backup records: the Snapshot (one backup
// run: when, where, what, and a root tree) and the Tree of Nodes that
// describes directories, with their byte-exact JSON encodings.
//
// A tree is stored as a tree blob whose plaintext is the canonical JSON
// {"nodes":[...]}: nodes sorted by name in byte order, fields in a fixed
// order, times in UTC RFC 3339 with nanoseconds, empty fields omitted. The
// same directory therefore always encodes to the same bytes and dedups to the
// same blob ID. Strings that are not valid UTF-8 (file names, link targets,
// user and group names, xattr names) are written as base64 in a "<field>_raw"
// field instead of "<field>", so no byte of a name is ever lost.
//
// A snapshot is stored as a sealed file under snapshots/; its ID is the
// stored file's name. Paths and excludes that are not valid UTF-8 are
// written as "paths_raw"/"excludes_raw" (base64 each).
package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/seedship/seedship/internal/oid"
)

// ErrFormat is returned for malformed trees and snapshots.
var ErrFormat = errors.New("malformed snapshot data")

// Snapshot records one backup run.
type Snapshot struct {
	ID             oid.ID    // the stored file's name; set when loaded, not encoded
	Time           time.Time // start of the backup
	Hostname       string
	Username       string
	UID, GID       uint32
	Paths          []string // backed-up paths, absolute and cleaned
	Tree           oid.ID   // root tree
	Parent         *oid.ID  // snapshot used for change detection, if any
	Tags           []string
	Excludes       []string
	ProgramVersion string
	Summary        *Summary
}

// Summary holds the counts of a finished backup.
type Summary struct {
	BackupStart     time.Time `json:"backup_start"`
	BackupEnd       time.Time `json:"backup_end"`
	FilesNew        uint64    `json:"files_new"`
	FilesChanged    uint64    `json:"files_changed"`
	FilesUnmodified uint64    `json:"files_unmodified"`
	Dirs            uint64    `json:"dirs"`
	DirsNew         uint64    `json:"dirs_new"`
	DirsChanged     uint64    `json:"dirs_changed"`
	DirsUnmodified  uint64    `json:"dirs_unmodified"`
	Others          uint64    `json:"others"`     // symlinks, devices, fifos, sockets
	DataBlobs       uint64    `json:"data_blobs"` // data blobs added to the repository
	DataAdded       uint64    `json:"data_added"` // plaintext bytes of those blobs
	FilesProcessed  uint64    `json:"files_processed"`
	BytesProcessed  uint64    `json:"bytes_processed"` // content bytes of all files, read or reused
	Errors          uint64    `json:"errors"`          // files and directories skipped for errors
}

type snapshotJSON struct {
	Time           time.Time `json:"time"`
	Hostname       string    `json:"hostname"`
	Username       string    `json:"username,omitempty"`
	UID            uint32    `json:"uid,omitempty"`
	GID            uint32    `json:"gid,omitempty"`
	Paths          []string  `json:"paths,omitempty"`
	PathsRaw       [][]byte  `json:"paths_raw,omitempty"`
	Tree           oid.ID    `json:"tree"`
	Parent         *oid.ID   `json:"parent,omitempty"`
	Tags           []string  `json:"tags,omitempty"`
	Excludes       []string  `json:"excludes,omitempty"`
	ExcludesRaw    [][]byte  `json:"excludes_raw,omitempty"`
	ProgramVersion string    `json:"program_version,omitempty"`
	Summary        *Summary  `json:"summary,omitempty"`
}

// Marshal returns the JSON form of s (before sealing). Hostname, username,
// tags and program version must be valid UTF-8.
func (s *Snapshot) Marshal() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("marshal snapshot: %w", err)
	}
	for _, str := range append([]string{s.Hostname, s.Username, s.ProgramVersion}, s.Tags...) {
		if !utf8.ValidString(str) {
			return nil, fmt.Errorf("marshal snapshot: %w: %q is not valid UTF-8", ErrFormat, str)
		}
	}
	w := snapshotJSON{
		Time: s.Time, Hostname: s.Hostname, Username: s.Username, UID: s.UID, GID: s.GID,
		Tree: s.Tree, Parent: s.Parent, Tags: s.Tags, ProgramVersion: s.ProgramVersion, Summary: s.Summary,
	}
	w.Paths, w.PathsRaw = splitRawList(s.Paths)
	w.Excludes, w.ExcludesRaw = splitRawList(s.Excludes)
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("marshal snapshot: %w: %v", ErrFormat, err)
	}
	return b, nil
}

// ParseSnapshot decodes and validates the JSON form of a snapshot. The ID
// field is left zero for the caller to set.
func ParseSnapshot(b []byte) (*Snapshot, error) {
	var w snapshotJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: parse snapshot: %v", ErrFormat, err)
	}
	s := &Snapshot{
		Time: w.Time, Hostname: w.Hostname, Username: w.Username, UID: w.UID, GID: w.GID,
		Tree: w.Tree, Parent: w.Parent, Tags: w.Tags, ProgramVersion: w.ProgramVersion, Summary: w.Summary,
	}
	var err error
	if s.Paths, err = joinRawList("paths", w.Paths, w.PathsRaw); err != nil {
		return nil, err
	}
	if s.Excludes, err = joinRawList("excludes", w.Excludes, w.ExcludesRaw); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("parse snapshot: %w", err)
	}
	return s, nil
}

func (s *Snapshot) validate() error {
	switch {
	case s.Time.IsZero():
		return fmt.Errorf("%w: no time", ErrFormat)
	case s.Tree.IsNull():
		return fmt.Errorf("%w: no tree", ErrFormat)
	case len(s.Paths) == 0:
		return fmt.Errorf("%w: no paths", ErrFormat)
	}
	return nil
}

// splitRawList keeps list as strings when all are valid UTF-8, else encodes
// every element as raw bytes.
func splitRawList(list []string) ([]string, [][]byte) {
	for _, s := range list {
		if !utf8.ValidString(s) {
			raw := make([][]byte, len(list))
			for i, s := range list {
				raw[i] = []byte(s)
			}
			return nil, raw
		}
	}
	return list, nil
}

func joinRawList(what string, list []string, raw [][]byte) ([]string, error) {
	if len(list) > 0 && len(raw) > 0 {
		return nil, fmt.Errorf("%w: parse snapshot: both %s and %s_raw set", ErrFormat, what, what)
	}
	if len(raw) == 0 {
		return list, nil
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = string(r)
	}
	return out, nil
}
