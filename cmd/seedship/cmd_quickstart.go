package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newQuickstartCmd(e env) *cobra.Command {
	var dir string
	var keep bool
	cmd := &cobra.Command{
		Use:   "quickstart [PATH]",
		Short: "Try seedship end to end on embedded defaults",
		Long: `quickstart creates a repository in a folder, backs up PATH (or a generated
sample folder), changes a file, backs up again, restores the first snapshot
and verifies it bit for bit — one line per step, using the same commands you
would type. Nothing outside --dir is written.`,
		Example: `  go run ./cmd/seedship quickstart
  seedship quickstart --dir /tmp/try-seedship ~/Documents`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if dir == "" {
				d, err := os.MkdirTemp("", "seedship-quickstart-")
				if err != nil {
					return err
				}
				dir = d
				if !keep {
					defer os.RemoveAll(d)
				}
			}
			return quickstart(c.Context(), e, dir, args)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "work folder (default: a temporary folder, removed afterwards)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary work folder")
	return cmd
}

func quickstart(ctx context.Context, e env, dir string, args []string) error {
	src := filepath.Join(dir, "sample")
	if len(args) == 1 {
		src = args[0]
	} else if err := writeSample(src); err != nil {
		return err
	}
	repoDir := filepath.Join(dir, "repo")
	qenv := e
	qenv.terminal = false
	qenv.getenv = func(k string) string {
		if k == "SEEDSHIP_PASSWORD" {
			return "quickstart-password"
		}
		return e.getenv(k)
	}
	var log bytes.Buffer
	step := func(what string, args ...string) error {
		start := time.Now()
		log.Reset()
		qe := qenv
		qe.stdout, qe.stderr = &log, &log
		code := run(ctx, qe, append(args, "--repo", repoDir))
		printf(e.stdout, "%-44s %6.2fs  seedship %s\n", what, time.Since(start).Seconds(), strings.Join(args, " "))
		if code != exitOK {
			return fmt.Errorf("%s failed (exit %d):\n%s", what, code, log.String())
		}
		return nil
	}
	printf(e.stdout, "seedship quickstart in %s\n\n", dir)
	steps := []struct {
		what string
		args []string
		pre  func() error
	}{
		{"create the repository", []string{"init"}, nil},
		{"back up " + src, []string{"backup", "--quiet", src}, nil},
		{"change a file and back up again", []string{"backup", "--quiet", src}, func() error {
			return os.WriteFile(filepath.Join(src, "notes.txt"), []byte("changed at "+time.Now().String()+"\n"), 0o644)
		}},
		{"restore the latest snapshot and verify it", []string{"restore", "latest", "--verify", "--target", filepath.Join(dir, "restore")}, nil},
		{"check every pack and blob", []string{"check", "--read-data"}, nil},
	}
	for _, s := range steps {
		if s.pre != nil {
			if err := s.pre(); err != nil {
				return err
			}
		}
		if err := step(s.what, s.args...); err != nil {
			return err
		}
	}
	if err := compareTrees(src, filepath.Join(dir, "restore", src)); err != nil {
		return fmt.Errorf("restored files differ from %s: %w", src, err)
	}
	printf(e.stdout, "\nrestored files are identical to %s\n\n", src)
	log.Reset()
	qe := qenv
	qe.stdout = e.stdout
	run(ctx, qe, []string{"snapshots", "--repo", repoDir})
	srcSize, _ := treeSize(src)
	repoSize, _ := treeSize(repoDir)
	printf(e.stdout, "\n%s of files stored in %s of repository (deduplicated, compressed, encrypted)\n", formatBytes(srcSize), formatBytes(repoSize))
	return nil
}

// writeSample creates a small folder with text, binary and duplicate files.
func writeSample(dir string) error {
	r := rand.New(rand.NewPCG(1, 2))
	files := map[string][]byte{"notes.txt": []byte("seedship quickstart sample\n")}
	var log bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&log, "2026-11-25T10:%02d:%02dZ INFO request %d served in %dms\n", i/60%60, i%60, i, r.IntN(500))
	}
	files["logs/app.log"] = log.Bytes()
	blob := make([]byte, 3<<20)
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	files["images/photo.raw"] = blob
	files["images/photo-copy.raw"] = blob
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

func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return err
	})
	return n, err
}
