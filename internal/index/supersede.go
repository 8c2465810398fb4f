package index

import "github.com/seedship/seedship/internal/oid"

// MaxFileBlobs bounds an index file to a few MiB (46 bytes a blob): a writer
// that rewrites a large index spreads it over several files with Split.
const MaxFileBlobs = 100_000

// Superseded returns the index files among ids that another of them
// supersedes, each mapped to the first file (in ids order) that supersedes
// it. files[i] is the content of ids[i]; a nil file (one that could not be
// read) supersedes nothing. Names in Supersedes that are not in ids are
// ignored: those files are gone already.
//
// Readers skip the files it returns: a file is superseded only by a file
// that is present, and a superseding file is written after the files that
// hold the content of the ones it supersedes (docs/format.md, "Supersedes").
func Superseded(ids []oid.ID, files []*File) map[oid.ID]oid.ID {
	present := make(map[oid.ID]bool, len(ids))
	for _, id := range ids {
		present[id] = true
	}
	out := make(map[oid.ID]oid.ID)
	for i, f := range files {
		if f == nil {
			continue
		}
		for _, s := range f.Supersedes {
			if _, seen := out[s]; !seen && present[s] && s != ids[i] {
				out[s] = ids[i]
			}
		}
	}
	return out
}

// Split spreads packs over index files of at most maxBlobs blobs each (a
// pack is never split, so a pack with more blobs gets a file of its own).
// It returns at least one file, empty when packs is: a writer sets
// Supersedes on the last file and writes it after the others.
func Split(packs []PackEntry, maxBlobs int) []*File {
	files := []*File{{}}
	n := 0
	for _, pe := range packs {
		cur := files[len(files)-1]
		if n > 0 && n+len(pe.Blobs) > maxBlobs {
			cur = &File{}
			files = append(files, cur)
			n = 0
		}
		cur.Packs = append(cur.Packs, pe)
		n += len(pe.Blobs)
	}
	return files
}
