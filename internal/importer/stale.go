package importer

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// staleClaim reports whether a claim ("host:pid", as DefaultStation makes
// it) names a process of this host that no longer runs: its import was
// killed and may be taken over without asking. A claim of another host,
// or one in another form, is never judged stale.
func staleClaim(claim string) bool {
	host, pidText, ok := cutLast(claim, ":")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	me, err := os.Hostname()
	if err != nil || me != host {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
