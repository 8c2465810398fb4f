package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// The benchmark dataset: deterministic for a given seed, about 2 GiB at
// scale 1, mixed like a real server's files.
//
//	large/   4 incompressible files (≈40%)
//	logs/    compressible log files and CSV exports (≈25%)
//	small/   20,000 files of 1–16 KiB, half text, half random
//	dup/     an exact copy of one large file and of part of logs/
//	edited/  a copy of a large file with a few bytes inserted near the start
type dataset struct {
	dir   string
	seed  uint64
	scale float64 // 1.0 = the full 2 GiB set
}

const mib = 1 << 20

func (d dataset) rng(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(d.seed, stream)) }

func (d dataset) size(n int64) int64 { return int64(float64(n) * d.scale) }

// generate writes the whole dataset.
func (d dataset) generate() error {
	large := d.size(200 * mib)
	for i := range 4 {
		if err := d.randomFile(filepath.Join("large", fmt.Sprintf("disk-%d.img", i)), large, uint64(100+i)); err != nil {
			return err
		}
	}
	for i := range 10 {
		if err := d.textFile(filepath.Join("logs", fmt.Sprintf("app-%02d.log", i)), d.size(30*mib), uint64(200+i), logLine); err != nil {
			return err
		}
	}
	for i := range 5 {
		if err := d.textFile(filepath.Join("logs", fmt.Sprintf("export-%02d.csv", i)), d.size(40*mib), uint64(300+i), csvLine); err != nil {
			return err
		}
	}
	if err := d.smallFiles(int(20000 * d.scale)); err != nil {
		return err
	}
	if err := copyFile(d.path("large/disk-0.img"), d.path("dup/disk-0-copy.img")); err != nil {
		return err
	}
	for i := range 3 {
		name := fmt.Sprintf("app-%02d.log", i)
		if err := copyFile(d.path("logs/"+name), d.path("dup/"+name)); err != nil {
			return err
		}
	}
	return d.insertBytes("large/disk-1.img", "edited/disk-1-edited.img", 4096+17, []byte("seedship edit"))
}

func (d dataset) path(rel string) string { return filepath.Join(d.dir, rel) }

func create(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.Create(path)
}

func (d dataset) randomFile(rel string, size int64, stream uint64) error {
	f, err := create(d.path(rel))
	if err != nil {
		return err
	}
	defer f.Close()
	r := d.rng(stream)
	buf := make([]byte, mib)
	for size > 0 {
		n := min(int64(len(buf)), size)
		fillRandom(r, buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		size -= n
	}
	return f.Close()
}

func fillRandom(r *rand.Rand, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(r.Uint32())
	}
}

var (
	levels  = []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"}
	paths   = []string{"/api/v1/orders", "/api/v1/users", "/healthz", "/static/app.js", "/login", "/api/v1/search"}
	methods = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
)

func logLine(r *rand.Rand, w *bufio.Writer, i int) {
	fmt.Fprintf(w, "2026-11-%02dT%02d:%02d:%02d.%03dZ %s [req %016x] %s %s status=%d bytes=%d dur=%dms user=u%05d\n",
		1+i/86400%28, i/3600%24, i/60%60, i%60, r.IntN(1000), levels[r.IntN(len(levels))], r.Uint64(),
		methods[r.IntN(len(methods))], paths[r.IntN(len(paths))], []int{200, 200, 200, 201, 304, 404, 500}[r.IntN(7)],
		r.IntN(100000), r.IntN(2000), r.IntN(50000))
}

func csvLine(r *rand.Rand, w *bufio.Writer, i int) {
	fmt.Fprintf(w, "%d,%s,customer-%05d,%d.%02d,%s,%d\n", i, []string{"EUR", "USD", "GBP"}[r.IntN(3)], r.IntN(30000),
		r.IntN(10000), r.IntN(100), []string{"paid", "open", "refunded", "cancelled"}[r.IntN(4)], r.IntN(100))
}

func (d dataset) textFile(rel string, size int64, stream uint64, line func(*rand.Rand, *bufio.Writer, int)) error {
	f, err := create(d.path(rel))
	if err != nil {
		return err
	}
	defer f.Close()
	r := d.rng(stream)
	cw := &countWriter{w: f}
	w := bufio.NewWriterSize(cw, 256<<10)
	for i := 0; cw.n+int64(w.Buffered()) < size; i++ {
		line(r, w, i)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (d dataset) smallFiles(n int) error {
	r := d.rng(400)
	buf := make([]byte, 16<<10)
	for i := range n {
		size := 1024 + r.IntN(15*1024+1)
		b := buf[:size]
		if i%2 == 0 {
			fillRandom(r, b)
		} else {
			for j := range b {
				b[j] = "abcdefghij klmnopqrstuvwxyz\n"[r.IntN(28)]
			}
		}
		rel := filepath.Join("small", fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.dat", i))
		if err := os.MkdirAll(filepath.Dir(d.path(rel)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(d.path(rel), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Close()
}

// insertBytes copies src to dst with ins inserted at offset at.
func (d dataset) insertBytes(src, dst string, at int64, ins []byte) error {
	in, err := os.Open(d.path(src))
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := create(d.path(dst))
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.CopyN(out, in, at); err != nil {
		return err
	}
	if _, err := out.Write(ins); err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Close()
}

// change modifies about frac of the dataset's bytes: it appends to logs and
// rewrites a slice of small files, like a day on a real server.
func (d dataset) change(frac float64, round int) (int64, error) {
	r := d.rng(uint64(1000 + round))
	budget := int64(float64(d.size(2048*mib)) * frac)
	changed := int64(0)
	for i := 0; changed < budget/2; i++ {
		f, err := os.OpenFile(d.path(fmt.Sprintf("logs/app-%02d.log", i%10)), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return changed, err
		}
		cw := &countWriter{w: f}
		w := bufio.NewWriter(cw)
		for j := 0; cw.n+int64(w.Buffered()) < min(budget/2-changed, 1<<20); j++ {
			logLine(r, w, j)
		}
		if err := w.Flush(); err != nil {
			return changed, err
		}
		changed += cw.n
		f.Close()
	}
	buf := make([]byte, 16<<10)
	for i := 0; changed < budget; i++ {
		rel := filepath.Join("changed", fmt.Sprintf("r%d-%05d.dat", round, i))
		fillRandom(r, buf)
		if err := os.MkdirAll(filepath.Dir(d.path(rel)), 0o755); err != nil {
			return changed, err
		}
		if err := os.WriteFile(d.path(rel), buf, 0o644); err != nil {
			return changed, err
		}
		changed += int64(len(buf))
	}
	return changed, nil
}
