package importjob

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of names and shipping fields.
const (
	// MaxNameLen is the longest job name.
	MaxNameLen = 64
	// MaxTrackingLen is the longest normalised tracking number.
	MaxTrackingLen = 64
	// MaxTextLen bounds free-text shipping fields (carrier, address, contact).
	MaxTextLen = 1024
)

// ValidateName checks a job name: 1 to 64 characters from [A-Za-z0-9._-],
// starting with a letter or digit. Names appear in paths, URLs and log file
// names, so nothing else is allowed.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w %q: must be 1 to %d characters", ErrInvalidName, name, MaxNameLen)
	}
	if !isAlnum(name[0]) {
		return fmt.Errorf("%w %q: must start with a letter or digit", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%w %q: character %q at %d: use only letters, digits, '.', '_' and '-'",
				ErrInvalidName, name, rune(c), i)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// NormalizeTracking returns the canonical form of a tracking number, the form
// that is stored and compared for uniqueness: upper case with every space
// (any Unicode white space, inside or around) removed.
func NormalizeTracking(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}

// ValidateTracking checks a normalised tracking number: 1 to 64 characters
// from [A-Z0-9-].
func ValidateTracking(t string) error {
	if t == "" || len(t) > MaxTrackingLen {
		return fmt.Errorf("%w: tracking number %q: must be 1 to %d characters", ErrInvalid, t, MaxTrackingLen)
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Errorf("%w: tracking number %q: character %q: use only letters, digits and '-'", ErrInvalid, t, rune(c))
		}
	}
	return nil
}

// NormalizeShipping returns s with its tracking number normalised, text
// fields trimmed and Packages defaulted to 1, and checks it: carrier and
// tracking number are required, all drives of a job travel in one package,
// and for a shipment to the datacenter (inbound) the ship date, return
// address and contact are required too.
func NormalizeShipping(s Shipping, inbound bool) (Shipping, error) {
	s.Carrier = strings.TrimSpace(s.Carrier)
	s.ReturnAddress = strings.TrimSpace(s.ReturnAddress)
	s.Contact = strings.TrimSpace(s.Contact)
	s.Tracking = NormalizeTracking(s.Tracking)
	if s.Packages == 0 {
		s.Packages = 1
	}
	if err := ValidateTracking(s.Tracking); err != nil {
		return s, err
	}
	if s.Packages != 1 {
		return s, fmt.Errorf("%w: shipping %s: %d packages: all drives of a job travel in one package", ErrInvalid, s.Tracking, s.Packages)
	}
	fields := []struct{ name, v string }{{"carrier", s.Carrier}}
	if inbound {
		fields = append(fields, struct{ name, v string }{"return address", s.ReturnAddress},
			struct{ name, v string }{"contact", s.Contact})
	}
	for _, f := range fields {
		if f.v == "" {
			return s, fmt.Errorf("%w: shipping %s: %s is required", ErrInvalid, s.Tracking, f.name)
		}
	}
	for _, v := range []string{s.Carrier, s.ReturnAddress, s.Contact} {
		if len(v) > MaxTextLen || !PlainText(v) {
			return s, fmt.Errorf("%w: shipping %s: text field longer than %d bytes, not UTF-8, or with control characters", ErrInvalid, s.Tracking, MaxTextLen)
		}
	}
	if inbound && s.ShipDate.IsZero() {
		return s, fmt.Errorf("%w: shipping %s: ship date is required", ErrInvalid, s.Tracking)
	}
	return s, nil
}

// PlainText reports whether s is UTF-8 text without control characters
// other than newline, carriage return and tab: what a person types into a form, and what
// every database engine stores (PostgreSQL refuses NUL in text).
func PlainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
