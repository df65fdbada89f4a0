#!/bin/sh
# smoke: the README quickstart end to end with the real binaries. Builds (unless
# MT_BIN names prebuilt binaries), starts minitowerd on a random port with a
# temporary database and objects directory, bootstraps a team, logs in with the
# CLI, writes the quickstart's myapp, deploys it, runs it with
# {"name":"MiniTower"} following the event stream while a runner executes it,
# checks the logs say "Hello, MiniTower!", that /metrics answers and that an
# oversized body gets 413. Everything it started is stopped and removed on exit.
# Prints TAP; exits non-zero when a step fails.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${MT_BIN:-}" ]; then
	make -C "$top" -j2 >/dev/null || { echo "not ok 1 - build"; exit 1; }
	MT_BIN=$top/bin
fi
CLI=$MT_BIN/minitower-cli
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mt-smoke.XXXXXX")
server_pid= runner_pid= n=0 failed=0

cleanup() {
	for pid in $runner_pid $server_pid; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $runner_pid $server_pid; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# step NAME CMD...: runs one check and prints its TAP line; stops at the first failure.
step() {
	name=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/step.out" 2>&1; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		sed 's/^/# /' "$tmp/step.out" | tail -40
		for log in server.log runner.log; do
			[ -f "$tmp/$log" ] && { echo "# --- $log"; tail -20 "$tmp/$log" | sed 's/^/# /'; }
		done
		exit 1
	fi
}

start_server() {
	MINITOWER_DB_PATH=$tmp/mt.db MINITOWER_OBJECTS_DIR=$tmp/objects \
	MINITOWER_LISTEN_ADDR=127.0.0.1:0 MINITOWER_RUNNER_REGISTRATION_TOKEN=smoke-reg \
	MINITOWER_BOOTSTRAP_TOKEN=smoke-boot MINITOWER_DB_SYNCHRONOUS=normal \
		"$MT_BIN/minitowerd" >"$tmp/server.log" 2>&1 &
	server_pid=$!
	i=0
	while [ $i -lt 300 ]; do
		port=$(sed -n 's/.*"msg":"minitower listening".*"addr":"[^"]*:\([0-9]*\)".*/\1/p' "$tmp/server.log" | head -1)
		[ -n "$port" ] && break
		kill -0 "$server_pid" 2>/dev/null || return 1
		sleep 0.1; i=$((i + 1))
	done
	[ -n "$port" ] || return 1
	URL=http://127.0.0.1:$port
	i=0
	until curl -sf "$URL/health" | grep -q '"status":"ok"'; do
		[ $i -lt 100 ] || return 1
		sleep 0.1; i=$((i + 1))
	done
}

bootstrap() {
	curl -sf -X POST "$URL/api/v1/bootstrap/team" -H 'Authorization: Bearer smoke-boot' \
		-d '{"slug":"acme","name":"Acme","password":"change-me"}' | grep -q '"token":"mtk_'
}

cli() {
	MINITOWER_CLI_CONFIG=$tmp/cli/config.json "$CLI" "$@"
}

login() {
	echo change-me | cli login --server "$URL" --team acme --password-stdin &&
		cli me | grep -q '^Team: acme'
}

write_app() {
	mkdir -p "$tmp/myapp" &&
	cat >"$tmp/myapp/main.py" <<'PY' &&
import os
print(f"Hello, {os.environ.get('name', 'World')}!")
PY
	cat >"$tmp/myapp/Towerfile" <<'TOML'
[app]
name = "myapp"
script = "main.py"

[[parameters]]
name = "name"
description = "Who to greet"
default = "World"
TOML
}

deploy() {
	cli deploy --dir "$tmp/myapp" | tee "$tmp/deploy.out" && grep -q '^Version 1 created' "$tmp/deploy.out"
}

start_runner() {
	MINITOWER_SERVER_URL=$URL MINITOWER_RUNNER_NAME=smoke-runner \
	MINITOWER_RUNNER_REGISTRATION_TOKEN=smoke-reg MINITOWER_DATA_DIR=$tmp/runner-data \
	MINITOWER_PYTHON_BIN=$PY TMPDIR=$tmp HOME=$tmp \
		"$MT_BIN/minitower-runner" >"$tmp/runner.log" 2>&1 &
	runner_pid=$!
	sleep 0.2
	kill -0 "$runner_pid"
}

run_and_follow() {
	cli run --app myapp -p name=MiniTower >"$tmp/run.out" 2>&1
	rc=$?
	cat "$tmp/run.out"
	[ $rc -eq 0 ] && grep -q 'STDOUT Hello, MiniTower!$' "$tmp/run.out" &&
		grep -q 'status: completed$' "$tmp/run.out"
}

logs_say_hello() {
	id=$(sed -n 's/^Run #1 created (id=\([0-9]*\),.*/\1/p' "$tmp/run.out")
	[ -n "$id" ] && cli runs get "$id" --json | grep -q '"name": "MiniTower"' &&
		cli runs logs "$id" | tee "$tmp/logs.out" && grep -qE '^\[[0-9]+\] STDOUT Hello, MiniTower!$' "$tmp/logs.out"
}

metrics() {
	curl -sf "$URL/metrics" >"$tmp/metrics.out" &&
		grep -q '^minitower_runs_completed_total{app="myapp",status="completed",team="acme"} 1$' "$tmp/metrics.out"
}

oversized_body() {
	code=$(head -c 10485761 /dev/zero | tr '\0' 'x' |
		curl -s -o "$tmp/413.out" -w '%{http_code}' -X POST "$URL/api/v1/apps" --data-binary @-)
	[ "$code" = 413 ] && grep -q '"code":"payload_too_large"' "$tmp/413.out"
}

echo "1..10"
step "minitowerd starts on a random port" start_server
step "bootstrap a team" bootstrap
step "CLI login and me" login
step "write the quickstart app" write_app
step "CLI deploy" deploy
step "runner starts" start_runner
step "CLI run follows to Hello, MiniTower!" run_and_follow
step "stored logs say Hello, MiniTower!" logs_say_hello
step "/metrics counts the completed run" metrics
step "an oversized body gets 413" oversized_body
