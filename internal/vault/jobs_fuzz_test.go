package vault

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseCreateJob: the POST /v1/jobs decoder never panics, and what it
// accepts survives a marshal and re-parse unchanged.
func FuzzParseCreateJob(f *testing.F) {
	for _, s := range []string{
		jobBody("seed-2025"),
		jobBody("a"),
		strings.Replace(jobBody("x"), `"vault":""`, `"vault":"web"`, 1),
		`{}`, `[]`, `null`, `{"name":"x","drives":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseCreateJob(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal of an accepted request: %v", err)
		}
		again, err := parseCreateJob(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(req, again) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", req, again)
		}
	})
}

// FuzzParseShipping: the shipping decoder never panics, and what it
// accepts is normalised: parsing its encoding again gives the same value.
func FuzzParseShipping(f *testing.F) {
	for _, s := range []string{
		shipBody("1Z 999 AA1"),
		shipBody("t-1"),
		strings.Replace(shipBody("X"), "2025-06-01T00:00:00Z", "2025-06-01T23:30:00+05:30", 1),
		`{}`, `{"tracking":" "}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseShipping(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal of accepted shipping: %v", err)
		}
		again, err := parseShipping(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip changed the shipping:\n%+v\n%+v", s, again)
		}
	})
}
