package importjob

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"seed-2025.01_host", true}, {"0abc", true}, {strings.Repeat("x", 64), true},
		{"", false}, {strings.Repeat("x", 65), false}, {"-a", false}, {".a", false}, {"_a", false},
		{"a b", false}, {"a/b", false}, {"a\x00", false}, {"é", false}, {"a:b", false}, {"..", false},
	}
	for _, tc := range tests {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", tc.name, err)
		}
	}
}

func TestNormalizeTracking(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1z999aa10123456784", "1Z999AA10123456784"},
		{"  1Z 999 AA1 0123 456 784\n", "1Z999AA10123456784"},
		{"\t jd-0001\u00a0234 ", "JD-0001234"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := NormalizeTracking(tc.in); got != tc.want {
			t.Errorf("NormalizeTracking(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "AB/1", "ab1", strings.Repeat("1", 65), "1 2"} {
		if err := ValidateTracking(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateTracking(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestPlainText(t *testing.T) {
	for s, want := range map[string]bool{
		"ACME, 1 Main St\nSpringfield": true, "tab\tok": true, "ünïcödé": true, "": true,
		"nul\x00": false, "bell\a": false, "del\x7f": false, "crlf\r\n": true, "\xff": false,
	} {
		if got := PlainText(s); got != want {
			t.Errorf("PlainText(%q) = %v, want %v", s, got, want)
		}
	}
}
