package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cloudEnv returns the settings scripts/services.sh exports, failing the
// test when they are missing: the cloud backends are always tested against
// the real Azurite and S3 servers.
func cloudEnv(t *testing.T, keys ...string) map[string]string {
	t.Helper()
	if os.Getenv("SEEDSHIP_TEST_NO_SERVICES") == "1" {
		t.Skip("SEEDSHIP_TEST_NO_SERVICES=1: cloud backends not tested")
	}
	out := map[string]string{}
	for _, k := range keys {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("%s is not set: start the test services with eval \"$(scripts/services.sh up)\" (or run scripts/test.sh)", k)
		}
		out[k] = v
	}
	return out
}

func randomName(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "seedship-cli-" + hex.EncodeToString(b)
}

// TestCloudRepositories runs every repository command against Azure Blob
// (Azurite) and S3 (versitygw): init creates the container or bucket.
func TestCloudRepositories(t *testing.T) {
	cases := []struct {
		name string
		keys []string
		loc  func(env map[string]string, bucket string) string
	}{
		{"azure", []string{"AZURE_STORAGE_CONNECTION_STRING"}, func(_ map[string]string, b string) string { return "azure:" + b + "/host1" }},
		{"s3", []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SEEDSHIP_TEST_S3_ENDPOINT"}, func(env map[string]string, b string) string {
			return "s3:" + env["SEEDSHIP_TEST_S3_ENDPOINT"] + "/" + b + "/host1"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := cloudEnv(t, tc.keys...)
			c := newCLI(t)
			kv := []string{"SEEDSHIP_REPO", tc.loc(env, randomName(t)), "AWS_REGION", "us-east-1"}
			for k, v := range env {
				kv = append(kv, k, v)
			}
			c = c.with(kv...)
			c.initRepo()
			src := filepath.Join(t.TempDir(), "src")
			writeFile(t, filepath.Join(src, "a.txt"), []byte(strings.Repeat("cloud ", 10000)))
			writeFile(t, filepath.Join(src, "sub", "b.bin"), randomBytes(7, 3<<20))
			c.ok("backup", src)
			writeFile(t, filepath.Join(src, "c.txt"), []byte("second"))
			c.ok("backup", src)
			target := t.TempDir()
			c.ok("restore", "latest", "--target", target, "--verify")
			for _, name := range []string{"a.txt", "sub/b.bin", "c.txt"} {
				want, _ := os.ReadFile(filepath.Join(src, name))
				got, err := os.ReadFile(filepath.Join(target, src, name))
				if err != nil || string(got) != string(want) {
					t.Errorf("restored %s differs: %v", name, err)
				}
			}
			c.ok("forget", "--keep-last", "1", "--prune")
			c.ok("check", "--read-data")
			if r := c.ok("snapshots", "--json"); strings.Count(r.stdout, `"id"`) != 1 {
				t.Errorf("after forget --keep-last 1: %s", r.stdout)
			}
		})
	}
}
