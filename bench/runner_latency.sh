#!/bin/sh
# bench/runner_latency.sh [N] [POLL_MS]
# Latency of one real minitower-runner (issue 4): builds, starts a private
# minitowerd on 127.0.0.1:0 (database, objects, runner data and workspaces in
# a temp dir under $TMPDIR) and one runner with /usr/bin/python3, deploys a
# shell and a Python hello-world app, warms the venv cache, then creates N
# sequential runs of each (default 200) and prints p50/p99 of end-to-end and
# dispatch latency (bench/runner_latency.py). Not part of `make check`.
# MINITOWER_DB_SYNCHRONOUS defaults to full (minitowerd's default).
# BENCH_APPS="hello-py" measures only that app; BENCH_TRACE=1 prints every
# run's end-to-end ms (to spot disturbances by other jobs); BENCH_KEEP=1
# keeps the temp dir (server.log, runner.log) for inspection.
set -eu
n=${1:-200} poll=${2:-1}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s bin/minitowerd bin/minitower-runner >/dev/null
py=/usr/bin/python3
[ -x $py ] || py=python3
dir=$(mktemp -d "${TMPDIR:-/tmp}/mt-rbench.XXXXXX")
pid= rpid=
# stop PID SIGNAL: signals PID (twice for the runner: no drain wait), then
# waits up to 10 s before SIGKILL.
stop() {
	kill -s "$2" "$1" 2>/dev/null || return 0
	[ "$2" = INT ] && kill -s INT "$1" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -s KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
}
cleanup() {
	[ -z "$rpid" ] || stop "$rpid" INT
	[ -z "$pid" ] || stop "$pid" TERM
	if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
MINITOWER_LISTEN_ADDR=127.0.0.1:0 MINITOWER_DB_PATH=$dir/mt.db MINITOWER_OBJECTS_DIR=$dir/objects \
MINITOWER_RUNNER_REGISTRATION_TOKEN=bench-reg MINITOWER_ACCESS_LOG=false \
MINITOWER_DB_SYNCHRONOUS=${MINITOWER_DB_SYNCHRONOUS:-full} MINITOWER_SIGNUPS_PER_MINUTE=0 \
	bin/minitowerd >"$dir/server.log" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*"minitower listening","addr":"[^"]*:\([0-9]*\)".*/\1/p' "$dir/server.log" 2>/dev/null || true)
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "minitowerd did not start"; cat "$dir/server.log"; exit 1; }
url=http://127.0.0.1:$port
json() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
team=$(curl -s -XPOST "$url/api/v1/teams/signup" -d '{"slug":"bench","name":"Bench","password":"bench-pw"}' | json token)
# deploy APP SCRIPT CONTENT
deploy() {
	curl -s -XPOST "$url/api/v1/apps" -H "Authorization: Bearer $team" -d "{\"slug\":\"$1\"}" >/dev/null
	mkdir "$dir/$1"
	printf '[app]\nname = "%s"\nscript = "%s"\n' "$1" "$2" >"$dir/$1/Towerfile"
	printf '%s\n' "$3" >"$dir/$1/$2"
	tar -C "$dir/$1" -czf "$dir/$1.tar.gz" Towerfile "$2"
	curl -s -XPOST "$url/api/v1/apps/$1/versions" -H "Authorization: Bearer $team" \
		-F "artifact=@$dir/$1.tar.gz" >/dev/null
}
deploy hello-sh job.sh 'echo "Hello, MiniTower!"'
deploy hello-py main.py 'print("Hello, MiniTower!")'
mkdir "$dir/work"
env -i PATH="$PATH" HOME="$dir" TMPDIR="$dir/work" MINITOWER_SERVER_URL="$url" \
	MINITOWER_RUNNER_NAME=bench MINITOWER_RUNNER_REGISTRATION_TOKEN=bench-reg \
	MINITOWER_DATA_DIR="$dir/runner" MINITOWER_PYTHON_BIN=$py \
	bin/minitower-runner >"$dir/runner.log" 2>&1 &
rpid=$!
for _ in $(seq 100); do
	grep -q '"runner started"' "$dir/runner.log" 2>/dev/null && break
	sleep 0.1
done
echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); $(uname -sr)"
pressure() { sed -n 's/^some avg10=\([0-9.]*\) avg60=\([0-9.]*\).*/CPU pressure (some) avg10 \1 % avg60 \2 %/p' /proc/pressure/cpu 2>/dev/null; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(pressure)"
echo "runner: one, MINITOWER_LEASE_WAIT=30s; MINITOWER_DB_SYNCHRONOUS=${MINITOWER_DB_SYNCHRONOUS:-full}; python $py; poll every $poll ms"
$py bench/runner_latency.py "$url" "$team" "$dir/runner.log" "$n" 5 "$poll" ${BENCH_APPS:-hello-sh hello-py}
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(pressure)"
if grep -q '"level":"\(ERROR\|WARN\)"' "$dir/runner.log"; then
	echo "runner warnings/errors:"; grep '"level":"\(ERROR\|WARN\)"' "$dir/runner.log" | head -5
fi
