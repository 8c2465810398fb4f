package seed

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seedship/seedship/internal/importjob"
)

func testRecord() *Record {
	return &Record{
		Format: FormatVersion, Job: "seed-2025", AccountID: strings.Repeat("a", 32), AccountName: "acme",
		ServiceURL: "https://vault.example:8443", StorageAccount: "sa1", Container: "backups",
		Snapshots: []string{strings.Repeat("b", 64)}, Created: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

// accountFile returns a valid account settings file for account id.
func accountFile(id, name string) []byte {
	key := "ssa_0123456789abcdef_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	return fmt.Appendf(nil, `{"format":"seedship-account-settings/1","service_url":"https://vault.example:8443","role":"admin","account_id":%q,"name":%q,"api_key":%q,"created":"2025-01-01T00:00:00Z"}`, id, name, key)
}

func TestRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("Read(empty) = %v, want ErrNoRecord", err)
	}
	want := testRecord()
	want.ImportJob = &ImportJob{ID: "j1", State: importjob.JobCreating, Drives: []importjob.Drive{{ID: strings.Repeat("c", 32), Seq: 1}}}
	want.Shipping = &importjob.Shipping{Carrier: "UPS", Tracking: "1Z", Packages: 1}
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Read after Write (-want +got):\n%s", d)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("staging holds %d entries after Write, want only the record", len(ents))
	}
}

func TestParseRefuses(t *testing.T) {
	good, _ := testRecord().Marshal()
	for name, b := range map[string][]byte{
		"unknown field": bytes.Replace(good, []byte(`"format"`), []byte(`"extra":1,"format"`), 1),
		"format 2":      bytes.Replace(good, []byte(`"format": 1`), []byte(`"format": 2`), 1),
		"bad job":       bytes.Replace(good, []byte(`"seed-2025"`), []byte(`"../x"`), 1),
		"trailing":      append(bytes.Clone(good), []byte(`{}`)...),
		"no container":  bytes.Replace(good, []byte(`"backups"`), []byte(`""`), 1),
		"empty":         nil,
	} {
		if _, err := Parse(b); !errors.Is(err, ErrRecord) {
			t.Errorf("Parse(%s) = %v, want ErrRecord", name, err)
		}
	}
	if _, err := Parse(good); err != nil {
		t.Errorf("Parse(good) = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	good, _ := testRecord().Marshal()
	f.Add(good)
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Parse(again)
		if err != nil {
			t.Fatalf("Parse(Marshal(r)) = %v", err)
		}
		if d := cmp.Diff(r, r2); d != "" {
			t.Errorf("round trip (-first +second):\n%s", d)
		}
	})
}

func TestAccount(t *testing.T) {
	dir := t.TempDir()
	id := strings.Repeat("a", 32)
	path := filepath.Join(t.TempDir(), "acme.json")
	os.WriteFile(path, accountFile(id, "acme"), 0o600)
	if _, err := LoadAccount(dir, ""); err == nil || !strings.Contains(err.Error(), "--account-settings") {
		t.Errorf("LoadAccount without copy = %v, want a hint at --account-settings", err)
	}
	a, err := LoadAccount(dir, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveAccountCopy(dir, a); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, AccountCopyName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("account copy: %v, mode %v, want 0600", err, fi.Mode())
	}
	c, err := LoadAccount(dir, "")
	if err != nil || c.Settings.AccountID != id {
		t.Fatalf("LoadAccount(copy) = %+v, %v", c, err)
	}
	rec := testRecord()
	if err := rec.CheckAccount(c); err != nil {
		t.Errorf("CheckAccount(same) = %v", err)
	}
	other := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(other, accountFile(strings.Repeat("d", 32), "other"), 0o600)
	o, err := ReadAccount(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.CheckAccount(o); !errors.Is(err, ErrForeignAccount) {
		t.Errorf("CheckAccount(other) = %v, want ErrForeignAccount", err)
	}
	os.WriteFile(other, []byte("{}"), 0o600)
	if _, err := ReadAccount(other); err == nil {
		t.Error("ReadAccount(garbage) succeeded")
	}
}

func TestJobKey(t *testing.T) {
	dir := t.TempDir()
	rnd := bytes.NewReader(bytes.Repeat([]byte{9}, 64))
	k1, created, err := JobKey(dir, rnd)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("JobKey = %x, %v, %v", k1, created, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, JobKeyName))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("job key mode %v, want 0600", fi.Mode())
	}
	k2, created, err := JobKey(dir, rnd)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Errorf("second JobKey = %x, %v, %v; want the same key, not created", k2, created, err)
	}
	os.WriteFile(filepath.Join(dir, JobKeyName), []byte("short\n"), 0o600)
	if _, _, err := JobKey(dir, rnd); !errors.Is(err, ErrJobKey) {
		t.Errorf("JobKey(damaged) = %v, want ErrJobKey", err)
	}
}
