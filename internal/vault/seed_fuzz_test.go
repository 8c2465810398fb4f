package vault

import (
	"encoding/json"
	"testing"
)

// FuzzAdoptRequest: the adopt and cleanup body parser never panics, and
// what it accepts survives a marshal and re-parse unchanged.
func FuzzAdoptRequest(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"after":""}`, `{"after":"data/ab/ab12"}`, `{"after":"config"}`,
		`{"after":"../x"}`, `{"after":"a//b"}`, `{"after":1}`, `{"from":""}`, `null`, `[]`, `{"after":""} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseSeedRequest(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal of an accepted request: %v", err)
		}
		again, err := parseSeedRequest(out)
		if err != nil || again != req {
			t.Fatalf("re-parse of %s = %+v, %v; want %+v", out, again, err, req)
		}
	})
}
