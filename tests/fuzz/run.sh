#!/bin/sh
# Runs libFuzzer targets for a bounded time each and prints one TAP line per
# target: "ok N - fuzz_x: M execs in Ts (E/s, ...)" or "not ok N - ...".
# New inputs go to a scratch directory, never into the committed corpus;
# crash reproducers go to $MT_FUZZ/artifacts/. docs/fuzzing.md explains.
# Usage: tests/fuzz/run.sh [-t seconds] [-s scratch-root] target...
#   -t  time per target (default 10)
#   -s  keep new inputs in scratch-root/<target> (default: a temporary dir)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${MT_FUZZ:=$top/build/fuzz}"
secs=10 keep=
while getopts t:s: o; do
	case $o in
	t) secs=$OPTARG ;;
	s) keep=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

# max_len: the input size a target needs (a tar holds 512-byte blocks;
# fuzz_linesplit repeats its input to reach the 8192-byte cut); 4096 else.
max_len() {
	case $1 in
	fuzz_archive) echo 32768 ;;
	fuzz_multipart) echo 16384 ;;
	*) echo 4096 ;;
	esac
}

# Seed directories besides tests/fuzz/corpus/<target>.
extra_seeds() {
	case $1 in
	fuzz_toml|fuzz_towerfile) echo tests/data/toml/valid tests/data/toml/invalid ;;
	esac
}

stat_of() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -1
}

n=0 rc=0
mkdir -p "$MT_FUZZ/artifacts"
for t in "$@"; do
	n=$((n + 1))
	bin=$MT_FUZZ/$t
	if [ ! -x "$bin" ]; then
		echo "not ok $n - $t: $bin not built (make fuzz-build)"
		rc=1
		continue
	fi
	if [ -n "$keep" ]; then
		scratch=$keep/$t
		mkdir -p "$scratch"
	else
		scratch=$(mktemp -d "${TMPDIR:-/tmp}/mt-fuzz.XXXXXX")
	fi
	log=$MT_FUZZ/$t.log
	dict=
	[ -f "tests/fuzz/dict/$t.dict" ] && dict=-dict=tests/fuzz/dict/$t.dict
	start=$(date +%s)
	# shellcheck disable=SC2046
	"$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
	    -print_final_stats=1 -artifact_prefix="$MT_FUZZ/artifacts/$t-" $dict \
	    "$scratch" "tests/fuzz/corpus/$t" $(extra_seeds "$t") >"$log" 2>&1
	status=$?
	took=$(($(date +%s) - start))
	execs=$(stat_of number_of_executed_units "$log")
	speed=$(stat_of average_exec_per_sec "$log")
	rss=$(stat_of peak_rss_mb "$log")
	found=$(find "$scratch" -type f | wc -l)
	[ -n "$keep" ] || rm -rf "$scratch"
	if [ "$status" -ne 0 ] || [ -z "$execs" ]; then
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		echo "not ok $n - $t: exit status $status after ${took}s; reproducer: ${art:-none} (log $log)"
		grep -E 'ERROR|SUMMARY|property failed|does not|runtime error|#[0-9]+ 0x' "$log" |
		    head -15 | sed 's/^/# /'
		rc=1
		continue
	fi
	echo "ok $n - $t: $execs execs in ${took}s ($speed/s, $found new inputs, peak ${rss} MB)"
done
exit $rc
