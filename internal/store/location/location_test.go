package location

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/store"
	"github.com/seedship/seedship/internal/store/azure"
	"github.com/seedship/seedship/internal/store/s3"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		loc  string
		kind Kind
		dir  string
		err  error // nil: no error; errAny: some error
	}{
		{"/srv/backup", Local, "/srv/backup", nil},
		{"backup", Local, "backup", nil},
		{"./a:b", Local, "./a:b", nil},
		{"C:\\backup", Local, "C:\\backup", nil},
		{"local:/srv/backup", Local, "/srv/backup", nil},
		{"local:rel/dir:x", Local, "rel/dir:x", nil},
		{"LOCAL:/x", Local, "/x", nil},
		{"azure:backups", Azure, "", nil},
		{"azure:backups/host1/repo", Azure, "", nil},
		{"s3:http://127.0.0.1:9000/bucket/prefix", S3, "", nil},
		{"s3:https://s3.example.com/bucket", S3, "", nil},
		{"s3:my-bucket/repo", S3, "", nil},
		{"", "", "", ErrEmpty},
		{"local:", "", "", ErrEmpty},
		{"vault:https://vault.example/x", "", "", ErrUnknownScheme},
		{"ftp://host/x", "", "", ErrUnknownScheme},
		{"backup:2024", "", "", ErrUnknownScheme},
		{"azure:Bad_Container", "", "", azure.ErrLocation},
		{"azure:", "", "", azure.ErrLocation},
		{"s3:", "", "", s3.ErrLocation},
		{"s3:ftp://host/bucket", "", "", s3.ErrLocation},
		{"s3:http:///bucket", "", "", s3.ErrLocation},
	} {
		kind, dir, err := Parse(tc.loc)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("Parse(%q) = %v, want %v", tc.loc, err, tc.err)
			}
			continue
		}
		if err != nil || kind != tc.kind || dir != tc.dir {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tc.loc, kind, dir, err, tc.kind, tc.dir)
		}
	}
}

func TestUnknownSchemeAdvice(t *testing.T) {
	_, err := Open(t.Context(), "backup:2024", false)
	if !errors.Is(err, ErrUnknownScheme) || !strings.Contains(err.Error(), "local:backup:2024") {
		t.Errorf("Open(backup:2024) = %v, want ErrUnknownScheme suggesting local:backup:2024", err)
	}
}

func TestOpenLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	for _, loc := range []string{dir, "local:" + dir} {
		if _, err := Open(t.Context(), loc, false); !errors.Is(err, store.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) of a missing directory = %v, want ErrNotFound and fs.ErrNotExist", loc, err)
		}
	}
	st, err := Open(t.Context(), "local:"+dir, true)
	if err != nil {
		t.Fatalf("Open(create): %v", err)
	}
	roundTrip(t, st)
	st, err = Open(t.Context(), dir, false)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := st.Stat(t.Context(), "config"); err != nil {
		t.Errorf("Stat(config) through a second Open: %v", err)
	}
}

func roundTrip(t *testing.T, st store.Store) {
	t.Helper()
	if err := st.Put(t.Context(), "config", bytes.NewReader([]byte("cfg")), 3); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := store.ReadAll(t.Context(), st, "config")
	if err != nil || string(got) != "cfg" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
}

// requireServices fails when the test services' settings are missing,
// unless the run explicitly opted out.
func requireServices(t *testing.T, vars ...string) {
	t.Helper()
	if os.Getenv("SEEDSHIP_TEST_NO_SERVICES") == "1" {
		t.Skip("SEEDSHIP_TEST_NO_SERVICES=1: not testing against the cloud emulators")
	}
	for _, v := range vars {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set: start the test services with\n\teval \"$(scripts/services.sh up)\"\n"+
				"(or set SEEDSHIP_TEST_NO_SERVICES=1 to skip the tests that need them)", v)
		}
	}
}

func randomName() string {
	var b [8]byte
	rand.Read(b[:])
	return "seedship-test-" + hex.EncodeToString(b[:])
}

func cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}

func TestOpenAzure(t *testing.T) {
	requireServices(t, azure.EnvConnectionString)
	loc := "azure:" + randomName() + "/host1/repo"
	if _, err := Open(t.Context(), loc, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Open(%q) of a missing container = %v, want ErrNotFound", loc, err)
	}
	st, err := Open(t.Context(), loc, true)
	if err != nil {
		t.Fatalf("Open(%q, create): %v", loc, err)
	}
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		if err := st.(*azure.Store).DeleteContainer(ctx); err != nil {
			t.Errorf("DeleteContainer: %v", err)
		}
	})
	roundTrip(t, st)
}

func TestOpenS3(t *testing.T) {
	requireServices(t, "SEEDSHIP_TEST_S3_ENDPOINT", s3.EnvAccessKey, s3.EnvSecretKey)
	loc := "s3:" + os.Getenv("SEEDSHIP_TEST_S3_ENDPOINT") + "/" + randomName() + "/host1/repo"
	if _, err := Open(t.Context(), loc, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Open(%q) of a missing bucket = %v, want ErrNotFound", loc, err)
	}
	st, err := Open(t.Context(), loc, true)
	if err != nil {
		t.Fatalf("Open(%q, create): %v", loc, err)
	}
	t.Cleanup(func() {
		ctx, cancel := cleanupCtx()
		defer cancel()
		if err := st.(*s3.Store).DeleteBucket(ctx); err != nil {
			t.Errorf("DeleteBucket: %v", err)
		}
	})
	roundTrip(t, st)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/srv/b", "local:x", "azure:c0n/p/q", "s3:http://h:1/b/p", "s3:b/p", "x:y", "C:\\d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		kind, dir, err := Parse(loc)
		if err != nil {
			return
		}
		switch kind {
		case Local:
			if dir == "" {
				t.Fatalf("Parse(%q) = local with an empty directory", loc)
			}
			if k2, d2, err := Parse("local:" + dir); err != nil || k2 != Local || d2 != dir {
				t.Fatalf("Parse(local:%s) = %q, %q, %v; want local, %q", dir, k2, d2, err, dir)
			}
		case Azure:
			l, err := azure.ParseLocation(loc)
			if err != nil || l.String() == "" {
				t.Fatalf("azure.ParseLocation(%q) = %v after Parse accepted it", loc, err)
			}
		case S3:
			if _, err := s3.ParseLocation(loc); err != nil {
				t.Fatalf("s3.ParseLocation(%q) = %v after Parse accepted it", loc, err)
			}
		}
	})
}
