package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/seedship/seedship/internal/secret"
)

// errNoPassword is the default hint when no password can be had.
var errNoPassword = errors.New("no repository password: set SEEDSHIP_PASSWORD or SEEDSHIP_PASSWORD_FILE, pass --password-file FILE, or run on a terminal to be asked")

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// password returns the repository password from the environment, the
// password file, or a terminal prompt (asked twice when confirm is set).
func password(e env, g *globals, prompt string, confirm bool) ([]byte, error) {
	if pw, ok, err := secret.Password(e.getenv, g.passwordFile); ok || err != nil {
		return pw, err
	}
	if !e.terminal {
		if g.noPassword != nil {
			return nil, g.noPassword
		}
		return nil, errNoPassword
	}
	return promptPassword(e, prompt, confirm)
}

func promptPassword(e env, prompt string, confirm bool) ([]byte, error) {
	read := func(p string) ([]byte, error) {
		fmt.Fprint(e.stderr, p)
		defer fmt.Fprintln(e.stderr)
		if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
			return term.ReadPassword(int(f.Fd()))
		}
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		return []byte(strings.TrimRight(line, "\r\n")), err
	}
	pw, err := read(prompt)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if len(pw) == 0 {
		return nil, errors.New("empty password")
	}
	if confirm {
		again, err := read("enter the password again: ")
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if string(again) != string(pw) {
			return nil, errors.New("the passwords do not match")
		}
	}
	return pw, nil
}
