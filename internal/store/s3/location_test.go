package s3

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
		{"s3:http://127.0.0.1:9000/bucket", Location{Endpoint: "127.0.0.1:9000", Insecure: true, Bucket: "bucket"}, true},
		{"s3:https://s3.example.com/bucket/host1/repo/", Location{Endpoint: "s3.example.com", Bucket: "bucket", Prefix: "host1/repo"}, true},
		{"s3:https://[::1]:9000/b.c-d", Location{Endpoint: "[::1]:9000", Bucket: "b.c-d"}, true},
		{"s3:my-bucket", Location{Bucket: "my-bucket"}, true},
		{"s3:my-bucket/repo", Location{Bucket: "my-bucket", Prefix: "repo"}, true},
		{"s3:", Location{}, false},
		{"s3:ab", Location{}, false},
		{"s3:My-Bucket", Location{}, false},
		{"s3:a..b", Location{}, false},
		{"s3:.abc", Location{}, false},
		{"s3:ftp://h/bucket", Location{}, false},
		{"s3:http:///bucket", Location{}, false},
		{"s3:http://h:99999/bucket", Location{}, false},
		{"s3:http://h:9000", Location{}, false},
		{"s3:bucket/../x", Location{}, false},
		{"azure:bucket", Location{}, false},
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
	env := map[string]string{EnvAccessKey: "ak", EnvSecretKey: "sk", EnvDefaultRegion: "eu-west-1", EnvProfile: "p"}
	cfg, err := ConfigFromEnv("s3:bucket/p", func(k string) string { return env[k] })
	if err != nil || cfg.AccessKey != "ak" || cfg.SecretKey != "sk" || cfg.Region != "eu-west-1" || cfg.Profile != "p" {
		t.Errorf("ConfigFromEnv = %+v, %v", cfg, err)
	}
	delete(env, EnvSecretKey)
	if _, err := ConfigFromEnv("s3:bucket/p", func(k string) string { return env[k] }); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("ConfigFromEnv without a secret key = %v, want ErrNoCredentials", err)
	}
	none := map[string]string{EnvCredentialsFile: "/nonexistent/credentials"}
	cfg, err = ConfigFromEnv("s3:bucket/p", func(k string) string { return none[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("New without keys or credentials file = %v, want ErrNoCredentials", err)
	}
}

func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"s3:http://127.0.0.1:9000/bucket/p", "s3:https://h/b.c/x/", "s3:bucket/repo", "s3:B", "s3:"} {
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
