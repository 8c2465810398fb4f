package forget

import (
	"slices"
	"strings"
	"time"

	"github.com/seedship/seedship/internal/oid"
	"github.com/seedship/seedship/internal/snapshot"
)

// Group is a set of snapshots of the same host and the same paths; a policy
// is applied to each group on its own.
type Group struct {
	Host      string
	Paths     []string // sorted
	Snapshots []*snapshot.Snapshot
}

// Key returns the group's key, as GroupKey does for its snapshots.
func (g Group) Key() string { return groupKey(g.Host, g.Paths) }

// GroupKey returns the key that groups s with the snapshots of the same host
// and the same set of paths (in any order).
func GroupKey(s *snapshot.Snapshot) string { return groupKey(s.Hostname, sortedPaths(s.Paths)) }

func groupKey(host string, sorted []string) string {
	// NUL cannot occur in host names or paths, so keys cannot collide.
	return host + "\x00" + strings.Join(sorted, "\x00")
}

func sortedPaths(paths []string) []string {
	return slices.Sorted(slices.Values(paths))
}

// GroupByHostPaths splits snaps into groups of equal host and paths, ordered
// by host and then paths. Within a group snapshots keep their input order.
func GroupByHostPaths(snaps []*snapshot.Snapshot) []Group {
	byKey := make(map[string]int)
	var groups []Group
	for _, s := range snaps {
		k := GroupKey(s)
		i, ok := byKey[k]
		if !ok {
			i = len(groups)
			byKey[k] = i
			groups = append(groups, Group{Host: s.Hostname, Paths: sortedPaths(s.Paths)})
		}
		groups[i].Snapshots = append(groups[i].Snapshots, s)
	}
	slices.SortFunc(groups, func(a, b Group) int { return strings.Compare(a.Key(), b.Key()) })
	return groups
}

// Apply applies p to every host+paths group of snaps. It returns the
// snapshots to keep and to remove — group by group, newest first within a
// group — and, for every kept snapshot, why it is kept (e.g. "daily
// snapshot"). An empty policy keeps everything: callers that act on user
// input call p.Validate first and refuse an empty policy.
func Apply(snaps []*snapshot.Snapshot, p Policy, now time.Time) (keep, remove []*snapshot.Snapshot, reasons map[oid.ID][]string) {
	reasons = make(map[oid.ID][]string)
	for _, g := range GroupByHostPaths(snaps) {
		k, r := ApplyGroup(g.Snapshots, p, now, reasons)
		keep = append(keep, k...)
		remove = append(remove, r...)
	}
	return keep, remove, reasons
}

// ApplyGroup applies p to snaps as one group, whatever their hosts and
// paths, and records the reasons for every kept snapshot in reasons.
func ApplyGroup(snaps []*snapshot.Snapshot, p Policy, now time.Time, reasons map[oid.ID][]string) (keep, remove []*snapshot.Snapshot) {
	items := make([]item, len(snaps))
	for i, s := range snaps {
		items[i] = item{t: s.Time, id: s.ID, pos: i}
	}
	decided := plan(items, p, now)
	slices.SortStableFunc(items, newestFirst)
	for _, it := range items {
		s := snaps[it.pos]
		if r := decided[it.pos]; r != nil {
			keep = append(keep, s)
			reasons[s.ID] = r
		} else {
			remove = append(remove, s)
		}
	}
	return keep, remove
}
