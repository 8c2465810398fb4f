package vault

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seedship/seedship/internal/meta"
)

func exampleFiles(t testing.TB) (acc, vc, mc []byte) {
	r := newRand(7)
	key, _ := newCredential(kindAdmin, r)
	tok, _ := newCredential(kindToken, r)
	mkey, _ := newCredential(kindMachine, r)
	e := Endpoint{URL: "https://vault.example:8443", Fingerprint: "sha256:" + key.Hash()}
	id := "0123456789abcdef0123456789abcdef"
	now := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	var err error
	a := &AccountSettings{Format: FormatAccountSettings, Endpoint: e, Role: meta.RoleAdmin, AccountID: id, Name: "acme", APIKey: key.String(), Created: now}
	if acc, err = a.Marshal(); err != nil {
		t.Fatal(err)
	}
	v := &VaultCredentials{Format: FormatVaultCredentials, Endpoint: e, AccountID: id, VaultID: id, VaultName: "web", Token: tok.String(), Expires: now}
	if vc, err = v.Marshal(); err != nil {
		t.Fatal(err)
	}
	m := &MachineConfig{Format: FormatMachineConfig, Endpoint: e, AccountID: id, VaultID: id, VaultName: "web",
		MachineID: id, Hostname: "db1", Key: mkey.String(), Registered: now}
	if mc, err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
	return acc, vc, mc
}

func TestExampleFilesParse(t *testing.T) {
	acc, vc, mc := exampleFiles(t)
	if _, err := ParseAccountSettings(acc); err != nil {
		t.Error(err)
	}
	if _, err := ParseVaultCredentials(vc); err != nil {
		t.Error(err)
	}
	if _, err := ParseMachineConfig(mc); err != nil {
		t.Error(err)
	}
	if _, err := ParseVaultCredentials(acc); err == nil {
		t.Error("an account settings file parsed as vault credentials")
	}
}

// roundTrip checks parse(marshal(parse(b))) == parse(b) for whatever parses.
func roundTrip[T interface{ Marshal() ([]byte, error) }](t *testing.T, b []byte, parse func([]byte) (T, error)) {
	v, err := parse(b)
	if err != nil {
		return
	}
	out, err := v.Marshal()
	if err != nil {
		t.Fatalf("Marshal of a parsed file: %v", err)
	}
	w, err := parse(out)
	if err != nil {
		t.Fatalf("re-parse of %q: %v", out, err)
	}
	if !reflect.DeepEqual(v, w) {
		t.Fatalf("round trip changed the file: %+v != %+v", v, w)
	}
}

func FuzzParseAccountSettings(f *testing.F) {
	acc, vc, mc := exampleFiles(f)
	for _, s := range [][]byte{acc, vc, mc, []byte(`{}`), []byte(`{"format":"seedship-account-settings/1","role":"operator"}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { roundTrip(t, b, ParseAccountSettings) })
}

func FuzzParseVaultCredentials(f *testing.F) {
	acc, vc, mc := exampleFiles(f)
	for _, s := range [][]byte{acc, vc, mc, []byte(`{"format":"seedship-vault-credentials/1"}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { roundTrip(t, b, ParseVaultCredentials) })
}

func FuzzParseMachineConfig(f *testing.F) {
	acc, vc, mc := exampleFiles(f)
	for _, s := range [][]byte{acc, vc, mc, []byte(`[]`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { roundTrip(t, b, ParseMachineConfig) })
}

func FuzzParseCredential(f *testing.F) {
	r := newRand(3)
	for _, k := range []string{kindAdmin, kindMachine, kindOperator, kindToken} {
		c, _ := newCredential(k, r)
		f.Add(c.String())
	}
	f.Add("ssa__")
	f.Add("xyz_0011223344556677_AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCredential(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("parseCredential(%q).String() = %q", s, c.String())
		}
		if !c.Matches(c.Hash()) {
			t.Fatalf("credential does not match its own hash")
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "bytes=0-0", "bytes=5-", "bytes=-7", "bytes=3-2", "bytes=1-2,3-4", "bytes=-0", "bytes=9223372036854775807-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rg, err := parseRange(s)
		if err != nil || !rg.set {
			return
		}
		if rg.off < 0 || (!rg.suffix && rg.n == 0) || (rg.suffix && rg.n <= 0) || (rg.n > 0 && rg.off+rg.n-1 < rg.off) {
			t.Fatalf("parseRange(%q) = %+v: inconsistent", s, rg)
		}
	})
}

func FuzzValidPrefix(f *testing.F) {
	for _, s := range []string{"", "data/", "data/ab", "../", "a//", "/", "locks/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validPrefix(s) != nil {
			return
		}
		// A valid prefix never climbs out of the repository.
		for _, bad := range []string{"..", "\\", "//"} {
			if containsSegment(s, bad) {
				t.Fatalf("validPrefix accepted %q", s)
			}
		}
	})
}

func containsSegment(s, bad string) bool {
	if bad == ".." {
		return s == ".." || strings.HasPrefix(s, "../") || strings.Contains(s, "/../") || strings.HasSuffix(s, "/..")
	}
	return strings.Contains(s, bad)
}
