#!/usr/bin/env bash
# services.sh — start and stop the real servers that seedship's tests run against.
#
#   eval "$(scripts/services.sh up)"   install what is missing, start every service
#                                      on 127.0.0.1 with ports chosen now, print
#                                      `export ...` lines for the tests
#   scripts/services.sh down           stop exactly the processes `up` started and
#                                      remove their temporary data
#   scripts/services.sh env            print the export lines of the running services
#
# Progress goes to stderr; only the export lines go to stdout. Tools are installed
# under .tools/ of the project, the state of a running set under .tools/services.state.
#
# Adding a service NAME: write install_NAME (idempotent), start_NAME (starts the
# process in the background with `launch`, waits with `wait_ready`, then calls
# `export_var` for each setting the tests need) and add NAME to SERVICES.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/.tools
STATE=$TOOLS/services.state
LOGS=$TOOLS/logs
SERVICES=(azurite versitygw)

AZURITE_VERSION=3.37.0
VERSITYGW_VERSION=v1.8.0
READY_TIMEOUT=${SEEDSHIP_SERVICES_TIMEOUT:-60}

log() { echo "services: $*" >&2; }

die() {
	log "error: $*"
	exit 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# state_add KEY VALUE... appends one line to the state file.
state_add() { echo "$*" >>"$STATE"; }

# export_var NAME VALUE records an export line for the tests.
export_var() { state_add export "$1=$(printf '%q' "$2")"; }

# launch NAME LOGFILE CMD... starts CMD in the background and records its PID.
launch() {
	local name=$1 logfile=$2
	shift 2
	"$@" </dev/null >"$logfile" 2>&1 &
	local pid=$!
	state_add pid "$name" "$pid"
	LAST_PID=$pid
}

# fail_service NAME LOGFILE REASON shows the log tail and gives up.
fail_service() {
	log "$1 failed: $3"
	if [[ -f $2 ]]; then
		log "last lines of $2:"
		tail -n 20 "$2" >&2 || true
	fi
	stop_all
	exit 1
}

# wait_ready NAME PID LOGFILE URL waits until URL answers any HTTP status.
wait_ready() {
	local name=$1 pid=$2 logfile=$3 url=$4 deadline=$((SECONDS + READY_TIMEOUT))
	while ((SECONDS < deadline)); do
		kill -0 "$pid" 2>/dev/null || fail_service "$name" "$logfile" "process $pid exited while starting"
		if curl -s -o /dev/null --max-time 2 "$url"; then
			log "$name ready at $url (pid $pid)"
			return 0
		fi
		sleep 0.2
	done
	fail_service "$name" "$logfile" "no answer from $url within ${READY_TIMEOUT}s"
}

# ---- azurite: Azure Blob storage emulator -------------------------------------

AZURITE_DIR=$TOOLS/azurite
AZURITE_BIN=$AZURITE_DIR/node_modules/.bin/azurite-blob

install_azurite() {
	if [[ -x $AZURITE_BIN ]] && grep -q "\"version\": \"$AZURITE_VERSION\"" "$AZURITE_DIR/node_modules/azurite/package.json" 2>/dev/null; then
		return 0
	fi
	command -v npm >/dev/null || die "azurite: npm is not installed (install Node.js 20 and npm)"
	log "installing azurite $AZURITE_VERSION into $AZURITE_DIR (about 20 s)"
	mkdir -p "$AZURITE_DIR" "$LOGS"
	if ! npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >"$LOGS/azurite-install.log" 2>&1; then
		log "last lines of $LOGS/azurite-install.log:"
		tail -n 20 "$LOGS/azurite-install.log" >&2 || true
		die "azurite: npm install azurite@$AZURITE_VERSION failed"
	fi
	[[ -x $AZURITE_BIN ]] || die "azurite: $AZURITE_BIN missing after npm install"
}

start_azurite() {
	local port data logfile=$LOGS/azurite.log
	port=$(free_port)
	data=$DATA/azurite
	mkdir -p "$data"
	# --skipApiVersionCheck: the azblob SDK speaks a newer API version than Azurite 3.37 knows.
	launch azurite "$logfile" "$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$port" \
		--location "$data" --disableTelemetry --silent --skipApiVersionCheck
	wait_ready azurite "$LAST_PID" "$logfile" "http://127.0.0.1:$port/devstoreaccount1?comp=list"
	# The well-known development account key of Azurite (public, not a secret).
	local key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
	export_var AZURE_STORAGE_CONNECTION_STRING \
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
}

# ---- versitygw: S3 gateway over a POSIX directory -----------------------------

VERSITYGW_BIN=$TOOLS/bin/versitygw

install_versitygw() {
	if [[ -x $VERSITYGW_BIN ]] && [[ -f $TOOLS/bin/versitygw.version ]] &&
		[[ $(cat "$TOOLS/bin/versitygw.version") == "$VERSITYGW_VERSION" ]]; then
		return 0
	fi
	command -v go >/dev/null || die "versitygw: go is not installed"
	log "installing versitygw $VERSITYGW_VERSION into $TOOLS/bin (about 2 min cold)"
	mkdir -p "$TOOLS/bin" "$LOGS"
	if ! (cd "$TOOLS" && GOBIN=$TOOLS/bin GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >"$LOGS/versitygw-install.log" 2>&1; then
		log "last lines of $LOGS/versitygw-install.log:"
		tail -n 20 "$LOGS/versitygw-install.log" >&2 || true
		die "versitygw: go install versitygw@$VERSITYGW_VERSION failed"
	fi
	echo "$VERSITYGW_VERSION" >"$TOOLS/bin/versitygw.version"
}

start_versitygw() {
	local port data logfile=$LOGS/versitygw.log access secret
	port=$(free_port)
	data=$DATA/versitygw
	mkdir -p "$data"
	access=seedship$(random_hex 6)
	secret=$(random_hex 20)
	launch versitygw "$logfile" env ROOT_ACCESS_KEY="$access" ROOT_SECRET_KEY="$secret" \
		"$VERSITYGW_BIN" --port "127.0.0.1:$port" posix "$data"
	wait_ready versitygw "$LAST_PID" "$logfile" "http://127.0.0.1:$port/"
	export_var AWS_ACCESS_KEY_ID "$access"
	export_var AWS_SECRET_ACCESS_KEY "$secret"
	export_var AWS_REGION us-east-1
	export_var SEEDSHIP_TEST_S3_ENDPOINT "http://127.0.0.1:$port"
}

# ---- up / down ----------------------------------------------------------------

print_env() {
	[[ -f $STATE ]] || die "no services running (run: eval \"\$(scripts/services.sh up)\")"
	awk '$1 == "export" { sub(/^export /, ""); print "export " $0 }' "$STATE"
}

running() {
	[[ -f $STATE ]] || return 1
	local pid
	for pid in $(awk '$1 == "pid" { print $3 }' "$STATE"); do
		kill -0 "$pid" 2>/dev/null || return 1
	done
}

# stop_all stops the PIDs in the state file, newest first, and removes the data.
stop_all() {
	[[ -f $STATE ]] || return 0
	local name pid i
	mapfile -t lines < <(awk '$1 == "pid" { print $2, $3 }' "$STATE")
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		read -r name pid <<<"${lines[i]}"
		kill -0 "$pid" 2>/dev/null || continue
		log "stopping $name (pid $pid)"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	done
	local data
	data=$(awk '$1 == "data" { print $2 }' "$STATE")
	if [[ -n $data && -d $data && $data == */seedship-services.* ]]; then
		rm -rf "$data"
	fi
	rm -f "$STATE"
}

up() {
	mkdir -p "$TOOLS" "$LOGS"
	if running; then
		log "services already running (scripts/services.sh down to stop them)"
		print_env
		return 0
	fi
	stop_all # leftovers of a set that died
	local s
	for s in "${SERVICES[@]}"; do "install_$s"; done
	DATA=$(mktemp -d "${TMPDIR:-/tmp}/seedship-services.XXXXXX")
	state_add data "$DATA"
	for s in "${SERVICES[@]}"; do "start_$s"; done
	print_env
}

case ${1:-} in
up) up ;;
down) stop_all ;;
env) print_env ;;
*)
	echo "usage: $0 up|down|env" >&2
	exit 2
	;;
esac
