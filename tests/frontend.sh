#!/bin/sh
# The web UI's test suite, run from the repository root by tests/run-all.sh:
# installs the npm packages when frontend/node_modules is missing (npm ci),
# validates docs/openapi.yaml (npm run lint:api), type-checks and builds the
# UI (vue-tsc, vite), runs the vitest suites and the browser tests against a
# real minitowerd. Prints TAP (one numbering for all parts) and exits non-zero
# on any failure.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
fe=$top/frontend
logs=${MT_BUILD:-$top/build/plain}/test-logs/frontend
mkdir -p "$logs"
n=0
failed=0

# part NAME CMD...: runs CMD in frontend/, renumbers its TAP lines; a CMD that
# prints no TAP reports one line for itself; a non-zero exit is a failure.
part() {
	name=$1
	shift
	log=$logs/$(echo "$name" | tr ' /:' '___').log
	(cd "$fe" && "$@") >"$log" 2>&1
	rc=$?
	out=$(awk -v n="$n" -v pfx="$name" '
		/^(not )?ok( |$)/ {
			bad = ($1 == "not")
			sub(/^(not )?ok *[0-9]* *-? */, "")
			sub(/ # time=[0-9.]+ms$/, "")
			n++
			printf "%s %d - %s: %s\n", bad ? "not ok" : "ok", n, pfx, $0
			next
		}
		/^#/ { print; next }
		END { }' "$log")
	count=$(printf '%s\n' "$out" | grep -cE '^(not )?ok ')
	bad=$(printf '%s\n' "$out" | grep -cE '^not ok ')
	if [ "$count" -gt 0 ]; then
		printf '%s\n' "$out"
		n=$((n + count))
	fi
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		n=$((n + 1))
		echo "not ok $n - $name (exit status $rc)"
		tail -40 "$log" | sed 's/^/# /'
		bad=1
	elif [ "$count" -eq 0 ]; then
		n=$((n + 1))
		echo "ok $n - $name"
	elif [ "$bad" -gt 0 ]; then
		grep -vE '^(not )?ok ' "$log" | tail -60 | sed 's/^/# /'
	fi
	[ "$bad" -eq 0 ] || failed=1
}

if ! command -v npm >/dev/null 2>&1; then
	echo "not ok 1 - frontend: npm not found (run scripts/install-deps)"
	exit 1
fi
if [ ! -d "$fe/node_modules" ]; then
	part "npm ci" npm ci --no-audit --no-fund
fi
part "openapi" npm run -s lint:api
part "api types" npm run -s check:api-types
part "type check (vue-tsc)" npx --no-install vue-tsc -b
part "vite build" npx --no-install vite build
part "precompressed assets" /usr/bin/python3 "$top/tests/api/test_ui_static.py" --dist
part "vitest" npx --no-install vitest --run --reporter=tap-flat
part "browser" node e2e/run.mjs

echo "1..$n"
exit "$failed"
