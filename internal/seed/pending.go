package seed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/importjob"
)

// PendingDir is the folder of seedship's config folder that holds one
// Pending file per offline seed of this machine.
const PendingDir = "seeds"

// Seed states on the machine.
const (
	// StateWaiting: the drives are on their way or being imported; backups
	// go to the vault and dedup against the seed.
	StateWaiting = "waiting"
	// StateAdopted: the vault holds every pack of the seed.
	StateAdopted = "adopted"
	// StateCleaned: adopted, and the staging location was removed.
	StateCleaned = "cleaned"
)

// ErrPending: a pending-seed file is malformed.
var ErrPending = errors.New("invalid seed file")

// Pending is the machine's record of one offline seed: where its staging
// location is and how far the vault got with it. It lives in seedship's
// config folder, next to the machine's registration, because the staging
// location may be removed while the record is still needed.
type Pending struct {
	Format  int    `json:"format"`
	Job     string `json:"job"`
	Staging string `json:"staging"`
	// Repository is the ID of the staging repository, which is the
	// machine's vault repository.
	Repository string `json:"repository"`
	State      string `json:"state"`
	// Synced is set once the staging location's metadata (config, keys,
	// index and snapshot files) is in the vault.
	Synced bool `json:"synced"`
	// TreesSynced is set once the packs holding the seed's trees are in
	// the vault (they are small, and a lost tree cannot be rebuilt).
	TreesSynced bool `json:"trees_synced,omitempty"`
	// JobState is the import job's state when last seen.
	JobState importjob.JobState `json:"job_state,omitempty"`
	Created  time.Time          `json:"created"`
	Adopted  time.Time          `json:"adopted,omitzero"`
	// Adoption is what the adoption did.
	Adoption *Adoption `json:"adoption,omitempty"`
	// ContainerRemoved is set once the storage container's copy was
	// deleted (seed cleanup --container).
	ContainerRemoved bool `json:"container_removed,omitempty"`
}

// Adoption summarises an adoption.
type Adoption struct {
	// Files and Bytes the vault copied from the storage container.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Present counts container files the vault already held.
	Present int `json:"present"`
	// Damaged lists container files that failed verification.
	Damaged []string `json:"damaged,omitempty"`
	// Resent counts packs re-sent from the staging location; ResentBytes
	// their size.
	Resent      int   `json:"resent"`
	ResentBytes int64 `json:"resent_bytes"`
	// Lost counts packs that could be neither adopted nor re-sent: the
	// backup re-read the source files whose chunks they held.
	Lost int `json:"lost"`
}

func pendingPath(configDir, job string) string {
	return filepath.Join(configDir, PendingDir, job+".json")
}

// SavePending writes p into configDir (mode 0600, atomically).
func SavePending(configDir string, p *Pending) error {
	if err := importjob.ValidateName(p.Job); err != nil {
		return fmt.Errorf("%w: %w", ErrPending, err)
	}
	dir := filepath.Join(configDir, PendingDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seed file: %w", err)
	}
	if p.Format == 0 {
		p.Format = FormatVersion
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(dir, p.Job+".json", append(b, '\n'), 0o600)
}

// LoadPending returns the machine's seeds, oldest first; none when the
// folder does not exist.
func LoadPending(configDir string) ([]*Pending, error) {
	dir := filepath.Join(configDir, PendingDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("seed files: %w", err)
	}
	var out []*Pending
	for _, ent := range ents {
		name, ok := strings.CutSuffix(ent.Name(), ".json")
		if !ok || !ent.Type().IsRegular() || strings.HasPrefix(name, ".") {
			continue
		}
		p, err := readPending(filepath.Join(dir, ent.Name()))
		if err != nil {
			return nil, err
		}
		if p.Job != name {
			return nil, fmt.Errorf("%w: %s names job %q", ErrPending, filepath.Join(dir, ent.Name()), p.Job)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Pending) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func readPending(path string) (*Pending, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seed file: %w", err)
	}
	var p Pending
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrPending, path, err)
	}
	switch {
	case p.Format != FormatVersion:
		return nil, fmt.Errorf("%w: %s: format %d, this seedship reads %d: upgrade seedship", ErrPending, path, p.Format, FormatVersion)
	case p.State != StateWaiting && p.State != StateAdopted && p.State != StateCleaned:
		return nil, fmt.Errorf("%w: %s: unknown state %q", ErrPending, path, p.State)
	case !filepath.IsAbs(p.Staging):
		return nil, fmt.Errorf("%w: %s: staging location %q is not an absolute path", ErrPending, path, p.Staging)
	}
	if err := importjob.ValidateName(p.Job); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPending, path, err)
	}
	return &p, nil
}

// Active reports whether the seed still needs the vault's attention.
func (p *Pending) Active() bool { return p.State == StateWaiting }

// DrivesDone counts the job's drives whose import is over (or that will
// never arrive), and all drives.
func DrivesDone(j *importjob.Job) (done, total int) {
	for _, d := range j.Drives {
		if d.State.Done() || d.State == importjob.DriveNeverReceived || d.State == importjob.DriveShippedBack {
			done++
		}
	}
	return done, len(j.Drives)
}

// Adoptable reports whether the job's data is in the storage container
// (Packaging or later, not cancelled or expired).
func Adoptable(s importjob.JobState) bool {
	return s == importjob.JobPackaging || s == importjob.JobCompleted || s == importjob.JobCompletedWithErrors
}

// Abandoned reports whether the job ended without importing anything.
func Abandoned(s importjob.JobState) bool {
	return s == importjob.JobCancelled || s == importjob.JobExpired
}
