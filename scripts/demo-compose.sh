#!/bin/sh
# Brings a MiniTower server to life for a demo (by default the one that
# docker-compose.yml starts): bootstraps a team with the bootstrap token,
# deploys the demo app in deploy/demo/hello and creates runs, so the web UI
# and the Grafana dashboard have something to show. Needs curl and tar.
#
# usage: scripts/demo-compose.sh [--loop] [--runs N] [--interval SECONDS]
#   default   create 10 runs and exit
#   --loop    keep creating runs (one every --interval seconds, default 3)
#             until interrupted, or until N runs with --runs; every 10th run
#             is cancelled right away
# environment: MINITOWER_URL (http://localhost:8080), MINITOWER_BOOTSTRAP_TOKEN
#   (demo-bootstrap-token, as in docker-compose.yml), DEMO_TEAM (demo),
#   DEMO_PASSWORD (demo-password), DEMO_APP (hello)
set -eu

url=${MINITOWER_URL:-http://localhost:8080}
url=${url%/}
bootstrap=${MINITOWER_BOOTSTRAP_TOKEN:-demo-bootstrap-token}
team=${DEMO_TEAM:-demo}
password=${DEMO_PASSWORD:-demo-password}
app=${DEMO_APP:-hello}
loop=false runs='' interval=3
top=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--loop) loop=true ;;
	--runs) [ $# -ge 2 ] || usage; runs=$2; shift ;;
	--interval) [ $# -ge 2 ] || usage; interval=$2; shift ;;
	-h|--help) usage ;;
	*) echo "unknown argument: $1" >&2; usage ;;
	esac
	shift
done
case ${runs:-10} in ''|*[!0-9]*) echo "--runs needs a number" >&2; exit 2 ;; esac
[ -n "$runs" ] || { $loop || runs=10; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# api METHOD PATH [curl args...]: prints the status code; the body is in
# $tmp/body. Uses $token when set.
api() {
	m=$1 p=$2
	shift 2
	set -- -sS -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$url$p"
	if [ -n "${token:-}" ]; then
		set -- -H "Authorization: Bearer $token" "$@"
	fi
	curl "$@"
}
field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" "$tmp/body" | head -1; }
fail() { echo "error: $*" >&2; [ -s "$tmp/body" ] && cat "$tmp/body" >&2; exit 1; }

printf 'Waiting for %s/ready ' "$url"
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/ready" || true)" = 200 ]; do
	i=$((i + 1))
	[ $i -le 60 ] || { echo; fail "server not ready after 60 s"; }
	printf .
	sleep 1
done
echo " ok"

token=
code=$(api POST /api/v1/bootstrap/team -H "Authorization: Bearer $bootstrap" \
	-H 'Content-Type: application/json' \
	-d "{\"slug\":\"$team\",\"name\":\"Demo team\",\"password\":\"$password\"}")
case $code in
200|201) token=$(field token) ;;
409) fail "another team already exists; set DEMO_TEAM to its slug" ;;
404) fail "bootstrap is disabled: start minitowerd with MINITOWER_BOOTSTRAP_TOKEN" ;;
*) fail "bootstrap failed with HTTP $code" ;;
esac
echo "Team \"$team\" ready (password: $password)"

code=$(api POST /api/v1/apps -H 'Content-Type: application/json' \
	-d "{\"slug\":\"$app\",\"description\":\"MiniTower demo app\"}")
case $code in
201|409) ;;
*) fail "creating app $app failed with HTTP $code" ;;
esac

tar -C "$top/deploy/demo/hello" -czf "$tmp/$app.tar.gz" Towerfile main.py
code=$(api POST "/api/v1/apps/$app/versions" -F "artifact=@$tmp/$app.tar.gz")
[ "$code" = 201 ] || fail "uploading the demo app failed with HTTP $code"
echo "Deployed $app version $(field version_no)"

n=0
names="Ada Grace Linus Ken Barbara Edsger"
while :; do
	if [ -n "$runs" ] && [ $n -ge "$runs" ]; then
		break
	fi
	n=$((n + 1))
	who=$(echo "$names" | cut -d' ' -f$((n % 6 + 1)))
	secs=$((n % 5 + 1))
	code=$(api POST "/api/v1/apps/$app/runs" -H 'Content-Type: application/json' \
		-d "{\"input\":{\"name\":\"$who\",\"seconds\":$secs,\"fail_rate\":0.15}}")
	[ "$code" = 201 ] || fail "creating a run failed with HTTP $code"
	id=$(field run_id)
	echo "Run #$(field run_no) created (id=$id)"
	if $loop && [ $((n % 10)) -eq 0 ]; then
		code=$(api POST "/api/v1/runs/$id/cancel")
		echo "Run $id cancel: HTTP $code"
	fi
	if $loop; then
		sleep "$interval"
	fi
done

echo "Done: $n runs created."
echo "Web UI: $url (team \"$team\")  Grafana: http://localhost:3000  Prometheus: http://localhost:9090"
