#!/bin/sh
# bench/run.sh [full|normal] [samples] [lifecycles] [runners]
# Builds bench_runs against libmt, starts a private minitowerd on 127.0.0.1
# (database and objects in a temp dir on the disk of $TMPDIR), creates a
# team, an app with one version and the runners with curl, runs the
# benchmark, and stops the server. Not part of `make check`.
# BENCH_SERVER=<path> runs another minitowerd binary (for A/B comparisons);
# BENCH_PERF=<file> records a perf profile (BENCH_PERF_CG: perf call-graph
# option, default -g).
set -eu
sync=${1:-normal} samples=${2:-1000} lifecycles=${3:-10000} runners=${4:-8}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s bin/minitowerd build/plain/libmt.a >/dev/null
pk="libmicrohttpd sqlite3 jansson libcurl libarchive libsodium"
cc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/lib $(pkg-config --cflags $pk) -o build/plain/bench_runs \
	bench/bench_runs.c build/plain/libmt.a $(pkg-config --libs $pk) -lcrypt -lpthread -lm
pid= dir=
# Also on INT, TERM, HUP and PIPE (output piped into a pager that is gone).
trap 'set +e; trap "" INT TERM HUP PIPE; [ -z "$pid" ] || { kill $pid 2>/dev/null; wait $pid 2>/dev/null; }
[ -z "$dir" ] || rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP PIPE
dir=$(mktemp -d "${TMPDIR:-/tmp}/mt-bench.XXXXXX")
MINITOWER_LISTEN_ADDR=127.0.0.1:0 MINITOWER_DB_PATH=$dir/mt.db MINITOWER_OBJECTS_DIR=$dir/objects \
MINITOWER_RUNNER_REGISTRATION_TOKEN=bench-reg MINITOWER_ACCESS_LOG=false \
MINITOWER_DB_SYNCHRONOUS=$sync MINITOWER_SIGNUPS_PER_MINUTE=0 \
	"${BENCH_SERVER:-bin/minitowerd}" >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	port=$(sed -n 's/.*"minitower listening","addr":"[^"]*:\([0-9]*\)".*/\1/p' "$dir/server.log")
	[ -n "$port" ] && break
	sleep 0.1
done
url=http://127.0.0.1:$port
json() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
team=$(curl -s -XPOST "$url/api/v1/teams/signup" -d '{"slug":"bench","name":"Bench","password":"bench-pw"}' | json token)
curl -s -XPOST "$url/api/v1/apps" -H "Authorization: Bearer $team" -d '{"slug":"hello"}' >/dev/null
mkdir "$dir/art"
printf '[app]\nname = "hello"\nscript = "main.py"\n' >"$dir/art/Towerfile"
echo 'print("hello")' >"$dir/art/main.py"
tar -C "$dir/art" -czf "$dir/hello.tar.gz" Towerfile main.py
curl -s -XPOST "$url/api/v1/apps/hello/versions" -H "Authorization: Bearer $team" \
	-F "artifact=@$dir/hello.tar.gz" >/dev/null
toks=""
for i in $(seq "$runners"); do
	toks="$toks $(curl -s -XPOST "$url/api/v1/runners/register" -H 'Authorization: Bearer bench-reg' \
		-d "{\"name\":\"bench-$i\"}" | json token)"
done
echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); db on $(df -P "$dir" | awk 'NR==2{print $1}')"
echo "MINITOWER_DB_SYNCHRONOUS=$sync"
cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
before=$(cpu $pid)
if [ -n "${BENCH_PERF:-}" ]; then
	perf record ${BENCH_PERF_CG:--g} -F 2000 -p $pid -o "$BENCH_PERF" >/dev/null 2>&1 &
	perfpid=$!
fi
# shellcheck disable=SC2086
/usr/bin/time -f "bench client: %U s user, %S s system, %e s wall" \
	env BENCH_PID=$pid build/plain/bench_runs "$url" "$team" hello "$dir" "$sync" "$samples" "$lifecycles" $toks
echo "minitowerd: $(echo "$(cpu $pid) - $before" | bc) s CPU during the benchmark"
echo "minitowerd peak RSS: $(awk '/^VmHWM:/ {print $2}' /proc/$pid/status) kB"
if [ -n "${BENCH_PERF:-}" ]; then kill -INT $perfpid; wait $perfpid || true; fi
