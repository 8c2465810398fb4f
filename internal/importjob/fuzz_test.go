package importjob

import (
	"encoding/json"
	"reflect"
	"testing"
)

func FuzzNormalizeTracking(f *testing.F) {
	for _, s := range []string{"1z 999", " ab-12 ", "\u00a0x\ty", "ǅ", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeTracking(s)
		if again := NormalizeTracking(n); again != n {
			t.Errorf("NormalizeTracking not idempotent: %q -> %q -> %q", s, n, again)
		}
		if ValidateTracking(n) == nil && NormalizeTracking(n) != n {
			t.Errorf("valid tracking %q is not normal", n)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"a", "seed-1", "-x", "a/b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateName(s) != nil {
			return
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '/' || c == '\\' || c < '!' || c > '~' {
				t.Fatalf("ValidateName accepted %q with byte %#x", s, c)
			}
		}
		if s == "." || s == ".." {
			t.Fatalf("ValidateName accepted %q", s)
		}
	})
}

// FuzzJob decodes job JSON from the API or database: no panic, and a job
// that validates survives a JSON round trip unchanged.
func FuzzJob(f *testing.F) {
	j, err := New(testSpec(2), t0)
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(j)
	f.Add(b)
	f.Add([]byte(`{"name":"x","state":"Bogus"}`))
	f.Add([]byte(`{"id":"1","account":"a","name":"n","storage_account":"s","container":"c","state":"Creating","drives":[{"id":"00000000000000000000000000000000","seq":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var j Job
		if json.Unmarshal(b, &j) != nil || j.Validate() != nil {
			return
		}
		out, err := json.Marshal(&j)
		if err != nil {
			t.Fatal(err)
		}
		var back Job
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		out2, _ := json.Marshal(&back)
		if !reflect.DeepEqual(out, out2) {
			t.Fatalf("round trip changed the job:\n%s\n%s", out, out2)
		}
	})
}
