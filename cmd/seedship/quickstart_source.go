package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// qsTreeStats counts a folder's regular files and their bytes.
type qsTreeStats struct {
	files int
	bytes int64
}

// writeSample creates the sample folder: text that compresses well, media
// that does not (two 16 MiB packs' worth, so that the seed needs two
// drives), a duplicate that deduplicates, many small files and a symlink.
func writeSample(dir string) error {
	r := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{"notes.txt": []byte("seedship quickstart sample\n")}
	for i, lines := range []int{20000, 60000} {
		var log bytes.Buffer
		for j := range lines {
			fmt.Fprintf(&log, "2026-11-%02dT10:%02d:%02dZ INFO request %d served in %dms\n", 24+i, j/60%60, j%60, j, r.IntN(500))
		}
		files[fmt.Sprintf("logs/app-%d.log", i+1)] = log.Bytes()
	}
	for name, size := range map[string]int{"images/photo.raw": 3 << 20, "media/clip-1.mov": 12 << 20, "media/clip-2.mov": 8 << 20} {
		b := make([]byte, size)
		rand.NewChaCha8([32]byte([]byte(fmt.Sprintf("%-32s", name)))).Read(b)
		files[name] = b
	}
	files["images/photo-copy.raw"] = files["images/photo.raw"]
	for i := range 50 {
		files[fmt.Sprintf("docs/doc-%02d.md", i)] = []byte(strings.Repeat(fmt.Sprintf("Document %d, paragraph.\n", i), 40+i))
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return os.Symlink("notes.txt", filepath.Join(dir, "latest-notes"))
}

// copySourceTree copies the folder from into to (regular files, folders and
// symlinks; other files are left out), skipping skip and everything below
// it: the quickstart changes files of its source, never the user's.
func copySourceTree(from, to, skip string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(from, p)
		q := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(q, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(t, q)
		case d.Type().IsRegular():
			return copySourceFile(p, q)
		}
		return nil
	})
}

func copySourceFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm()|0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// qsChangeSource rewrites about 1% of the source's bytes in the middle of
// its largest file and adds a small file. It says what it did and returns
// the bytes changed.
func qsChangeSource(src string, total int64) (string, int64, error) {
	rel, size, err := qsLargestFile(src)
	if err != nil {
		return "", 0, err
	}
	var what []string
	var changed int64
	if rel != "" {
		n := min(max(total/100, 4096), size)
		if err := qsRewrite(filepath.Join(src, rel), (size-n)/2, n); err != nil {
			return "", 0, err
		}
		what = append(what, fmt.Sprintf("rewrote %s in the middle of %s", formatBytes(n), filepath.ToSlash(rel)))
		changed = n
	}
	added := []byte(strings.Repeat("a file added after the seed was shipped\n", 40))
	if err := os.WriteFile(filepath.Join(src, "added-after-seeding.txt"), added, 0o644); err != nil {
		return "", 0, err
	}
	what = append(what, fmt.Sprintf("added added-after-seeding.txt (%s)", formatBytes(int64(len(added)))))
	return strings.Join(what, ", "), changed + int64(len(added)), nil
}

// qsRewrite overwrites n bytes of the file p at off with new random bytes.
func qsRewrite(p string, off, n int64) error {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{'q', 's'}).Read(b)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, off)
	return errors.Join(err, f.Close())
}

// qsLargestFile returns the largest regular file below dir (the first by
// name of equals) and its size.
func qsLargestFile(dir string) (string, int64, error) {
	var best string
	var size int64 = -1
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err == nil && fi.Size() > size {
			best, size = p, fi.Size()
		}
		return err
	})
	if best == "" {
		return "", 0, err
	}
	rel, _ := filepath.Rel(dir, best)
	return rel, size, err
}

// qsStagingSizes returns the sizes of the files diskprep copies from a
// staging location: the repository's files, not the top-level "seedship-*"
// files or temporary files.
func qsStagingSizes(dir string) ([]int64, error) {
	var sizes []int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if filepath.Dir(p) == dir && strings.HasPrefix(d.Name(), "seedship-") || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		fi, err := d.Info()
		if err == nil {
			sizes = append(sizes, fi.Size())
		}
		return err
	})
	return sizes, err
}

// qsDriveCapacity sizes the simulated drives: room for the largest file plus
// a drive's own overhead (marker, folders, manifest, its MAC, rounding to
// blocks), and about half the seed, so that a seed of two large packs or
// more is spread over two drives (or three, as files are never split).
// It returns the capacity and how many drives to offer.
func qsDriveCapacity(sizes []int64) (capacity int64, drives int) {
	var total, largest int64
	for _, n := range sizes {
		total += n
		largest = max(largest, n)
	}
	headroom := 256<<10 + int64(len(sizes))*(16<<10)
	capacity = max(largest, (total+1)/2) + headroom
	if total+headroom <= capacity {
		return capacity, 1
	}
	return capacity, 3
}

// compareTrees checks that every regular file and symlink under a exists
// under b with the same content.
func compareTrees(a, b string) error {
	return filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		q := filepath.Join(b, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t1, _ := os.Readlink(p)
			t2, err := os.Readlink(q)
			if err != nil || t1 != t2 {
				return fmt.Errorf("symlink %s differs", rel)
			}
		case d.Type().IsRegular():
			h1, err1 := fileHash(p)
			h2, err2 := fileHash(q)
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			if h1 != h2 {
				return fmt.Errorf("%s differs", rel)
			}
		}
		return nil
	})
}

func fileHash(p string) ([32]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

// qsStatTree counts the regular files below dir and their bytes.
func qsStatTree(dir string) (qsTreeStats, error) {
	var s qsTreeStats
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, ierr := d.Info()
			if ierr != nil {
				return ierr
			}
			s.files++
			s.bytes += fi.Size()
		}
		return err
	})
	return s, err
}
