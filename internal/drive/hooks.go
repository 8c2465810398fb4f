package drive

import "os"

// Operations passed to hooks.op, one per step that changes a drive or the
// journal.
const (
	opWrite        = "write"         // one buffer written to a file on a drive
	opSync         = "sync"          // fsync of a file on a drive
	opRename       = "rename"        // rename of a finished file into place
	opSyncDir      = "syncdir"       // fsync of a directory on a drive
	opMkdir        = "mkdir"         // directory created on a drive
	opRemove       = "remove"        // file removed from a drive
	opJournalWrite = "journal-write" // journal line written
	opJournalSync  = "journal-sync"  // journal synced
)

// hooks let tests inject crashes and observe copies. A nil *hooks does
// nothing.
type hooks struct {
	// op runs before each operation; an error aborts Prep at that point
	// exactly as if the process had been killed (nothing is cleaned up).
	op func(op, name string) error
	// copied runs after a file was copied and renamed into place.
	copied func(path string)
	// statfs replaces statFree.
	statfs func(path string) (free, bsize int64, err error)
	// noSync skips fsync: crash tests simulate a killed process, not a
	// power cut, and run hundreds of preparations.
	noSync bool
	// noSpace runs when a drive reported ENOSPC in the middle of a file.
	noSpace func(path string)
	// bufSize replaces the 1 MiB copy buffer, so that small test files
	// are written in several pieces.
	bufSize int
}

// dropCache drops f's cached pages unless fsync is off (the pages would be
// dirty and dropping them would start writeback).
func (p *prep) dropCache(f *os.File) {
	if p.hk == nil || !p.hk.noSync {
		dropCache(f)
	}
}

// syncDir fsyncs a directory unless the hooks turn fsync off.
func (h *hooks) syncDir(dir string) error {
	if h != nil && h.noSync {
		return nil
	}
	return syncDir(dir)
}

// sync fsyncs f unless the hooks turn fsync off.
func (h *hooks) sync(f interface{ Sync() error }) error {
	if h != nil && h.noSync {
		return nil
	}
	return f.Sync()
}

// datasync fdatasyncs f unless the hooks turn fsync off.
func (h *hooks) datasync(f *os.File) error {
	if h != nil && h.noSync {
		return nil
	}
	return datasync(f)
}

func (h *hooks) do(op, name string) error {
	if h == nil || h.op == nil {
		return nil
	}
	return h.op(op, name)
}

func (h *hooks) didCopy(path string) {
	if h != nil && h.copied != nil {
		h.copied(path)
	}
}

func (h *hooks) free(path string) (int64, int64, error) {
	if h != nil && h.statfs != nil {
		return h.statfs(path)
	}
	return statFree(path)
}
