#!/usr/bin/env bash
# The whole seedship test suite, as CI runs it: installs and starts the real
# services the tests need (scripts/services.sh), checks formatting and vet,
# runs every test with the race detector, and stops the services again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! exports=$(scripts/services.sh up); then
	echo "test.sh: the test services could not be started (see the messages above); no test was run" >&2
	exit 1
fi
trap 'scripts/services.sh down >&2' EXIT
eval "$exports"

unformatted=$(gofmt -l $(git ls-files '*.go') 2>&1 || true)
if [ -n "$unformatted" ]; then
	printf 'test.sh: files not gofmt-formatted:\n%s\n' "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -race -count=1 -timeout 20m ./...
