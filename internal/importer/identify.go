package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/seedship/seedship/internal/drive"
	"github.com/seedship/seedship/internal/meta"
)

// checked is a drive read against a job: either its authenticated manifest,
// or the job's drive it claims to be and why it failed.
type checked struct {
	manifest *drive.Manifest // nil when the drive failed
	driveID  string
	failure  string // non-empty: the drive is the job's but failed verification
}

// check reads the drive at root against the job: MAC with the job key,
// then the manifest, then the registered hash (drive.ReadManifest does the
// first two). A drive that cannot be matched to one of the job's drives
// is refused with ErrForeignDrive; a drive of the job that fails a check
// comes back with a failure reason.
func (im *Importer) check(ctx context.Context, r meta.JobRecord, root string) (checked, error) {
	key, err := jobKey(r)
	if err != nil {
		return checked{}, err
	}
	m, raw, err := drive.ReadManifest(root, key)
	if err != nil {
		id := claimedID(root)
		if id != "" && r.Job.Drive(id) != nil {
			return checked{driveID: id, failure: err.Error()}, nil
		}
		return checked{}, im.foreign(ctx, r, root, id, err.Error())
	}
	d := r.Job.Drive(m.DriveID)
	if d == nil {
		return checked{}, im.foreign(ctx, r, root, m.DriveID, "its manifest was written with this job's key, but the job does not list the drive")
	}
	c := checked{manifest: m, driveID: m.DriveID}
	switch h := drive.ManifestHash(raw); {
	case h != d.ManifestHash:
		c.failure = fmt.Sprintf("manifest hash %s differs from the hash %s registered for the drive: the drive was changed or prepared again after the job was created", h, d.ManifestHash)
	case m.Job != r.Job.Name || m.Seq != d.Seq:
		c.failure = fmt.Sprintf("manifest names job %s drive %d, registered as job %s drive %d", m.Job, m.Seq, r.Job.Name, d.Seq)
	}
	if c.failure != "" {
		c.manifest = nil
	}
	return c, nil
}

// foreign builds the refusal of a drive that is not the job's, naming the
// job it is registered with when there is one, and logs it.
func (im *Importer) foreign(ctx context.Context, r meta.JobRecord, root, id, why string) error {
	var err error
	switch owner := im.owner(ctx, id, r.Job.ID); {
	case id == "":
		err = fmt.Errorf("%w: cannot identify the drive at %s (%s): check the path and that the drive is mounted", ErrForeignDrive, root, why)
	case owner != nil:
		err = fmt.Errorf("%w: drive %s at %s belongs to import job %s of account %s, not to job %s: receive it against that job",
			ErrForeignDrive, id, root, owner.Job.Name, owner.Job.Account, r.Job.Name)
	default:
		err = fmt.Errorf("%w: drive %s at %s is not a drive of job %s nor of any other import job (%s): keep it aside and contact the customer",
			ErrForeignDrive, id, root, r.Job.Name, why)
	}
	im.log().Warn("drive refused", "job", r.Job.Name, "account", r.Job.Account, "drive", id, "path", root, "reason", err.Error())
	return err
}

// owner returns the job, other than skipID, that lists drive id, or nil.
func (im *Importer) owner(ctx context.Context, id, skipID string) *meta.JobRecord {
	if id == "" {
		return nil
	}
	rs, err := im.DB.ListJobs(ctx, meta.JobFilter{})
	if err != nil {
		return nil
	}
	for i := range rs {
		if rs[i].Job.ID != skipID && rs[i].Job.Drive(id) != nil {
			return &rs[i]
		}
	}
	return nil
}

// claimedID returns the drive id a drive claims, unauthenticated: from its
// manifest if it decodes, else from its marker; "" when neither says.
func claimedID(root string) string {
	for _, f := range []struct {
		name  string
		limit int64
	}{{drive.ManifestName, drive.MaxManifestSize}, {drive.MarkerName, 4096}} {
		b, err := readSmall(root, f.name, f.limit)
		if err != nil {
			continue
		}
		var v struct {
			DriveID string `json:"drive_id"`
		}
		if json.Unmarshal(b, &v) == nil && isHex32(v.DriveID) {
			return v.DriveID
		}
	}
	return ""
}

// readSmall reads the regular file name at the top of root without
// following a link, refusing files over limit before reading them.
func readSmall(root, name string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(filepath.Join(root, name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > limit {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", f.Name(), limit)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
