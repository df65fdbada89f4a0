#!/bin/sh
# bench/runner_latency.sh [N] [POLL_MS]
# bench/runner_latency.sh sandbox [N] [ROUNDS]
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
#
# `sandbox` mode (issue 12, docs/performance.md "Sandbox cost"): the same
# against one server, but with the runner restarted for each variant of
# BENCH_VARIANTS (default "none bwrap none/nocg bwrap/nocg": MINITOWER_SANDBOX
# none or bwrap, MINITOWER_CGROUP auto or, with /nocg, off), N runs (default
# 100) of each app per variant and round, ROUNDS rounds (default 3) in
# alternating order (A B C D, then D C B A, ...) so drift hits every variant
# alike. It prints every round, then the medians of the rounds and the deltas
# (runner_latency.py summary), then the raw cost of one contained /bin/true
# (bench/sandbox_cost.c, BENCH_RAW_N iterations, default 200; BENCH_RAW_N=0
# skips it).
set -eu
mode=latency
if [ "${1:-}" = sandbox ]; then
	mode=sandbox
	shift
	n=${1:-100} rounds=${2:-3} poll=1
else
	n=${1:-200} poll=${2:-1}
fi
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s bin/minitowerd bin/minitower-runner bin/minitower-jobinit >/dev/null
py=/usr/bin/python3
[ -x $py ] || py=python3
pid= rpid= mounted= cpid= dir=
# stop PID SIGNAL: signals PID (twice for the runner: no drain wait), then
# waits up to 10 s before SIGKILL.
stop() {
	kill -s "$2" "$1" 2>/dev/null || return 0
	[ "$2" = INT ] && kill -s INT "$1" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -s KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
# Runs on every exit, also after INT, TERM, HUP and PIPE (the output went to
# a `| tail` or `| head` that is gone): without `set -e` and with the
# signals ignored, so a failing echo or a second signal cannot cut it short.
cleanup() {
	set +e
	trap '' INT TERM HUP PIPE
	[ -z "$cpid" ] || { kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null; }
	[ -z "$rpid" ] || stop "$rpid" INT
	for m in $mounted; do umount "$m" 2>/dev/null || true; done
	[ -z "$pid" ] || stop "$pid" TERM
	[ -n "$dir" ] || return 0
	# Never rm -rf through a bind mount of /etc.
	if grep -qF " $dir/" /proc/self/mountinfo; then
		echo "still mounted under $dir (not removed):" >&2; grep -F " $dir/" /proc/self/mountinfo >&2
	elif [ -n "${BENCH_KEEP:-}" ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
# fgwait CMD...: runs CMD in the background and waits for it, so that a
# signal runs the trap at once instead of after CMD (the shell defers traps
# while a foreground command runs); the trap then stops CMD too.
cpid=
fgwait() {
	"$@" &
	cpid=$!
	_rc=0
	wait "$cpid" || _rc=$?
	cpid=
	return $_rc
}
# The traps are set before the temp dir exists (cleanup copes with an empty
# $dir), so no window leaves it behind.
dir=$(mktemp -d "${TMPDIR:-/tmp}/mt-rbench.XXXXXX")
# Private copies: another build of bin/ during the benchmark cannot mix
# binaries between rounds (the runner finds jobinit next to itself).
mkdir "$dir/bin"
cp bin/minitowerd bin/minitower-runner bin/minitower-jobinit "$dir/bin/"
MINITOWER_LISTEN_ADDR=127.0.0.1:0 MINITOWER_DB_PATH=$dir/mt.db MINITOWER_OBJECTS_DIR=$dir/objects \
MINITOWER_RUNNER_REGISTRATION_TOKEN=bench-reg MINITOWER_ACCESS_LOG=false \
MINITOWER_DB_SYNCHRONOUS=${MINITOWER_DB_SYNCHRONOUS:-full} MINITOWER_SIGNUPS_PER_MINUTE=0 \
	"$dir/bin/minitowerd" >"$dir/server.log" 2>&1 &
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
# start_runner DATA_DIR LOG [VAR=VALUE...]: one runner, until it says "runner started".
start_runner() {
	_data=$1 _log=$2
	shift 2
	env -i PATH="$PATH" HOME="$dir" TMPDIR="$dir/work" MINITOWER_SERVER_URL="$url" \
		MINITOWER_RUNNER_NAME=bench MINITOWER_RUNNER_REGISTRATION_TOKEN=bench-reg \
		MINITOWER_DATA_DIR="$_data" MINITOWER_PYTHON_BIN=$py "$@" \
		"$dir/bin/minitower-runner" >"$_log" 2>&1 &
	rpid=$!
	for _ in $(seq 100); do
		grep -q '"runner started"' "$_log" 2>/dev/null && return 0
		kill -0 $rpid 2>/dev/null || break
		sleep 0.1
	done
	echo "runner did not start:"; cat "$_log"; exit 1
}
echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); $(uname -sr)"
pressure() { sed -n 's/^some avg10=\([0-9.]*\) avg60=\([0-9.]*\).*/CPU pressure (some) avg10 \1 % avg60 \2 %/p' /proc/pressure/cpu 2>/dev/null; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(pressure)"
warnings() {
	if grep -q '"level":"\(ERROR\|WARN\)"' "$@"; then
		echo "runner warnings/errors:"; grep -h '"level":"\(ERROR\|WARN\)"' "$@" | head -5
	fi
}
if [ $mode = latency ]; then
	start_runner "$dir/runner" "$dir/runner.log"
	echo "runner: one, MINITOWER_LEASE_WAIT=30s; MINITOWER_DB_SYNCHRONOUS=${MINITOWER_DB_SYNCHRONOUS:-full}; python $py; poll every $poll ms"
	fgwait $py bench/runner_latency.py "$url" "$team" "$dir/runner.log" "$n" 5 "$poll" ${BENCH_APPS:-hello-sh hello-py}
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(pressure)"
	warnings "$dir/runner.log"
	exit 0
fi

# sandbox mode
variants=${BENCH_VARIANTS:-none bwrap none/nocg bwrap/nocg}
echo "git: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ modified in the work tree)'); $(bwrap --version 2>/dev/null)"
echo "runner: one at a time, restarted per variant; MINITOWER_DB_SYNCHRONOUS=${MINITOWER_DB_SYNCHRONOUS:-full}; python $py; $n runs per app, variant and round; $rounds rounds; variants: $variants"
order=$variants rev=
for v in $variants; do rev="$v $rev"; done
r=1
while [ $r -le $rounds ]; do
	for v in $order; do
		sb=${v%%/*} cg=auto
		case $v in */nocg) cg=off ;; esac
		tag=$(echo "$v" | tr / -)
		log="$dir/runner-$tag-$r.log"
		start_runner "$dir/runner-$tag" "$log" MINITOWER_SANDBOX=$sb MINITOWER_CGROUP=$cg
		grep -q "\"sandbox\":\"$sb\"" "$log" || { echo "runner of $v did not pick sandbox=$sb:"; grep '"sandbox"' "$log"; exit 1; }
		BENCH_JSON="$dir/samples.jsonl" BENCH_LABEL=$v BENCH_ROUND=$r \
			$py bench/runner_latency.py "$url" "$team" "$log" "$n" 5 "$poll" ${BENCH_APPS:-hello-sh hello-py} |
			sed "s|^|round $r $v: |"
		stop "$rpid" INT
		rpid=
	done
	if [ "$order" = "$variants" ]; then order=$rev; else order=$variants; fi
	r=$((r + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(pressure)"
# (MINITOWER_CGROUP=off makes the /nocg runners warn that limits fall back to rlimits.)
if grep -h '"level":"\(ERROR\|WARN\)"' "$dir"/runner-*.log | grep -v '"no usable cgroup' >"$dir/warn"; then
	echo "runner warnings/errors:"; head -5 "$dir/warn"
fi
echo
$py bench/runner_latency.py summary "$dir/samples.jsonl"

raw=${BENCH_RAW_N:-200}
[ "$raw" -gt 0 ] || exit 0
# The raw cost of one contained /bin/true (bench/sandbox_cost.c), linked
# against the runner's own jail.o and cgroup.o.
make -s build/plain/libmt.a build/plain/src/runner/jail.o build/plain/src/runner/cgroup.o >/dev/null
pk="libmicrohttpd sqlite3 jansson libcurl libarchive libsodium"
cc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/lib -Isrc/runner -o "$dir/bin/sandbox_cost" \
	bench/sandbox_cost.c build/plain/src/runner/jail.o build/plain/src/runner/cgroup.o build/plain/libmt.a \
	$(pkg-config --libs $pk) -lcrypt -lpthread -lm
w=$dir/raw
mkdir -p "$w/ws" "$w/tmp" "$w/etc" "$w/etcm"
echo '{}' >"$w/input.json"
# The /etc entries jail.c binds (its etc_files list), read from the binary's
# own argv so the list cannot drift: copies in raw/etc, and in raw/etcm one
# read-only bind mount each (host mount namespace; unmounted at exit).
etc=$(BENCH_ARGV=1 "$dir/bin/sandbox_cost" 0 "$(command -v bwrap)" "$dir/bin/minitower-jobinit" "$w" bwrap |
	tr ' ' '\n' | sed -n 's|^/etc/||p' | sort -u)
for e in $etc; do
	[ -e "/etc/$e" ] || continue
	mkdir -p "$w/etc/$(dirname "$e")" "$w/etcm/$(dirname "$e")"
	cp -a "/etc/$e" "$w/etc/$e"
	if [ "$(id -u)" = 0 ] && [ -z "${BENCH_NO_ETCMNT:-}" ]; then
		if [ -d "/etc/$e" ]; then mkdir -p "$w/etcm/$e"; else : >"$w/etcm/$e"; fi
		mount --bind "/etc/$e" "$w/etcm/$e" && mounted="$w/etcm/$e $mounted" &&
			mount -o remount,bind,ro "$w/etcm/$e"
	fi
done
[ -n "$mounted" ] || rmdir "$w/etcm" 2>/dev/null || rm -rf "$w/etcm"
echo
echo "raw cost of one contained /bin/true ($raw iterations, variants interleaved; bench/sandbox_cost.c):"
"$dir/bin/sandbox_cost" "$raw" "$(command -v bwrap)" "$dir/bin/minitower-jobinit" "$w"
for m in $mounted; do umount "$m" 2>/dev/null || true; done
mounted=
