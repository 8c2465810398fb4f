package forget

import (
	"errors"
	"flag"
	"io"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"36h", 36 * time.Hour},
		{"90m", 90 * time.Minute}, // a Go duration: minutes
		{"1h30m", 90 * time.Minute},
		{"7d", 7 * day},
		{"2w", 14 * day},
		{"1y6m", 365*day + 180*day},
		{"1d12h", 36 * time.Hour},
	} {
		got, err := ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "7", "d", "7 days", "7x", "1d2", "0d", "-7d", "99999999999999999999d", "300y"} {
		if d, err := ParseDuration(in); !errors.Is(err, ErrInvalidDuration) {
			t.Errorf("ParseDuration(%q) = %v, %v; want ErrInvalidDuration", in, d, err)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"36h", "90m", "7d", "1y6m", "2w3d", "7 days", "-1h", "0s", "9223372036854775807d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidDuration) {
				t.Fatalf("ParseDuration(%q) = %v, want ErrInvalidDuration", s, err)
			}
			return
		}
		if g, gerr := time.ParseDuration(s); gerr == nil {
			if g != d {
				t.Fatalf("ParseDuration(%q) = %v, Go says %v", s, d, g)
			}
			return
		}
		if d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v, want a positive duration", s, d)
		}
		// Round trip through Go's notation.
		if back, err := ParseDuration(d.String()); err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %v, but its String parses as %v, %v", s, d, back, err)
		}
	})
}

func parseFlags(t *testing.T, args ...string) (Policy, error) {
	t.Helper()
	var pf PolicyFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pf.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return pf.Policy()
}

func TestPolicyFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want Policy
		err  error
	}{
		{args: []string{"-keep-last", "3", "-keep-daily", "7"}, want: Policy{Last: 3, Daily: 7}},
		{args: []string{"-keep-hourly", "1", "-keep-weekly", "2", "-keep-monthly", "3", "-keep-yearly", "-1"},
			want: Policy{Hourly: 1, Weekly: 2, Monthly: 3, Yearly: -1}},
		{args: []string{"-keep-within", "2w"}, want: Policy{Within: 14 * 24 * time.Hour}},
		{args: nil, err: ErrEmptyPolicy},
		{args: []string{"-keep-within", "7 days"}, err: ErrInvalidDuration},
		{args: []string{"-keep-within", "-1h"}, err: ErrInvalidPolicy},
	} {
		got, err := parseFlags(t, c.args...)
		if !errors.Is(err, c.err) || (c.err == nil && got != c.want) {
			t.Errorf("flags %v: %+v, %v; want %+v, %v", c.args, got, err, c.want, c.err)
		}
	}
}
