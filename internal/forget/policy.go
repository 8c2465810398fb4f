// Package forget decides which snapshots a retention policy keeps and which
// it removes. It follows restic's semantics: snapshots are grouped by host
// and paths, every rule of the policy is applied to each group on its own,
// and a snapshot is kept when any rule keeps it.
//
// The package is pure: it never touches a repository. The command deletes
// the snapshots that Apply returns in remove, and prune frees their data.
package forget

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/oid"
)

// ErrEmptyPolicy is returned by Policy.Validate when no rule is set: such a
// policy keeps everything, which is never what a forget command means.
var ErrEmptyPolicy = errors.New("empty retention policy: set at least one keep rule (e.g. --keep-last 7)")

// ErrInvalidPolicy is returned by Policy.Validate for a negative duration.
var ErrInvalidPolicy = errors.New("invalid retention policy")

// Policy is a retention policy. Each count keeps the newest snapshot of each
// of the N most recent hours, days, ISO weeks, months or years that have a
// snapshot (Last keeps the N newest snapshots). A negative count means no
// limit. Within keeps every snapshot newer than now minus Within.
//
// Buckets are computed in each snapshot time's own location; snapshots are
// normally recorded in local time, so "daily" means the local calendar day.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Within                                       time.Duration
}

// Empty reports whether the policy has no rule at all.
func (p Policy) Empty() bool { return p == Policy{} }

// Validate returns ErrEmptyPolicy for an empty policy and ErrInvalidPolicy
// for a negative Within.
func (p Policy) Validate() error {
	if p.Empty() {
		return ErrEmptyPolicy
	}
	if p.Within < 0 {
		return fmt.Errorf("%w: keep-within %v is negative", ErrInvalidPolicy, p.Within)
	}
	return nil
}

// String describes the policy's rules, e.g. "last 3, daily 7, within 48h0m0s".
func (p Policy) String() string {
	var parts []string
	for _, r := range p.rules() {
		if r.count != 0 {
			parts = append(parts, fmt.Sprintf("%s %s", r.name, countString(r.count)))
		}
	}
	if p.Within > 0 {
		parts = append(parts, "within "+p.Within.String())
	}
	if len(parts) == 0 {
		return "keep everything"
	}
	return strings.Join(parts, ", ")
}

func countString(n int) string {
	if n < 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

// rule is one bucket rule: bucket maps a snapshot's time (and its position
// in newest-first order, for "last") to the bucket it falls in.
type rule struct {
	name   string
	count  int
	bucket func(t time.Time, pos int) int
}

func (p Policy) rules() []rule {
	return []rule{
		{"last", p.Last, func(_ time.Time, pos int) int { return pos }},
		{"hourly", p.Hourly, hourBucket},
		{"daily", p.Daily, dayBucket},
		{"weekly", p.Weekly, weekBucket},
		{"monthly", p.Monthly, monthBucket},
		{"yearly", p.Yearly, yearBucket},
	}
}

func hourBucket(t time.Time, _ int) int { return dayBucket(t, 0)*100 + t.Hour() }

func dayBucket(t time.Time, _ int) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

func weekBucket(t time.Time, _ int) int {
	y, w := t.ISOWeek()
	return y*100 + w
}

func monthBucket(t time.Time, _ int) int {
	y, m, _ := t.Date()
	return y*100 + int(m)
}

func yearBucket(t time.Time, _ int) int { return t.Year() }

// decide applies p to times, which must be sorted newest first, and returns
// for each snapshot the reasons it is kept (nil: remove it).
func decide(times []time.Time, p Policy, now time.Time) [][]string {
	reasons := make([][]string, len(times))
	if p.Empty() {
		for i := range reasons {
			reasons[i] = []string{"empty policy keeps everything"}
		}
		return reasons
	}
	for _, r := range p.rules() {
		applyRule(times, r, reasons)
	}
	if p.Within > 0 {
		cutoff := now.Add(-p.Within)
		for i, t := range times {
			if t.After(cutoff) {
				reasons[i] = append(reasons[i], "within "+p.Within.String())
			}
		}
	}
	return reasons
}

// applyRule keeps the first (newest) snapshot of each new bucket until the
// rule's count is used up.
func applyRule(times []time.Time, r rule, reasons [][]string) {
	left := r.count
	last, seen := 0, false
	for i, t := range times {
		if left == 0 {
			return
		}
		b := r.bucket(t, i)
		if seen && b == last {
			continue
		}
		last, seen = b, true
		reasons[i] = append(reasons[i], r.name+" snapshot")
		if left > 0 {
			left--
		}
	}
}

// item is one snapshot as the policy sees it: its time, its ID (to break
// ties deterministically) and its position in the caller's slice.
type item struct {
	t   time.Time
	id  oid.ID
	pos int
}

// plan applies p to one group of snapshots in any order and returns the
// reasons to keep each, indexed like items (nil: remove it).
func plan(items []item, p Policy, now time.Time) [][]string {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, newestFirst)
	times := make([]time.Time, len(sorted))
	for i, it := range sorted {
		times[i] = it.t
	}
	decided := decide(times, p, now)
	out := make([][]string, len(items))
	for i, it := range sorted {
		out[it.pos] = decided[i]
	}
	return out
}

// newestFirst orders by time, newest first; equal times by ascending ID so
// the outcome never depends on the input order.
func newestFirst(a, b item) int {
	if c := b.t.Compare(a.t); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}
