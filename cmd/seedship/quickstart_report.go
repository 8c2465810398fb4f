package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// qsFigures are the numbers the closing summary reports.
type qsFigures struct {
	source      qsTreeStats
	sourceName  string // as shown: relative to the work folder
	staging     int64  // bytes of the staging repository
	stagingN    int    // its files
	capacity    int64  // of each simulated drive
	drives      int    // drives used
	driveBytes  int64  // bytes written to them
	imported    int64  // bytes the datacenter imported
	importTime  time.Duration
	changed     int64 // bytes changed for the incremental
	added       int64 // plaintext bytes of the incremental's new chunks
	sent        int64 // request bytes the incremental sent to the service
	restored    int64
	times       map[string]time.Duration
	total       time.Duration
	stepsPassed int
}

// qsStepWidth is the width of the "what happened" column.
const qsStepWidth = 72

// step runs one step of the quickstart and prints its line: name, time,
// what happened (do's answer, with the service traffic of the step) and
// the equivalent command. A failing step's error carries its captured
// output.
func (q *qs) step(name, cmd string, do func() (string, error)) error {
	q.out.Reset()
	in0, out0 := q.svc.traffic()
	q.began = time.Now()
	facts, err := do()
	d := time.Since(q.began)
	q.fig.times[name] += d
	q.fig.total += d
	in, out := q.svc.traffic()
	facts += qsTraffic(in-in0, out-out0)
	if err != nil {
		facts = "FAILED"
	}
	printf(q.e.stdout, "%-14s %6.2fs  %-*s  %s\n", name, d.Seconds(), qsStepWidth, facts, q.rel(cmd))
	if err != nil {
		return fmt.Errorf("step %s failed (%w); its output:\n%s", name, err, strings.TrimRight(q.out.String(), "\n"))
	}
	q.fig.stepsPassed++
	return nil
}

// seedship runs one seedship command in process, with the quickstart's
// environment. Its output is kept for the step; stdout is also returned.
func (q *qs) seedship(ctx context.Context, args ...string) (string, error) {
	var stdout bytes.Buffer
	e := q.cmdEnv
	e.stdout = io.MultiWriter(&stdout, &q.out)
	e.stderr = &q.out
	if code := run(ctx, e, args); code != exitOK {
		return stdout.String(), fmt.Errorf("seedship %s: exit %d", args[0], code)
	}
	return stdout.String(), nil
}

// qsTraffic describes what a step sent to and received from the service.
func qsTraffic(sent, received int64) string {
	var parts []string
	if sent > 0 {
		parts = append(parts, "sent "+formatBytes(sent))
	}
	if received > 0 {
		parts = append(parts, "received "+formatBytes(received))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

// qsCommand renders a command line for the step line, quoting arguments
// that need it.
func qsCommand(args ...string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'$\\") {
			a = strconv.Quote(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// rel shows paths in the work folder relative to it.
func (q *qs) rel(s string) string {
	return strings.ReplaceAll(s, q.dir+"/", "")
}

// summary prints the closing figures.
func (q *qs) summary() {
	f := &q.fig
	w := q.e.stdout
	printf(w, "\nsummary\n")
	printf(w, "  source            %s, %s (%s)\n", qsPlural(f.source.files, "file"), formatBytes(f.source.bytes), f.sourceName)
	printf(w, "  staging repo      %d files, %s: %.2f of the source after deduplication and compression, encrypted\n",
		f.stagingN, formatBytes(f.staging), qsRatio(f.staging, f.source.bytes))
	printf(w, "  drives            %s of at most %s: %s written and verified; %s imported at the datacenter\n",
		qsPlural(f.drives, "drive"), formatBytes(f.capacity), formatBytes(f.driveBytes), formatBytes(f.imported))
	printf(w, "  throughput        offline backup %s, diskprep %s, import %s, restore %s\n",
		qsRate(f.source.bytes, f.times["offline backup"]), qsRate(f.driveBytes, f.times["diskprep"]),
		qsRate(f.imported, f.importTime), qsRate(f.restored, f.times["restore"]))
	printf(w, "  incremental       %s changed; %s of new chunks, %s sent to the service (the chunks holding a change go whole: 256 KiB to 4 MiB, 1 MiB on average)\n",
		formatBytes(f.changed), formatBytes(f.added), formatBytes(f.sent))
	printf(w, "  time              %.2fs for %d steps (each step's time is on its line)\n", f.total.Seconds(), f.stepsPassed)
}

func qsRatio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// qsRate is bytes per second in MB/s.
func qsRate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	r := float64(n) / 1e6 / d.Seconds()
	if r < 10 {
		return fmt.Sprintf("%.2f MB/s", r)
	}
	return fmt.Sprintf("%.0f MB/s", r)
}
