package secret

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadPasswordFile(t *testing.T) {
	for _, tc := range []struct {
		content, want string
		err           error
	}{
		{"s3cret", "s3cret", nil},
		{"s3cret\n", "s3cret", nil},
		{"s3cret\r\n\n", "s3cret", nil},
		{" s3 cret \t\n", " s3 cret \t", nil},
		{"line1\nline2\n", "line1\nline2", nil},
		{"", "", ErrEmpty},
		{"\r\n", "", ErrEmpty},
	} {
		p := writeFile(t, tc.content)
		pw, err := ReadPasswordFile(p)
		if string(pw) != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ReadPasswordFile(%q) = %q, %v; want %q, %v", tc.content, pw, err, tc.want, tc.err)
		}
		if tc.err != nil && err != nil && err.Error() != "password file "+p+" is empty" {
			t.Errorf("ReadPasswordFile(%q) error %q, want it to name the file", tc.content, err)
		}
	}
	_, err := ReadPasswordFile(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadPasswordFile(missing) = %v, want not exist", err)
	}
}

func TestPassword(t *testing.T) {
	good, empty := writeFile(t, "from-file\n"), writeFile(t, "\n")
	other := writeFile(t, "from-env-file")
	for _, tc := range []struct {
		name    string
		flag    string
		env     map[string]string
		want    string
		ok      bool
		wantErr bool
	}{
		{"flag file", good, map[string]string{EnvPasswordFile: other, EnvPassword: "env"}, "from-file", true, false},
		{"env file", "", map[string]string{EnvPasswordFile: other, EnvPassword: "env"}, "from-env-file", true, false},
		{"env password", "", map[string]string{EnvPassword: "env"}, "env", true, false},
		{"none", "", nil, "", false, false},
		{"empty file wins over the variable", empty, map[string]string{EnvPassword: "env"}, "", false, true},
		{"missing file", filepath.Join(t.TempDir(), "nope"), nil, "", false, true},
	} {
		getenv := func(k string) string { return tc.env[k] }
		pw, ok, err := Password(getenv, tc.flag)
		if string(pw) != tc.want || ok != tc.ok || (err != nil) != tc.wantErr {
			t.Errorf("%s: Password = %q, %v, %v; want %q, %v, error %v", tc.name, pw, ok, err, tc.want, tc.ok, tc.wantErr)
		}
	}
}
