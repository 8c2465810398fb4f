package forget

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/snapshot"
)

func snap(t *testing.T, id byte, host, when string, paths ...string) *snapshot.Snapshot {
	return &snapshot.Snapshot{ID: idOf(id), Hostname: host, Time: ts(t, when), Paths: paths}
}

func ids(snaps []*snapshot.Snapshot) []byte {
	var out []byte
	for _, s := range snaps {
		out = append(out, s.ID[0])
	}
	return out
}

func TestGroupByHostPaths(t *testing.T) {
	snaps := []*snapshot.Snapshot{
		snap(t, 1, "b", "2024-01-01 10:00", "/home", "/etc"),
		snap(t, 2, "a", "2024-01-01 10:00", "/home"),
		snap(t, 3, "b", "2024-01-02 10:00", "/etc", "/home"),
		snap(t, 4, "a", "2024-01-02 10:00", "/home", "/srv"),
		snap(t, 5, "a", "2024-01-03 10:00", "/home"),
	}
	groups := GroupByHostPaths(snaps)
	type g struct {
		Host  string
		Paths []string
		IDs   []byte
	}
	var got []g
	for _, gr := range groups {
		got = append(got, g{gr.Host, gr.Paths, ids(gr.Snapshots)})
	}
	want := []g{
		{"a", []string{"/home"}, []byte{2, 5}},
		{"a", []string{"/home", "/srv"}, []byte{4}},
		{"b", []string{"/etc", "/home"}, []byte{1, 3}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GroupByHostPaths (-want +got):\n%s", diff)
	}
	if GroupKey(snaps[0]) != GroupKey(snaps[2]) {
		t.Errorf("GroupKey differs for the same paths in another order")
	}
}

func TestApplyGroupsSeparately(t *testing.T) {
	snaps := []*snapshot.Snapshot{
		snap(t, 1, "web", "2024-01-01 10:00", "/srv"),
		snap(t, 2, "db", "2024-01-03 10:00", "/var/lib"),
		snap(t, 3, "web", "2024-01-03 10:00", "/srv"),
		snap(t, 4, "db", "2024-01-01 10:00", "/var/lib"),
		snap(t, 5, "web", "2024-01-02 10:00", "/srv"),
		snap(t, 6, "web", "2024-01-02 11:00", "/srv", "/etc"),
	}
	keep, remove, reasons := Apply(snaps, Policy{Last: 1}, ts(t, "2024-02-01 00:00"))
	// Groups in key order: db, web /etc+/srv, web /srv; newest first inside.
	if got, want := ids(keep), []byte{2, 6, 3}; !cmp.Equal(got, want) {
		t.Errorf("keep = %v, want %v", got, want)
	}
	if got, want := ids(remove), []byte{4, 5, 1}; !cmp.Equal(got, want) {
		t.Errorf("remove = %v, want %v", got, want)
	}
	if len(reasons) != 3 || !cmp.Equal(reasons[idOf(6)], []string{"last snapshot"}) {
		t.Errorf("reasons = %v", reasons)
	}
}

func TestApplyWithinAndDaily(t *testing.T) {
	snaps := []*snapshot.Snapshot{
		snap(t, 1, "h", "2024-01-10 09:00", "/"),
		snap(t, 2, "h", "2024-01-10 08:00", "/"),
		snap(t, 3, "h", "2024-01-09 08:00", "/"),
		snap(t, 4, "h", "2024-01-08 08:00", "/"),
	}
	p := Policy{Daily: 1, Within: 30 * time.Hour}
	keep, remove, reasons := Apply(snaps, p, ts(t, "2024-01-10 12:00"))
	if got, want := ids(keep), []byte{1, 2, 3}; !cmp.Equal(got, want) {
		t.Errorf("keep = %v, want %v", got, want)
	}
	if got, want := ids(remove), []byte{4}; !cmp.Equal(got, want) {
		t.Errorf("remove = %v, want %v", got, want)
	}
	want := map[byte][]string{
		1: {"daily snapshot", "within 30h0m0s"},
		2: {"within 30h0m0s"},
		3: {"within 30h0m0s"},
	}
	for id, w := range want {
		if diff := cmp.Diff(w, reasons[idOf(id)]); diff != "" {
			t.Errorf("reasons[%d] (-want +got):\n%s", id, diff)
		}
	}
}
