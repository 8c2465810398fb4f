package azure

import (
	"errors"
	"testing"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Location
		ok   bool
	}{
		{"azure:backups", Location{Container: "backups"}, true},
		{"azure:backups/", Location{Container: "backups"}, true},
		{"azure:backups/host1/repo", Location{Container: "backups", Prefix: "host1/repo"}, true},
		{"azure:a-b-1/p", Location{Container: "a-b-1", Prefix: "p"}, true},
		{"azure:", Location{}, false},
		{"azure:ab", Location{}, false},
		{"azure:Backups", Location{}, false},
		{"azure:a--b", Location{}, false},
		{"azure:-ab", Location{}, false},
		{"azure:ab-", Location{}, false},
		{"azure:abc/../x", Location{}, false},
		{"azure:abc//x", Location{}, false},
		{"azure:abc/a b", Location{}, false},
		{"s3:abc", Location{}, false},
		{"abc", Location{}, false},
	} {
		got, err := ParseLocation(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrLocation) {
			t.Errorf("ParseLocation(%q) error %v does not wrap ErrLocation", tc.in, err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		hint string // "" means ErrNoCredentials
	}{
		{map[string]string{EnvConnectionString: "AccountName=a;AccountKey=a2V5"}, EnvConnectionString},
		{map[string]string{EnvAccount: "acct", EnvKey: "a2V5"}, EnvKey},
		{map[string]string{EnvAccount: "acct", EnvSASToken: "?sv=2024&sig=x"}, EnvSASToken},
		{map[string]string{EnvAccount: "acct"}, ""},
		{map[string]string{EnvKey: "a2V5"}, ""},
		{map[string]string{}, ""},
	} {
		cfg, err := ConfigFromEnv("azure:backups/p", func(k string) string { return tc.env[k] })
		if tc.hint == "" {
			if !errors.Is(err, ErrNoCredentials) {
				t.Errorf("ConfigFromEnv(%v) = %v, want ErrNoCredentials", tc.env, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ConfigFromEnv(%v) = %v", tc.env, err)
			continue
		}
		s, err := New(cfg)
		if err != nil || s.hint[:len(tc.hint)] != tc.hint {
			t.Errorf("New(%v) = hint %q, %v; want hint %q", tc.env, s.hint, err, tc.hint)
		}
	}
}

func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"azure:backups", "azure:backups/host1/repo", "azure:a-b/x/", "azure:AB", "azure:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLocation(s)
		if err != nil {
			return
		}
		again, err := ParseLocation(l.String())
		if err != nil || again != l {
			t.Fatalf("ParseLocation(%q) = %+v, but its String %q parses to %+v, %v", s, l, l.String(), again, err)
		}
	})
}
