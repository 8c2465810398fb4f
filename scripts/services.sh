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
# `up` on a running set starts only the services the set lacks (a service added to
# SERVICES since the set started) and leaves the others alone; `up` and `down`
# take a lock, so two of them never interleave.
#
# Environment:
#   SEEDSHIP_SERVICES_STATE    state file of a private set (its logs go beside it),
#                              e.g. to run a second set while another is in use
#   SEEDSHIP_SERVICES          the services to start, default all: "azurite versitygw postgres"
#   SEEDSHIP_SERVICES_TIMEOUT  seconds a service may take to become ready (60)
#
# Adding a service NAME: write install_NAME (idempotent), start_NAME (starts the
# process in the background with `launch`, waits with `wait_ready` or `wait_until`,
# then calls `export_var` for each setting the tests need) and add NAME to SERVICES.
# `down` stops a service with SIGTERM unless STOP_SIGNAL names another signal.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/.tools
STATE=${SEEDSHIP_SERVICES_STATE:-$TOOLS/services.state}
LOGS=$(dirname "$STATE")/logs
read -r -a SERVICES <<<"${SEEDSHIP_SERVICES:-azurite versitygw postgres}"
# SIGINT is PostgreSQL's fast shutdown; its SIGTERM waits for clients to leave.
declare -A STOP_SIGNAL=([postgres]=INT)

AZURITE_VERSION=3.37.0
VERSITYGW_VERSION=v1.8.0
POSTGRES_VERSION=15
READY_TIMEOUT=${SEEDSHIP_SERVICES_TIMEOUT:-60}
STATE_MARK=0 # lines the state had before this run of `up` added to it

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
	# 9>&-: the service must not inherit (and hold) the lock of up/down.
	"$@" </dev/null >"$logfile" 2>&1 9>&- &
	local pid=$!
	state_add pid "$name" "$pid"
	LAST_PID=$pid
}

# fail_service NAME LOGFILE REASON shows the log tail, stops what this run
# started, and gives up.
fail_service() {
	log "$1 failed: $3"
	if [[ -f $2 ]]; then
		log "last lines of $2:"
		tail -n 20 "$2" >&2 || true
	fi
	rollback
	exit 1
}

# wait_until NAME PID LOGFILE WHERE CMD... waits until CMD succeeds.
wait_until() {
	local name=$1 pid=$2 logfile=$3 where=$4 deadline=$((SECONDS + READY_TIMEOUT))
	shift 4
	while ((SECONDS < deadline)); do
		kill -0 "$pid" 2>/dev/null || fail_service "$name" "$logfile" "process $pid exited while starting"
		if "$@"; then
			log "$name ready at $where (pid $pid)"
			return 0
		fi
		sleep 0.2
	done
	fail_service "$name" "$logfile" "no answer from $where within ${READY_TIMEOUT}s"
}

# wait_ready NAME PID LOGFILE URL waits until URL answers any HTTP status.
wait_ready() {
	wait_until "$1" "$2" "$3" "$4" curl -s -o /dev/null --max-time 2 "$4"
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

# ---- postgres: PostgreSQL server for the service's metadata database -----------

PG_BIN=/usr/lib/postgresql/$POSTGRES_VERSION/bin

install_postgres() {
	if [[ -x $PG_BIN/initdb && -x $PG_BIN/postgres && -x $PG_BIN/pg_isready ]]; then
		return 0
	fi
	local pkg=postgresql-$POSTGRES_VERSION logfile=$LOGS/postgres-install.log
	[[ $(id -u) == 0 ]] || die "postgres: $PG_BIN/initdb is missing; install it as root: apt-get install -y $pkg"
	command -v apt-get >/dev/null || die "postgres: $PG_BIN/initdb is missing and there is no apt-get: install PostgreSQL $POSTGRES_VERSION there"
	log "installing $pkg with apt-get (about 30 s)"
	mkdir -p "$LOGS"
	# The package's scripts would start a cluster on port 5432 that nothing
	# here stops: a policy-rc.d that denies every start prevents it.
	local policy=/usr/sbin/policy-rc.d added_policy=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
	fi
	local ok=1
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" ||
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg"; }; } >"$logfile" 2>&1 || ok=
	[[ -z $added_policy ]] || rm -f "$policy"
	if [[ -z $ok ]]; then
		log "last lines of $logfile:"
		tail -n 20 "$logfile" >&2 || true
		die "postgres: apt-get install $pkg failed"
	fi
	[[ -x $PG_BIN/initdb ]] || die "postgres: $PG_BIN/initdb missing after installing $pkg"
}

start_postgres() {
	local port data=$DATA/postgres logfile=$LOGS/postgres.log
	local -a as_owner=()
	port=$(free_port)
	rm -rf "$data" # the remains of a failed start
	mkdir -p "$data"
	# initdb and postgres refuse to run as root: run them as user postgres,
	# which must reach its folder inside $DATA.
	if [[ $(id -u) == 0 ]]; then
		id postgres >/dev/null 2>&1 || fail_service postgres "$logfile" "there is no user postgres (reinstall postgresql-$POSTGRES_VERSION)"
		chmod 711 "$DATA"
		chown postgres:postgres "$data"
		# setpriv execs postgres, so the recorded PID is the server's.
		as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	fi
	chmod 700 "$data"
	if ! (cd "$data" && "${as_owner[@]}" "$PG_BIN/initdb" -D "$data" --auth=trust --no-sync -U postgres) >"$LOGS/postgres-initdb.log" 2>&1; then
		fail_service postgres "$LOGS/postgres-initdb.log" "initdb failed"
	fi
	# Test data only: durability is traded for speed.
	launch postgres "$logfile" "${as_owner[@]}" "$PG_BIN/postgres" -D "$data" -p "$port" -k "$data" \
		-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off
	wait_until postgres "$LAST_PID" "$logfile" "127.0.0.1:$port" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres
	export_var SEEDSHIP_TEST_POSTGRES_DSN "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
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

# stop_pids FIRST stops the PIDs recorded from line FIRST of the state file on,
# newest first.
stop_pids() {
	local name pid i
	mapfile -t lines < <(awk -v first="$1" 'NR >= first && $1 == "pid" { print $2, $3 }' "$STATE")
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		read -r name pid <<<"${lines[i]}"
		kill -0 "$pid" 2>/dev/null || continue
		log "stopping $name (pid $pid)"
		kill -s "${STOP_SIGNAL[$name]:-TERM}" "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
	done
}

# stop_all stops the PIDs in the state file, newest first, and removes the data.
stop_all() {
	[[ -f $STATE ]] || return 0
	stop_pids 1
	local data
	data=$(awk '$1 == "data" { print $2 }' "$STATE")
	if [[ -n $data && -d $data && $data == */seedship-services.* ]]; then
		rm -rf "$data"
	fi
	rm -f "$STATE"
}

# rollback stops what this run of `up` started: everything when it started a
# new set, else only the services it added (their lines are dropped again).
rollback() {
	if ((STATE_MARK == 0)); then
		stop_all
		return
	fi
	stop_pids $((STATE_MARK + 1))
	local kept
	kept=$(head -n "$STATE_MARK" "$STATE")
	printf '%s\n' "$kept" >"$STATE"
}

# missing_services prints the services of SERVICES that the state lacks.
missing_services() {
	local s
	for s in "${SERVICES[@]}"; do
		awk -v s="$s" '$1 == "pid" && $2 == s { found = 1 } END { exit !found }' "$STATE" || echo "$s"
	done
}

up() {
	local s todo
	for s in "${SERVICES[@]}"; do
		declare -F "start_$s" >/dev/null || die "unknown service $s (known: azurite versitygw postgres)"
	done
	STATE_MARK=0
	if running; then
		mapfile -t todo < <(missing_services)
		if ((${#todo[@]} == 0)); then
			log "services already running (scripts/services.sh down to stop them)"
			print_env
			return 0
		fi
		log "services running; adding ${todo[*]}"
		DATA=$(awk '$1 == "data" { print $2 }' "$STATE")
		STATE_MARK=$(wc -l <"$STATE")
	else
		stop_all # leftovers of a set that died
		todo=("${SERVICES[@]}")
	fi
	for s in "${todo[@]}"; do "install_$s"; done
	if ((STATE_MARK == 0)); then
		DATA=$(mktemp -d "${TMPDIR:-/tmp}/seedship-services.XXXXXX")
		state_add data "$DATA"
	fi
	for s in "${todo[@]}"; do "start_$s"; done
	print_env
}

# locked CMD... runs CMD holding the lock of the state file.
locked() {
	mkdir -p "$(dirname "$STATE")" "$LOGS"
	exec 9>>"$STATE.lock"
	flock 9
	"$@"
}

case ${1:-} in
up) locked up ;;
down) locked stop_all ;;
env) print_env ;;
*)
	echo "usage: $0 up|down|env" >&2
	exit 2
	;;
esac
