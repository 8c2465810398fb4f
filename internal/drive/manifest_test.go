package drive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func goldenManifest() *Manifest {
	return &Manifest{Format: 1, Job: "seed-2025", DriveID: "00112233445566778899aabbccddeeff", Seq: 2,
		Created: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Files: []File{
			{Path: "config", Size: 155, SHA256: strings.Repeat("1a", 32)},
			{Path: "index/" + strings.Repeat("2b", 32), Size: 4096, SHA256: strings.Repeat("2b", 32)},
			{Path: "data/3c/" + strings.Repeat("3c", 32), Size: 16777216, SHA256: strings.Repeat("3c", 32)},
		}}
}

// TestGoldenManifest freezes the encoding: a change of the bytes is a
// format change. SEEDSHIP_UPDATE_GOLDEN=1 rewrites the files.
func TestGoldenManifest(t *testing.T) {
	b, err := goldenManifest().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := ComputeMAC(b, testKey)
	files := map[string][]byte{"manifest-v1.json": b, "manifest-v1.mac": []byte(mac + "\n")}
	for name, data := range files {
		path := filepath.Join("testdata", name)
		if os.Getenv("SEEDSHIP_UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(golden, data) {
			t.Errorf("%s changed:\n%s\nwant:\n%s", name, data, golden)
		}
	}
	m, err := ParseManifest(files["manifest-v1.json"])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(goldenManifest(), m); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := VerifyMAC(files["manifest-v1.json"], files["manifest-v1.mac"], testKey); err != nil {
		t.Error(err)
	}
}

func TestParseManifestRejects(t *testing.T) {
	good, _ := goldenManifest().Marshal()
	head := `{"format":1,"job":"j","drive_id":"00112233445566778899aabbccddeeff","seq":1,"created":"2025-03-01T12:00:00Z",`
	file := func(path string) string {
		return head + `"files":[{"path":"` + path + `","size":1,"sha256":"` + strings.Repeat("a", 64) + `"}]}`
	}
	tests := map[string]string{
		"empty":          ``,
		"not an object":  `[]`,
		"format 2":       strings.Replace(string(good), `"format":1`, `"format":2`, 1),
		"format string":  strings.Replace(string(good), `"format":1`, `"format":"1"`, 1),
		"bad job":        strings.Replace(string(good), `"job":"seed-2025"`, `"job":"-x"`, 1),
		"bad drive id":   strings.Replace(string(good), `00112233`, `0011223`, 1),
		"upper drive id": strings.Replace(string(good), `aabbcc`, `AABBCC`, 1),
		"seq 0":          strings.Replace(string(good), `"seq":2`, `"seq":0`, 1),
		"seq float":      strings.Replace(string(good), `"seq":2`, `"seq":2.5`, 1),
		"no created":     strings.Replace(string(good), `"created":"2025-03-01T12:00:00Z",`, ``, 1),
		"no files":       head[:len(head)-1] + `}`,
		"null files":     head + `"files":null}`,
		"unknown field":  head + `"files":[],"extra":1}`,
		"repeated field": head + `"seq":3,"files":[]}`,
		"unknown file field": head + `"files":[{"path":"a","size":1,"sha256":"` + strings.Repeat("a", 64) +
			`","mode":1}]}`,
		"trailing data":   string(good) + `{}`,
		"duplicate path":  head + `"files":[{"path":"a","size":1,"sha256":"` + strings.Repeat("a", 64) + `"},{"path":"a","size":1,"sha256":"` + strings.Repeat("a", 64) + `"}]}`,
		"negative size":   strings.Replace(file("a"), `"size":1`, `"size":-1`, 1),
		"short sha":       strings.Replace(file("a"), strings.Repeat("a", 64), strings.Repeat("a", 63), 1),
		"upper sha":       strings.Replace(file("a"), strings.Repeat("a", 64), strings.Repeat("A", 64), 1),
		"absolute":        file("/etc/passwd"),
		"dotdot":          file("../x"),
		"inner dotdot":    file("data/../../x"),
		"dot":             file("."),
		"dot segment":     file("data/./x"),
		"empty segment":   file("data//x"),
		"trailing slash":  file("data/"),
		"backslash":       file(`data\\x`),
		"nul":             file(`a\u0000b`),
		"space":           file("a b"),
		"non-ascii":       file("caf\u00e9"),
		"empty path":      file(""),
		"manifest name":   file(ManifestName),
		"mac name":        file(MACName),
		"marker name":     file(MarkerName),
		"reserved prefix": file("seedship-x/y"),
		"partial":         file("data/ab/x.partial"),
		"truncated":       string(good[:len(good)-5]),
		"number overflow": strings.Replace(file("a"), `"size":1`, `"size":99999999999999999999`, 1),
	}
	for name, in := range tests {
		if m, err := ParseManifest([]byte(in)); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: ParseManifest = %+v, %v; want ErrManifest", name, m, err)
		}
	}
	if _, err := ParseManifest([]byte(file("data/ab/ok"))); err != nil {
		t.Errorf("control case: %v", err)
	}
}

func TestParseManifestBounds(t *testing.T) {
	big := make([]byte, MaxManifestSize+1)
	if _, err := ParseManifest(big); !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized manifest: %v", err)
	}
	head := `{"format":1,"job":"j","drive_id":"00112233445566778899aabbccddeeff","seq":1,"created":"2025-03-01T12:00:00Z","files":[`
	many := head + strings.Repeat(`{},`, 4) + `{}]}`
	if _, err := parseManifest([]byte(many), 3); !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), "more than 3 files") {
		t.Errorf("too many files: %v", err)
	}
}

func TestVerifyMAC(t *testing.T) {
	b, _ := goldenManifest().Marshal()
	mac, err := ComputeMAC(b, testKey)
	if err != nil {
		t.Fatal(err)
	}
	otherKey := bytes.Repeat([]byte{7}, 32)
	tampered := bytes.Replace(b, []byte(`"size":4096`), []byte(`"size":4097`), 1)
	tests := []struct {
		name          string
		manifest, mac []byte
		key           []byte
		want          error
	}{
		{"good", b, []byte(mac), testKey, nil},
		{"good with newline", b, []byte(mac + "\n"), testKey, nil},
		{"tampered manifest", tampered, []byte(mac), testKey, ErrMAC},
		{"wrong key", b, []byte(mac), otherKey, ErrMAC},
		{"two newlines", b, []byte(mac + "\n\n"), testKey, ErrMAC},
		{"short", b, []byte(mac[:62]), testKey, ErrMAC},
		{"not hex", b, []byte(strings.Repeat("z", 64)), testKey, ErrMAC},
		{"empty", b, nil, testKey, ErrMAC},
		{"short key", b, []byte(mac), testKey[:16], ErrJobKey},
	}
	for _, tc := range tests {
		if err := VerifyMAC(tc.manifest, tc.mac, tc.key); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: VerifyMAC = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestReadManifestRefusesOversize(t *testing.T) {
	root := t.TempDir()
	f, err := os.Create(filepath.Join(root, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(10 << 30); err != nil { // 10 GiB, sparse: nothing allocated
		t.Fatal(err)
	}
	f.Close()
	if _, _, err := ReadManifest(root, testKey); !errors.Is(err, ErrManifest) {
		t.Errorf("ReadManifest of oversized file: %v, want ErrManifest", err)
	}
}
