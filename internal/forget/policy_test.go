package forget

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/oid"
)

// ts parses "2006-01-02 15:04" as UTC; tests stay free of DST.
func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func idOf(b byte) oid.ID { return oid.ID{b} }

type policyCase struct {
	name    string
	times   []string // input order
	ids     []byte   // optional: first ID byte per snapshot; default its index
	policy  Policy
	now     string // default "2030-01-01 00:00"
	keep    []int  // indices into times
	reasons map[int][]string
}

var policyCases = []policyCase{
	{name: "last 3 of 5",
		times:  []string{"2024-01-05 10:00", "2024-01-04 10:00", "2024-01-03 10:00", "2024-01-02 10:00", "2024-01-01 10:00"},
		policy: Policy{Last: 3}, keep: []int{0, 1, 2}},
	{name: "last 3 unsorted input",
		times:  []string{"2024-01-02 10:00", "2024-01-05 10:00", "2024-01-01 10:00", "2024-01-04 10:00", "2024-01-03 10:00"},
		policy: Policy{Last: 3}, keep: []int{1, 3, 4}},
	{name: "last more than there are",
		times:  []string{"2024-01-02 10:00", "2024-01-01 10:00"},
		policy: Policy{Last: 10}, keep: []int{0, 1}},
	{name: "hourly 2 keeps newest of each hour",
		times:  []string{"2024-01-01 10:05", "2024-01-01 10:45", "2024-01-01 11:10", "2024-01-01 12:00", "2024-01-01 12:30"},
		policy: Policy{Hourly: 2}, keep: []int{2, 4}},
	{name: "daily 3 counts days that have snapshots",
		times: []string{"2024-01-01 09:00", "2024-01-01 18:00", "2024-01-03 08:00",
			"2024-01-05 12:00", "2024-01-05 13:00", "2024-01-06 01:00"},
		policy: Policy{Daily: 3}, keep: []int{2, 4, 5}},
	{name: "weekly 2 uses ISO weeks across the year end",
		// 12-23 Mon and 12-29 Sun are 2024-W52; 12-30 Mon and 01-01 Wed are 2025-W01.
		times:  []string{"2024-12-23 12:00", "2024-12-29 12:00", "2024-12-30 12:00", "2025-01-01 12:00"},
		policy: Policy{Weekly: 2}, keep: []int{1, 3}},
	{name: "monthly 2",
		times:  []string{"2024-01-31 23:59", "2024-02-01 00:00", "2024-02-15 08:00", "2024-03-03 08:00"},
		policy: Policy{Monthly: 2}, keep: []int{2, 3}},
	{name: "yearly 2",
		times:  []string{"2022-06-01 00:00", "2023-01-01 00:00", "2023-12-31 23:59", "2024-02-01 00:00"},
		policy: Policy{Yearly: 2}, keep: []int{2, 3}},
	{name: "within 48h is strict at the boundary",
		times:  []string{"2024-03-10 11:00", "2024-03-08 12:00", "2024-03-08 12:01", "2024-03-01 00:00"},
		policy: Policy{Within: 48 * time.Hour}, now: "2024-03-10 12:00", keep: []int{0, 2},
		reasons: map[int][]string{0: {"within 48h0m0s"}, 2: {"within 48h0m0s"}}},
	{name: "within keeps snapshots from the future",
		times:  []string{"2024-03-11 00:00", "2024-03-01 00:00"},
		policy: Policy{Within: time.Hour}, now: "2024-03-10 12:00", keep: []int{0}},
	{name: "empty policy keeps everything",
		times:  []string{"2024-01-02 10:00", "2020-01-01 10:00"},
		policy: Policy{}, keep: []int{0, 1}},
	{name: "no snapshots", times: nil, policy: Policy{Last: 3}, keep: nil},
	{name: "last 1 and daily 2 overlap",
		times:  []string{"2024-01-05 10:00", "2024-01-05 09:00", "2024-01-04 23:00", "2024-01-03 12:00"},
		policy: Policy{Last: 1, Daily: 2}, keep: []int{0, 2},
		reasons: map[int][]string{0: {"last snapshot", "daily snapshot"}, 2: {"daily snapshot"}}},
	{name: "daily, weekly and monthly combined",
		// 05-20 Mon W21, 05-19 Sun W20, 05-18 Sat W20, 05-10 Fri W19, 04-28 Sun W17, 04-02 Tue W14.
		times: []string{"2024-05-18 10:00", "2024-04-02 10:00", "2024-05-20 10:00",
			"2024-05-10 10:00", "2024-05-19 10:00", "2024-04-28 10:00"},
		policy: Policy{Daily: 2, Weekly: 2, Monthly: 2}, keep: []int{2, 4, 5},
		reasons: map[int][]string{
			2: {"daily snapshot", "weekly snapshot", "monthly snapshot"},
			4: {"daily snapshot", "weekly snapshot"},
			5: {"monthly snapshot"},
		}},
	{name: "tie on time: smaller ID wins, input order A",
		times: []string{"2024-01-01 10:00", "2024-01-01 10:00"}, ids: []byte{9, 3},
		policy: Policy{Last: 1}, keep: []int{1}},
	{name: "tie on time: smaller ID wins, input order B",
		times: []string{"2024-01-01 10:00", "2024-01-01 10:00"}, ids: []byte{3, 9},
		policy: Policy{Last: 1}, keep: []int{0}},
	{name: "tie within a day bucket keeps one",
		times: []string{"2024-01-01 10:00", "2024-01-01 10:00", "2023-12-31 10:00"}, ids: []byte{7, 2, 5},
		policy: Policy{Daily: 5}, keep: []int{1, 2}},
	{name: "unlimited daily keeps one per day",
		times:  []string{"2024-01-01 10:00", "2024-01-01 11:00", "2024-01-02 10:00", "2019-05-05 05:05"},
		policy: Policy{Daily: -1}, keep: []int{1, 2, 3}},
	{name: "hourly 1 plus within keeps extra recent ones",
		times:  []string{"2024-01-01 11:50", "2024-01-01 11:40", "2024-01-01 11:00", "2024-01-01 09:00"},
		policy: Policy{Hourly: 1, Within: 30 * time.Minute}, now: "2024-01-01 12:00", keep: []int{0, 1},
		reasons: map[int][]string{0: {"hourly snapshot", "within 30m0s"}, 1: {"within 30m0s"}}},
	{name: "yearly and last together",
		times:  []string{"2020-03-01 00:00", "2021-03-01 00:00", "2021-09-01 00:00", "2022-01-01 00:00"},
		policy: Policy{Last: 1, Yearly: 3}, keep: []int{2, 3, 0}},
}

func TestPlan(t *testing.T) {
	for _, c := range policyCases {
		t.Run(c.name, func(t *testing.T) {
			items := make([]item, len(c.times))
			for i, s := range c.times {
				b := byte(i)
				if c.ids != nil {
					b = c.ids[i]
				}
				items[i] = item{t: ts(t, s), id: idOf(b), pos: i}
			}
			now := "2030-01-01 00:00"
			if c.now != "" {
				now = c.now
			}
			got := plan(items, c.policy, ts(t, now))
			var keep []int
			for i, r := range got {
				if r != nil {
					keep = append(keep, i)
				}
			}
			want := slices.Sorted(slices.Values(c.keep))
			if !slices.Equal(keep, want) {
				t.Errorf("kept %v, want %v (reasons %q)", keep, want, got)
			}
			for i, want := range c.reasons {
				if diff := cmp.Diff(want, got[i]); diff != "" {
					t.Errorf("reasons for %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := (Policy{}).Validate(); !errors.Is(err, ErrEmptyPolicy) {
		t.Errorf("Validate(empty) = %v, want ErrEmptyPolicy", err)
	}
	if err := (Policy{Within: -time.Hour}).Validate(); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("Validate(negative within) = %v, want ErrInvalidPolicy", err)
	}
	if err := (Policy{Daily: 7}).Validate(); err != nil {
		t.Errorf("Validate(daily 7) = %v", err)
	}
}

func TestPolicyString(t *testing.T) {
	for _, c := range []struct {
		p    Policy
		want string
	}{
		{Policy{}, "keep everything"},
		{Policy{Last: 3, Daily: -1, Within: 2 * time.Hour}, "last 3, daily unlimited, within 2h0m0s"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.p, got, c.want)
		}
	}
}
