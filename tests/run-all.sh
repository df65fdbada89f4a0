#!/bin/sh
# Runs every test suite and ends with one line: "N passed, M failed[, K skipped]".
# Each suite program speaks TAP ("ok ..." / "not ok ..." / "# SKIP"); a program
# that exits non-zero without reporting a failure counts as one failure.
# Usage: tests/run-all.sh [suite...]   suites: unit fuzz conformance api e2e frontend
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
: "${MT_BIN:=$top/bin}" "${MT_BUILD:=$top/build/plain}" "${MT_SAN:=}"
export MT_BIN MT_BUILD MT_SAN
logdir=$MT_BUILD/test-logs
mkdir -p "$logdir"
suites=${*:-unit fuzz conformance api e2e frontend}
pass=0 fail=0 skip=0

# run NAME TIMEOUT CMD...: runs one test program, tallies its TAP output.
run() {
	name=$1 limit=$2; shift 2
	log=$logdir/$(echo "$name" | tr '/ ' '__').log
	start=$(date +%s)
	timeout -k 10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	set -- $(awk '
		/^not ok/ { f++; next }
		/^ok/ { if ($0 ~ /# [Ss][Kk][Ii][Pp]/) s++; else p++; next }
		END { printf "%d %d %d\n", p, f, s }' "$log")
	p=$1 f=$2 s=$3
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	printf '%-40s %4d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $(($(date +%s) - start))
	if [ "$f" -ne 0 ]; then
		grep -E '^not ok' "$log" | head -20 | sed 's/^/    /'
		echo "    (full log: $log)"
		tail -30 "$log" | sed 's/^/    | /'
	fi
}

for suite in $suites; do
	case $suite in
	unit)
		for t in "$MT_BUILD"/tests/test_*; do
			[ -x "$t" ] || continue
			CMOCKA_MESSAGE_OUTPUT=TAP run "unit/$(basename "$t")" 600 "$t"
		done ;;
	fuzz)	# each libFuzzer target for 10 s (docs/fuzzing.md); clang ASan builds
		if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
			run "fuzz" 10 echo "ok - fuzz # SKIP clang missing"
			continue
		fi
		for t in tests/fuzz/fuzz_*.c; do
			run "fuzz/$(basename "$t" .c)" 120 sh tests/fuzz/run.sh -t 10 "$(basename "$t" .c)"
			sed -n 's/^ok [0-9]* - /    /p' "$log"	# the execs, for docs/fuzzing.md
		done ;;
	conformance)
		for t in "$MT_BUILD"/tools/conformance_*; do
			[ -x "$t" ] || continue
			run "conformance/$(basename "$t")" 600 "$t"
		done ;;
	api)
		for t in tests/api/test_*.py; do
			[ -f "$t" ] || continue
			run "api/$(basename "$t" .py)" 900 /usr/bin/python3 "$t"
		done ;;
	e2e)
		for t in tests/e2e/*.sh; do
			[ -f "$t" ] || continue
			run "e2e/$(basename "$t" .sh)" 900 sh "$t"
		done ;;
	frontend)
		if [ -f frontend/package.json ] && [ -z "$MT_SAN" ] || [ "$MT_SAN" = address ]; then
			[ -f frontend/package.json ] && run "frontend/checks" 1500 sh tests/frontend.sh
		fi ;;
	*) echo "unknown suite: $suite"; fail=$((fail + 1)) ;;
	esac
done

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
