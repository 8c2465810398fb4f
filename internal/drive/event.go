package drive

// EventKind says what an Event reports.
type EventKind int

// The events of Prep, in the order they occur for one drive.
const (
	// DriveStarted: a new, empty drive was claimed.
	DriveStarted EventKind = iota + 1
	// DriveResumed: the drive an interrupted run was filling is continued.
	DriveResumed
	// FileCopied: one file was copied and synced.
	FileCopied
	// ManifestWritten: the drive is full (or everything is copied) and its
	// manifest and MAC are written.
	ManifestWritten
	// FileVerified: one file was read back and matched.
	FileVerified
	// DriveFinished: the drive is complete and may be unplugged.
	DriveFinished
)

// String names the event kind.
func (k EventKind) String() string {
	switch k {
	case DriveStarted:
		return "drive started"
	case DriveResumed:
		return "drive resumed"
	case FileCopied:
		return "file copied"
	case ManifestWritten:
		return "manifest written"
	case FileVerified:
		return "file verified"
	case DriveFinished:
		return "drive finished"
	}
	return "unknown event"
}

// Event reports progress of Prep.
type Event struct {
	Kind    EventKind
	Seq     int    // drive sequence number
	DriveID string // drive id
	Path    string // the drive's mount point
	// File and Size: the file copied or verified.
	File string
	Size int64
	// DriveFiles and DriveBytes: what the drive holds so far.
	DriveFiles int
	DriveBytes int64
	// DoneBytes of TotalBytes of the staging location are on drives.
	DoneBytes  int64
	TotalBytes int64
}
