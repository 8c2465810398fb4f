package forget

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidDuration is returned by ParseDuration for text that is not a
// duration.
var ErrInvalidDuration = errors.New("invalid duration")

// FlagSet is the part of a command-line flag set that PolicyFlags registers
// its flags with; *flag.FlagSet and *pflag.FlagSet (cobra) both have it.
type FlagSet interface {
	IntVar(p *int, name string, value int, usage string)
	StringVar(p *string, name string, value string, usage string)
}

// PolicyFlags is a retention policy as given on a command line: the
// --keep-* flags that every command applying a policy shares (the
// customer's seedship forget and the service's seedshipd vault prune).
type PolicyFlags struct {
	p      Policy
	within string
}

// AddFlags registers --keep-last, --keep-hourly, --keep-daily,
// --keep-weekly, --keep-monthly, --keep-yearly and --keep-within with fs.
func (f *PolicyFlags) AddFlags(fs FlagSet) {
	fs.IntVar(&f.p.Last, "keep-last", 0, "keep the `N` newest snapshots")
	fs.IntVar(&f.p.Hourly, "keep-hourly", 0, "keep the newest snapshot of each of the last `N` hours with snapshots")
	fs.IntVar(&f.p.Daily, "keep-daily", 0, "keep the newest snapshot of each of the last `N` days with snapshots")
	fs.IntVar(&f.p.Weekly, "keep-weekly", 0, "keep the newest snapshot of each of the last `N` weeks with snapshots")
	fs.IntVar(&f.p.Monthly, "keep-monthly", 0, "keep the newest snapshot of each of the last `N` months with snapshots")
	fs.IntVar(&f.p.Yearly, "keep-yearly", 0, "keep the newest snapshot of each of the last `N` years with snapshots")
	fs.StringVar(&f.within, "keep-within", "", "keep every snapshot newer than `DURATION` (like 36h, 7d, 2w, 1y)")
}

// Policy returns the policy the flags give, validated: ErrInvalidDuration
// for a bad --keep-within, ErrEmptyPolicy when no rule is set,
// ErrInvalidPolicy for a negative duration.
func (f *PolicyFlags) Policy() (Policy, error) {
	p := f.p
	if f.within != "" {
		d, err := ParseDuration(f.within)
		if err != nil {
			return Policy{}, fmt.Errorf("--keep-within: %w", err)
		}
		p.Within = d
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// durationUnit returns the length of ParseDuration's unit c (zero: not a
// unit): months are 30 days and years 365 days.
func durationUnit(c byte) time.Duration {
	const day = 24 * time.Hour
	switch c {
	case 'h':
		return time.Hour
	case 'd':
		return day
	case 'w':
		return 7 * day
	case 'm':
		return 30 * day
	case 'y':
		return 365 * day
	}
	return 0
}

// ParseDuration accepts Go durations ("36h", "90m", "1h30m") plus whole
// numbers of h (hours), d (days), w (weeks), m (months of 30 days) and y
// (years of 365 days), combined like "1y6m". A bare "m" after a number is
// minutes when the whole text is a Go duration ("90m"), months otherwise
// ("1y6m").
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	bad := fmt.Errorf("%w %q: use a number with a unit h, d, w, m or y, like 7d or 1y6m", ErrInvalidDuration, s)
	var total, n time.Duration
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		unit := durationUnit(c)
		switch {
		case c >= '0' && c <= '9':
			if n > (math.MaxInt64-9)/10 {
				return 0, fmt.Errorf("%w %q: too large", ErrInvalidDuration, s)
			}
			n = n*10 + time.Duration(c-'0')
			digits = true
		case unit != 0 && digits:
			if n > (math.MaxInt64-total)/unit {
				return 0, fmt.Errorf("%w %q: too large", ErrInvalidDuration, s)
			}
			total += n * unit
			n, digits = 0, false
		default:
			return 0, bad
		}
	}
	if digits || total == 0 {
		return 0, bad
	}
	return total, nil
}
