package drive

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/seedship/seedship/internal/importjob"
)

// Names and limits of the drive format.
const (
	// FormatVersion is the manifest format this package reads and writes.
	FormatVersion = 1
	// ManifestName is the manifest's file name at the root of a drive.
	ManifestName = "seedship-manifest.json"
	// MACName holds the hex HMAC-SHA256 of the manifest's bytes.
	MACName = "seedship-manifest.mac"
	// MaxManifestSize is the largest manifest accepted, in bytes.
	MaxManifestSize = 64 << 20
	// MaxFiles is the largest number of files a manifest may list.
	MaxFiles = 10_000_000
	// JobKeySize is the length of a job key in bytes.
	JobKeySize = 32
)

// Errors of the drive format.
var (
	// ErrManifest: a manifest is malformed or breaks a rule of the format.
	ErrManifest = errors.New("invalid drive manifest")
	// ErrMAC: the manifest's MAC does not match (wrong key or tampered).
	ErrMAC = errors.New("drive manifest MAC mismatch")
	// ErrJobKey: a job key is not JobKeySize bytes.
	ErrJobKey = errors.New("invalid job key")
)

// Manifest lists the files of one drive.
type Manifest struct {
	Format  int       `json:"format"`
	Job     string    `json:"job"`
	DriveID string    `json:"drive_id"` // 16 random bytes, lower-case hex
	Seq     int       `json:"seq"`      // 1, 2, … within the job
	Created time.Time `json:"created"`
	Files   []File    `json:"files"`
}

// File is one file on a drive.
type File struct {
	Path   string `json:"path"` // slash-separated, relative, clean (CheckPath)
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// Bytes returns the total size of the manifest's files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Marshal checks m and encodes it: one JSON object, one file per line, so
// the same manifest always encodes to the same bytes.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	head, err := json.Marshal(struct {
		Format  int       `json:"format"`
		Job     string    `json:"job"`
		DriveID string    `json:"drive_id"`
		Seq     int       `json:"seq"`
		Created time.Time `json:"created"`
	}{m.Format, m.Job, m.DriveID, m.Seq, m.Created})
	if err != nil {
		return nil, fmt.Errorf("encode manifest of drive %s: %w", m.DriveID, err)
	}
	buf.Write(head[:len(head)-1])
	buf.WriteString(`,"files":[`)
	for i, f := range m.Files {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.Write(encodeFile(f))
	}
	buf.WriteString("\n]}\n")
	return buf.Bytes(), nil
}

func encodeFile(f File) []byte {
	b, _ := json.Marshal(f) // cannot fail: strings and an integer
	return b
}

// entrySize is the number of bytes f adds to a marshalled manifest.
func entrySize(f File) int64 { return int64(len(encodeFile(f))) + 2 }

// ParseManifest decodes and checks a manifest: size and file-count bounds
// (checked before allocating), format version, job name, drive id,
// sequence number, and every file (CheckPath, no duplicates, size >= 0,
// 64 hex digits of SHA-256). Unknown and repeated top-level fields are
// refused. It does not check the MAC: call VerifyMAC on the same bytes.
func ParseManifest(b []byte) (*Manifest, error) { return parseManifest(b, MaxFiles) }

// parseManifest is ParseManifest with the file-count limit as a parameter,
// so tests can reach it without building a ten-million-entry input.
func parseManifest(b []byte, maxFiles int) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the limit of %d", ErrManifest, len(b), MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	m := new(Manifest)
	if err := decodeObject(dec, m, maxFiles); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the manifest object", ErrManifest)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeObject reads the top-level object field by field, so that the file
// list is counted while it is read.
func decodeObject(dec *json.Decoder, m *Manifest, maxFiles int) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrManifest, err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("%w: field %q repeated", ErrManifest, key)
		}
		seen[key] = true
		if err := decodeField(dec, key, m, maxFiles); err != nil {
			return err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if !seen["files"] {
		return fmt.Errorf("%w: no file list", ErrManifest)
	}
	return nil
}

func decodeField(dec *json.Decoder, key string, m *Manifest, maxFiles int) error {
	var err error
	switch key {
	case "format":
		err = dec.Decode(&m.Format)
	case "job":
		err = dec.Decode(&m.Job)
	case "drive_id":
		err = dec.Decode(&m.DriveID)
	case "seq":
		err = dec.Decode(&m.Seq)
	case "created":
		err = dec.Decode(&m.Created)
	case "files":
		m.Files, err = decodeFiles(dec, maxFiles)
	default:
		return fmt.Errorf("%w: unknown field %q", ErrManifest, key)
	}
	if err != nil && !errors.Is(err, ErrManifest) {
		err = fmt.Errorf("%w: field %q: %v", ErrManifest, key, err)
	}
	return err
}

func decodeFiles(dec *json.Decoder, maxFiles int) ([]File, error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, err
	}
	var files []File
	for dec.More() {
		if len(files) >= maxFiles {
			return nil, fmt.Errorf("%w: more than %d files", ErrManifest, maxFiles)
		}
		var f File
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("%w: file %d: %v", ErrManifest, len(files)+1, err)
		}
		files = append(files, f)
	}
	if err := expectDelim(dec, ']'); err != nil {
		return nil, err
	}
	if files == nil {
		files = []File{}
	}
	return files, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: want %q: %v", ErrManifest, want, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%w: want %q, found %v", ErrManifest, want, tok)
	}
	return nil
}

func (m *Manifest) validate() error {
	switch {
	case m.Format != FormatVersion:
		return fmt.Errorf("%w: format version %d, this seedship reads version %d: upgrade seedship", ErrManifest, m.Format, FormatVersion)
	case !isHex(m.DriveID, 32):
		return fmt.Errorf("%w: drive id %q is not 32 lower-case hex digits", ErrManifest, m.DriveID)
	case m.Seq < 1:
		return fmt.Errorf("%w: drive %s: sequence number %d < 1", ErrManifest, m.DriveID, m.Seq)
	case m.Created.IsZero():
		return fmt.Errorf("%w: drive %s: no creation time", ErrManifest, m.DriveID)
	case len(m.Files) > MaxFiles:
		return fmt.Errorf("%w: drive %s: %d files, more than %d", ErrManifest, m.DriveID, len(m.Files), MaxFiles)
	}
	if err := importjob.ValidateName(m.Job); err != nil {
		return fmt.Errorf("%w: drive %s: %v", ErrManifest, m.DriveID, err)
	}
	seen := make(map[string]struct{}, len(m.Files))
	for _, f := range m.Files {
		if err := checkFile(f); err != nil {
			return fmt.Errorf("%w: drive %s: %v", ErrManifest, m.DriveID, err)
		}
		if _, dup := seen[f.Path]; dup {
			return fmt.Errorf("%w: drive %s: file %q listed twice", ErrManifest, m.DriveID, f.Path)
		}
		seen[f.Path] = struct{}{}
	}
	return nil
}

func checkFile(f File) error {
	if err := CheckPath(f.Path); err != nil {
		return err
	}
	if f.Size < 0 {
		return fmt.Errorf("file %s: negative size %d", f.Path, f.Size)
	}
	if !isHex(f.SHA256, 64) {
		return fmt.Errorf("file %s: sha256 %q is not 64 lower-case hex digits", f.Path, f.SHA256)
	}
	return nil
}

// ManifestHash returns the hex SHA-256 of a manifest's bytes, the value the
// service registers for the drive (importjob.Drive.ManifestHash).
func ManifestHash(manifest []byte) string {
	sum := sha256.Sum256(manifest)
	return hex.EncodeToString(sum[:])
}

// ComputeMAC returns the hex HMAC-SHA256 of the manifest bytes under the job
// key; the MAC file holds it followed by a newline.
func ComputeMAC(manifest, jobKey []byte) (string, error) {
	if len(jobKey) != JobKeySize {
		return "", fmt.Errorf("%w: %d bytes, want %d", ErrJobKey, len(jobKey), JobKeySize)
	}
	h := hmac.New(sha256.New, jobKey)
	h.Write(manifest)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyMAC checks the contents of a MAC file (64 hex digits, optionally
// followed by one newline) against the manifest bytes, in constant time.
func VerifyMAC(manifest, mac, jobKey []byte) error {
	want, err := ComputeMAC(manifest, jobKey)
	if err != nil {
		return err
	}
	mac = bytes.TrimSuffix(mac, []byte("\n"))
	if len(mac) != 64 {
		return fmt.Errorf("%w: MAC file has %d characters, want 64 hex digits", ErrMAC, len(mac))
	}
	got := make([]byte, 32)
	if _, err := hex.Decode(got, mac); err != nil {
		return fmt.Errorf("%w: MAC file is not hex", ErrMAC)
	}
	wantRaw, _ := hex.DecodeString(want)
	if !hmac.Equal(got, wantRaw) {
		return fmt.Errorf("%w: wrong job key, or the manifest was modified", ErrMAC)
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
