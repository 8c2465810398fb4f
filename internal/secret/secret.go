// Package secret reads the repository password the commands are given
// without a prompt: in a file named by a flag or by SEEDSHIP_PASSWORD_FILE,
// or in SEEDSHIP_PASSWORD.
package secret

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// The environment variables a password is read from.
const (
	EnvPasswordFile = "SEEDSHIP_PASSWORD_FILE"
	EnvPassword     = "SEEDSHIP_PASSWORD"
)

// ErrEmpty: a password file holds no password.
var ErrEmpty = errors.New("is empty")

// ReadPasswordFile returns the password in the file at path: its content
// without trailing CR and LF characters. An empty password is an error.
// The password shares its memory with nothing else, so the caller may
// clear it.
func ReadPasswordFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read password file: %w", err)
	}
	pw := bytes.TrimRight(b, "\r\n")
	if len(pw) == 0 {
		return nil, fmt.Errorf("password file %s %w", path, ErrEmpty)
	}
	return pw, nil
}

// Password returns the password in file, or when file is "" in the file
// named by SEEDSHIP_PASSWORD_FILE, or else SEEDSHIP_PASSWORD, looked up
// with getenv. ok is false, without error, when none is set.
func Password(getenv func(string) string, file string) (pw []byte, ok bool, err error) {
	if file == "" {
		file = getenv(EnvPasswordFile)
	}
	if file != "" {
		pw, err := ReadPasswordFile(file)
		return pw, err == nil, err
	}
	if pw := getenv(EnvPassword); pw != "" {
		return []byte(pw), true, nil
	}
	return nil, false, nil
}
