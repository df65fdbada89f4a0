"""Structured logs of minitowerd and minitower-runner (observability.md §2,
issue 7) from real processes: a real runner completes, fails and has a run
cancelled; a scripted protocol client covers lease expiry, dead runs and
release; plain requests cover 404s, template paths, request ids and CORS.
Every stdout line of both binaries is then checked against the spec: one JSON
object, keys time/level/msg first, the time format, the levels, and each
message's attribute list in order. Waits are bounded polls, never timings."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import Client, Runner as ProtoRunner, artifact, multipart, wait_for  # noqa: E402
from mtserver import BIN, REG_TOKEN, Tap  # noqa: E402

t = Tap()
test = t.test
ST = {}
ORIGIN = "http://ui.example"

# ---- what the spec allows (observability.md §1.2, §2.2, §2.3) -------------

TEMPLATES = {
    "/health", "/ready", "/metrics", "/api/v1/auth/options", "/api/v1/teams/signup",
    "/api/v1/teams/login", "/api/v1/bootstrap/team", "/api/v1/me", "/api/v1/tokens",
    "/api/v1/tokens/{id}", "/api/v1/apps", "/api/v1/apps/{app}", "/api/v1/apps/{app}/versions",
    "/api/v1/apps/{app}/runs", "/api/v1/runs", "/api/v1/runs/summary", "/api/v1/runs/lease",
    "/api/v1/runs/{run}", "/api/v1/runs/{run}/cancel", "/api/v1/runs/{run}/logs",
    "/api/v1/runs/{run}/logs/stream", "/api/v1/runs/{run}/attempts", "/api/v1/runs/{run}/start",
    "/api/v1/runs/{run}/heartbeat", "/api/v1/runs/{run}/result", "/api/v1/runs/{run}/artifact",
    "/api/v1/runs/{run}/release", "/api/v1/runners/register", "/api/v1/admin/runners", "/ui", "other",
    "/api/v1/runs/{run}/secrets", "/api/v1/secrets", "/api/v1/secrets/{name}",
}
ACCESS_KEYS = ["method", "path", "status", "duration_ms", "bytes", "request_id"]
ERR = ["error"]
SERVER_MSGS = {
    "minitower listening": ["addr"],
    "public signup enabled: any user can run code on shared runners": [],
    "access": ACCESS_KEYS,
    "shutting down": [],
    "config error": ERR, "db error": ERR, "migration error": ERR, "objects store error": ERR,
    "server error": ERR,
    "expiry reaper processed attempts": ["count"], "expiry reaper error": ERR,
    "marked stale runners offline": ["count"], "runner offline sweep error": ERR,
    "pruned offline runners": ["count"], "runner prune sweep error": ERR,
    "idempotency key cleanup error": ERR, "password rehash failed": ERR, "panic": ERR,
    "lease expiries clamped": ["count", "runners", "ttl_ms"],
    "wall clock stepped": ["step_ms", "offset_ms"],
    "stale upload removed": ["dir", "file", "bytes"],
    "stale upload not removed": ["dir", "file", "error"],
    "run created": ["run_id", "team", "app", "run_no"],
    "run leased": ["run_id", "attempt_no", "team", "app", "runner"],
    "run started": ["run_id", "attempt_no", "team", "app"],
    "run cancel requested": ["run_id", "attempt_no", "team", "app"],
    "run requeued": ["run_id", "attempt_no", "team", "app", "reason"],
    "run finished": ["run_id", "attempt_no", "team", "app", "status", "reason"],
    "slow client closed": ["reason", "client_addr", "elapsed_ms", "bytes"],   # docs/http.md
    # secrets (docs/secrets.md)
    "secrets are not configured": [], "secrets key error": ERR, "secrets key reload failed": ERR,
    "secrets key reloaded": [],
    "secret written": ["team", "name", "app", "environment", "version"],
    "secret deleted": ["team", "name", "app", "environment"],
    "secrets delivered": ["run_id", "attempt_no", "team", "app", "runner", "names"],
}
RUNNER_MSGS = {
    "config error": ERR, "runner error": ERR,
    "runs are only created in the default environment": ["environment"],
    "python interpreter unavailable": ERR, "loaded saved token": [],
    "saved token belongs to another name or environment; registering again": [],
    "register failed": ERR, "registered successfully": [], "failed to save token": ERR,
    "released run left by a previous process": ["run_id"], "runner started": ["name"],
    "poll error": ERR, "runner already has an active lease": [], "invalid lease response": ERR,
    "leased run": ["run_id", "app", "attempt"], "stale lease on start": [], "start failed": ERR,
    "run cancelled before start": [], "workspace creation failed": ERR,
    "artifact download failed": ERR, "invalid X-Import-Paths header": ERR, "unpack failed": ERR,
    "artifact unpacked": ["sha256"], "venv cache hit": ["key"], "venv cache miss": ["key"],
    "venv cache evicted": ["key"], "venv cache bypassed": [], "venv creation failed": ERR,
    "requirements install failed": ERR, "setup timeout": [],
    "stale lease during workspace preparation": [], "skipping input key for env var export": ["key"],
    "ignoring import path": ["path"], "stale lease before process start": [],
    "run cancelled before process start": [], "process start failed": ERR,
    "terminating run": ["reason"], "stale lease on heartbeat": [], "heartbeat failed": ERR,
    "lease expired, self-fencing": [], "stale lease on log flush": [], "log flush failed": ERR,
    "stale lease on result submit": [], "result submit failed": ERR,
    "stale lease, skipping result": [], "run cancelled": [], "run timed out": [],
    "run failed": ["exit_code"], "run completed": ["exit_code"], "draining": ["timeout"],
    "run released": [], "release failed": ERR, "shutting down": [],
    # containment (docs/sandbox.md)
    "sandbox": ["sandbox", "limits", "pid_namespace", "uid_per_run"],
    "sandbox unavailable, jobs run without one": ["sandbox", "pid_namespace"],
    "sandbox probe failed": ["mode", "error"],
    "no sandbox: every run gets its own uid": ["user", "first", "last"],
    "no usable cgroup, limits fall back to rlimits": ["limits"],
    "killed processes left by a previous process": [],
    "run refused": ERR, "cgroup creation failed": ERR,
    # the artifact cache and the interpreter (issue 13, docs/runner.md)
    "artifact cache hit": ["sha256"], "artifact cache evicted": ["sha256"],
    "artifact cache entry corrupt": ["sha256", "error"], "artifact cache store failed": ERR,
    "python interpreter": ["python_bin", "executable", "python_version"],
    # stale workspaces (docs/runner.md)
    "stale workspace removed": ["path", "run_id"],
    "stale workspace not removed": ["path", "run_id", "error"],
    "stale workspaces swept": ["count"],
    # secrets (docs/secrets.md)
    "secrets received": ["names"], "secrets fetch failed": ERR, "stale lease on secrets": [],
}
INT_ATTRS = {"run_id", "attempt_no", "run_no", "count", "bytes", "attempt", "exit_code", "timeout",
             "first", "last", "version"}
TIME_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,8}[1-9]))?'
                     r'(Z|[+-]\d{2}:\d{2})$')


# ---- processes ------------------------------------------------------------

class Proc:
    """A binary whose stdout and stderr are captured as raw lines."""

    def __init__(self, argv, env, cwd=None):
        self.out, self.err = [], []
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.threads = [threading.Thread(target=self._read, args=(self.proc.stdout, self.out),
                                         daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stderr, self.err),
                                         daemon=True)]
        for th in self.threads:
            th.start()

    @staticmethod
    def _read(stream, into):
        for raw in stream:
            into.append(raw)

    def msgs(self, msg=None):
        out = []
        for raw in list(self.out):
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and (msg is None or obj.get("msg") == msg):
                out.append(obj)
        return out

    def wait(self, timeout=30):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        for th in self.threads:
            th.join(5)
        return rc

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)


def base_env(extra=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(extra or {})
    return env


class LogServer(Proc):
    def __init__(self, tmp, env=None):
        e = base_env({
            "TZ": "UTC",
            "MINITOWER_LISTEN_ADDR": "127.0.0.1:0",
            "MINITOWER_DB_PATH": os.path.join(tmp, "mt.db"),
            "MINITOWER_OBJECTS_DIR": os.path.join(tmp, "objects"),
            "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN,
            "MINITOWER_DB_SYNCHRONOUS": "normal",
            "MINITOWER_SIGNUPS_PER_MINUTE": "0",
            "MINITOWER_LOGIN_FAILURES_PER_MINUTE": "0",
        })
        e.update(env or {})
        self.tmp = tmp
        super().__init__([os.path.join(BIN, "minitowerd")], e, cwd=tmp)
        got = wait_for(lambda: self.msgs("minitower listening") or self.proc.poll() is not None, 30)
        if not got or self.proc.poll() is not None:
            raise RuntimeError("minitowerd did not start: %r %r" % (self.out, self.err))
        self.port = int(self.msgs("minitower listening")[0]["addr"].rsplit(":", 1)[1])

    def client(self):
        return Client(self.port)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port


class RealRunner(Proc):
    def __init__(self, s, name, env=None):
        self.name = name
        work = os.path.join(s.tmp, "work-" + name)
        os.makedirs(work, exist_ok=True)
        e = base_env({
            "TZ": "UTC",
            "HOME": s.tmp,
            "TMPDIR": work,
            "MINITOWER_SERVER_URL": s.url,
            "MINITOWER_RUNNER_NAME": name,
            "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN,
            "MINITOWER_DATA_DIR": os.path.join(s.tmp, "data-" + name),
            "MINITOWER_PYTHON_BIN": sys.executable or "python3",
            "MINITOWER_LEASE_WAIT": "2s",
            "MINITOWER_POLL_INTERVAL": "200ms",
            "MINITOWER_KILL_GRACE_PERIOD": "1s",
            "MINITOWER_DRAIN_TIMEOUT": "1s",
        })
        e.update(env or {})
        super().__init__([os.path.join(BIN, "minitower-runner")], e)
        if not wait_for(lambda: self.msgs("runner started") or self.proc.poll() is not None, 30) \
                or self.proc.poll() is not None:
            raise RuntimeError("runner did not start: %r %r" % (self.out, self.err))


# ---- helpers --------------------------------------------------------------

def parse_line(raw):
    """raw bytes → list of (key, value) pairs; raises on anything but one
    JSON object per line."""
    assert raw.endswith(b"\n"), "unterminated line %r" % raw
    text = raw.decode("utf-8")  # strict: invalid UTF-8 is a failure
    pairs = json.loads(text, object_pairs_hook=lambda p: p)
    assert isinstance(pairs, list) and text.lstrip().startswith("{"), "not an object: %r" % raw
    keys = [k for k, _ in pairs]
    assert len(set(keys)) == len(keys), "duplicate keys in %r" % raw
    return pairs


def check_time(value, want_offset, raw):
    m = TIME_RE.match(value)
    assert m, "bad time %r in %r" % (value, raw)
    off = m.group(8)
    assert off == want_offset, "offset %r, want %r: %r" % (off, want_offset, raw)
    frac = (m.group(7) or "")[:6].ljust(6, "0")
    tz = timezone.utc
    if off != "Z":
        sign = 1 if off[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
    dt = datetime(*[int(m.group(i)) for i in range(1, 7)], int(frac), tzinfo=tz)
    # The local clock time with its offset must name the present instant;
    # one hour of slack only catches a wrong zone, it is no timing check.
    assert abs(dt.timestamp() - time.time()) < 3600, "time %r is not now: %r" % (value, raw)


def check_lines(lines, table, want_offset):
    """Checks every captured line; returns the parsed records."""
    assert lines, "no log lines"
    recs = []
    for raw in lines:
        pairs = parse_line(raw)
        keys = [k for k, _ in pairs]
        assert keys[:3] == ["time", "level", "msg"], "key order %r in %r" % (keys, raw)
        d = dict(pairs)
        assert isinstance(d["time"], str) and isinstance(d["msg"], str), raw
        check_time(d["time"], want_offset, raw)
        assert d["level"] in ("INFO", "WARN", "ERROR"), raw
        attrs = keys[3:]
        want = table.get(d["msg"])
        assert want is not None, "message not in the spec: %r" % raw
        if d["msg"] == "run finished" and "attempt_no" not in attrs:
            want = [k for k in want if k != "attempt_no"]
        assert attrs == want, "attributes %r, spec %r: %r" % (attrs, want, raw)
        for k in attrs:
            v = d[k]
            if k in INT_ATTRS or (k == "status" and d["msg"] == "access"):
                assert isinstance(v, int) and not isinstance(v, bool), "%s not an integer: %r" % (k, raw)
            elif k == "duration_ms":
                assert isinstance(v, (int, float)) and v >= 0, raw
            else:
                assert isinstance(v, str), "%s not a string: %r" % (k, raw)
        recs.append(d)
    return recs


def api(method, path, body=None, headers=None, token=None):
    return ST["c"].call(method, path, body, token=token if token is not None else ST["token"],
                        headers=headers)


def create_run(body=None, headers=None):
    r = api("POST", "/api/v1/apps/%s/runs" % ST["app"], body or {}, headers=headers)
    assert r.status in (200, 201), r
    return r.json


def run_status(rid):
    return api("GET", "/api/v1/runs/%d" % rid).json["status"]


def wait_status(rid, statuses, timeout=60):
    assert wait_for(lambda: run_status(rid) in statuses, timeout), \
        "run %d is %s, not %s" % (rid, run_status(rid), statuses)


def srv_recs(msg):
    return ST["s"].msgs(msg)


def of_run(msg, rid):
    return [m for m in srv_recs(msg) if m.get("run_id") == rid]


def access(rid_header):
    return [m for m in srv_recs("access") if m.get("request_id") == rid_header]


JOB = """if [ -n "$nap" ]; then echo napping; sleep 60; fi
echo hello
exit ${code:-0}
"""


# ---- workload -------------------------------------------------------------

@test
def workload_real_runner(_):
    s = ST["s"]
    ST["c"] = c = s.client()
    ST["slug"] = "logteam"
    r = c.call("POST", "/api/v1/teams/signup", {"slug": "logteam", "name": "Log team",
                                                "password": "pw-logteam-1"})
    assert r.status == 201, r
    ST["token"] = r.json["token"]
    ST["app"] = "logapp"
    assert api("POST", "/api/v1/apps", {"slug": "logapp"}).status == 201
    tf = '[app]\nname = "logapp"\nscript = "job.sh"\n'
    body, ctype = multipart("artifact", "artifact.tar.gz", artifact(tf, {"job.sh": JOB}))
    r = api("POST", "/api/v1/apps/logapp/versions", body, headers={"Content-Type": ctype})
    assert r.status == 201, r
    ST["runner"] = rn = RealRunner(s, "log-runner")
    ok = create_run({"input": {"code": 0}})
    ST["ok"] = (ok["run_id"], ok["run_no"])
    wait_status(ok["run_id"], ("completed", "failed"))
    assert run_status(ok["run_id"]) == "completed"
    bad = create_run({"input": {"code": 3}})
    ST["bad"] = bad["run_id"]
    wait_status(bad["run_id"], ("completed", "failed"))
    assert run_status(bad["run_id"]) == "failed"
    nap = create_run({"input": {"nap": "1"}})["run_id"]
    ST["nap"] = nap
    assert wait_for(lambda: any(x["line"] == "napping" for x in
                                api("GET", "/api/v1/runs/%d/logs" % nap).json["logs"]), 60)
    assert api("POST", "/api/v1/runs/%d/cancel" % nap).status == 200
    wait_status(nap, ("cancelled", "completed", "failed"))
    assert run_status(nap) == "cancelled"
    rn.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: rn.msgs("draining"), 10)
    if rn.proc.poll() is None:
        rn.proc.send_signal(signal.SIGTERM)   # do not wait for the idle lease poll
    assert rn.wait(30) == 0, rn.err


@test
def workload_protocol_runner(_):
    # Never leased, cancelled while queued; a repeated cancel changes nothing.
    q = create_run()["run_id"]
    ST["queued"] = q
    for _ in range(2):
        r = api("POST", "/api/v1/runs/%d/cancel" % q)
        assert r.status == 200 and r.json["status"] == "cancelled", r
    # An idempotent replay creates nothing.
    k = {"Idempotency-Key": "log-key-1"}
    first = create_run({}, headers=k)
    again = create_run({}, headers=k)
    assert first["run_id"] == again["run_id"]
    ST["idem"] = first["run_id"]
    assert api("POST", "/api/v1/runs/%d/cancel" % first["run_id"]).status == 200
    # Lease expiry twice: requeued, then dead.
    pr = ProtoRunner(ST["s"], name="proto-runner")
    ST["proto"] = pr.name
    d = create_run({"max_retries": 1})["run_id"]
    ST["dead"] = d
    l1 = pr.lease(wait=10).json
    assert (l1["run_id"], l1["attempt_no"]) == (d, 1), l1
    wait_status(d, ("queued",), 60)
    l2 = pr.lease(wait=10).json
    assert (l2["run_id"], l2["attempt_no"]) == (d, 2), l2
    wait_status(d, ("dead",), 60)
    # Release, then a second attempt that completes.
    pr = ProtoRunner(ST["s"], name="proto-runner")   # back online if marked offline
    rel = create_run()["run_id"]
    ST["rel"] = rel
    l1 = pr.lease(wait=10).json
    assert l1["run_id"] == rel, l1
    assert pr.release(rel, l1["lease_token"]).status == 200
    l2 = pr.lease(wait=10).json
    assert (l2["run_id"], l2["attempt_no"]) == (rel, 2), l2
    assert pr.start(rel, l2["lease_token"]).status == 200
    r = pr.result(rel, l2["lease_token"], "completed", 0)
    assert r.status == 200, r
    assert run_status(rel) == "completed"


@test
def workload_plain_requests(_):
    c = ST["s"].client()
    ids = ST["ids"] = {}
    ids["health"] = "client-" + uuid.uuid4().hex
    r = c.call("GET", "/health", headers={"X-Request-Id": ids["health"]})
    assert r.status == 200 and r.header("x-request-id") == ids["health"], r
    ST["health_len"] = len(r.data)
    ids["404"] = "nf " + uuid.uuid4().hex + " ~!"
    r = c.call("GET", "/api/v1/no/such/route/42", headers={"X-Request-Id": ids["404"]})
    assert r.status == 404 and r.header("x-request-id") == ids["404"], r
    ST["404_len"] = len(r.data)
    ids["badrun"] = "badrun-" + uuid.uuid4().hex
    r = c.call("GET", "/api/v1/runs/abc", token=ST["token"], headers={"X-Request-Id": ids["badrun"]})
    assert r.status == 400, r
    r = c.call("GET", "/health", headers={"X-Request-Id": "x" * 129})
    ST["long_gen"] = r.header("x-request-id")
    r = c.call("GET", "/health")
    ST["none_gen"] = r.header("x-request-id")
    ids["pre"] = "preflight-" + uuid.uuid4().hex
    r = c.call("OPTIONS", "/api/v1/apps", headers={
        "X-Request-Id": ids["pre"], "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert r.status in (200, 204) and r.header("access-control-allow-origin") == ORIGIN, r
    c.close()
    # Access lines are written once the response has been sent.
    assert wait_for(lambda: access(ids["pre"]) and access(ST["none_gen"]), 15), "access lines missing"


@test
def server_stops_cleanly(_):
    s = ST["s"]
    ST["c"].close()
    assert s.stop() == 0, s.err
    assert srv_recs("shutting down"), "no shutting down line"


# ---- checks: format -------------------------------------------------------

@test
def server_every_line_json_with_spec_keys(_):
    ST["srv"] = check_lines(ST["s"].out, SERVER_MSGS, "Z")
    assert len(ST["srv"]) > 20


@test
def runner_every_line_json_with_spec_keys(_):
    ST["run"] = check_lines(ST["runner"].out, RUNNER_MSGS, "Z")


@test
def nothing_on_stderr_and_no_errors(_):
    assert not ST["runner"].err, ST["runner"].err[:10]
    assert not ST["s"].err, ST["s"].err[:10]
    errors = [m for m in ST["s"].msgs() + ST["runner"].msgs() if m.get("level") == "ERROR"]
    assert not errors, errors


@test
def time_offset_follows_local_zone(_):
    tmp = tempfile.mkdtemp(prefix="mt-logs-tz-")
    try:
        s = LogServer(tmp, {"TZ": "MTT-5:30", "MINITOWER_ACCESS_LOG": "false"})
        try:
            c = s.client()
            assert c.call("GET", "/health").status == 200
            rn = RealRunner(s, "tz-runner", {"TZ": "MTT-5:30"})
            rc = rn.stop()
            c.close()
        finally:
            src = s.stop()
        assert rc == 0 and src == 0, (rc, src, rn.err, s.err)
        check_lines(s.out, SERVER_MSGS, "+05:30")
        check_lines(rn.out, RUNNER_MSGS, "+05:30")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- checks: access log ---------------------------------------------------

@test
def access_lines_have_spec_fields(_):
    acc = srv_recs("access")
    assert len(acc) > 20, len(acc)
    for m in acc:
        assert m["level"] == "INFO", m
        assert m["path"] in TEMPLATES, "path is not a route template: %r" % m
        assert 100 <= m["status"] <= 599, m
        assert m["bytes"] >= 0, m
        assert 1 <= len(m["request_id"]) <= 128, m
    for raw in ST["s"].out:
        if b'"msg":"access"' in raw:
            dm = re.search(rb'"duration_ms":(-?[0-9.eE+-]+),', raw)
            assert dm and re.fullmatch(rb"\d+(\.\d{1,3})?", dm.group(1)), raw
    paths = {m["path"] for m in acc}
    for p in ("/api/v1/runs/lease", "/api/v1/runs/{run}/heartbeat", "/api/v1/runs/{run}/start",
              "/api/v1/runs/{run}/result", "/api/v1/apps/{app}/runs", "/api/v1/teams/signup"):
        assert p in paths, (p, sorted(paths))


@test
def access_echoes_client_request_id(_):
    ids = ST["ids"]
    a = access(ids["health"])
    assert len(a) == 1, a
    assert (a[0]["method"], a[0]["path"], a[0]["status"], a[0]["bytes"]) == \
        ("GET", "/health", 200, ST["health_len"]), a


@test
def access_404_and_template_paths(_):
    ids = ST["ids"]
    a = access(ids["404"])
    assert len(a) == 1 and (a[0]["path"], a[0]["status"], a[0]["bytes"]) == \
        ("other", 404, ST["404_len"]), a
    a = access(ids["badrun"])
    assert len(a) == 1 and (a[0]["method"], a[0]["path"], a[0]["status"]) == \
        ("GET", "/api/v1/runs/{run}", 400), a
    assert not any("abc" in m["path"] or "42" in m["path"] for m in srv_recs("access"))


@test
def access_generated_request_ids(_):
    for rid in (ST["long_gen"], ST["none_gen"]):
        assert re.fullmatch(r"[0-9a-f]{32}", rid or ""), rid
        a = access(rid)
        assert len(a) == 1 and a[0]["path"] == "/health", a
    assert not any(m["request_id"] == "x" * 129 for m in srv_recs("access"))


@test
def access_cors_preflight_logged(_):
    a = access(ST["ids"]["pre"])
    assert len(a) == 1 and a[0]["method"] == "OPTIONS" and a[0]["path"] == "/api/v1/apps", a


@test
def access_log_false_removes_access_lines(_):
    tmp = tempfile.mkdtemp(prefix="mt-logs-off-")
    try:
        s = LogServer(tmp, {"MINITOWER_ACCESS_LOG": "false"})
        try:
            c = s.client()
            r = c.call("POST", "/api/v1/teams/signup", {"slug": "quiet", "name": "Q", "password": "pw-q-1"})
            assert r.status == 201, r
            tok = r.json["token"]
            assert c.call("POST", "/api/v1/apps", {"slug": "quietapp"}, token=tok).status == 201
            tf = '[app]\nname = "quietapp"\nscript = "main.py"\n'
            body, ctype = multipart("artifact", "a.tar.gz", artifact(tf))
            assert c.call("POST", "/api/v1/apps/quietapp/versions", body, token=tok,
                          headers={"Content-Type": ctype}).status == 201
            rid = c.call("POST", "/api/v1/apps/quietapp/runs", {}, token=tok).json["run_id"]
            for path in ("/health", "/api/v1/nope", "/metrics"):
                c.call("GET", path, headers={"X-Request-Id": "quiet-" + path})
            c.close()
        finally:
            rc = s.stop()
        assert rc == 0, s.err
        recs = check_lines(s.out, SERVER_MSGS, "Z")
        assert not [m for m in recs if m["msg"] == "access"], "access lines with MINITOWER_ACCESS_LOG=false"
        assert [m for m in recs if m["msg"] == "run created" and m["run_id"] == rid], recs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@test
def config_error_line(_):
    tmp = tempfile.mkdtemp(prefix="mt-logs-cfg-")
    try:
        p = Proc([os.path.join(BIN, "minitowerd")], base_env({
            "TZ": "UTC", "MINITOWER_ACCESS_LOG": "maybe", "MINITOWER_LISTEN_ADDR": "127.0.0.1:0",
            "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN}), cwd=tmp)
        assert p.wait(30) == 1
        recs = check_lines(p.out, SERVER_MSGS, "Z")
        assert [(m["level"], m["msg"]) for m in recs] == [("ERROR", "config error")], recs
        assert recs[0]["error"].startswith("invalid MINITOWER_ACCESS_LOG: "), recs
        p = Proc([os.path.join(BIN, "minitower-runner")], base_env({
            "TZ": "UTC", "HOME": tmp, "MINITOWER_SERVER_URL": "http://127.0.0.1:9"}))
        assert p.wait(30) == 1
        recs = check_lines(p.out, RUNNER_MSGS, "Z")
        assert [(m["level"], m["msg"], m["error"]) for m in recs] == \
            [("ERROR", "config error", "MINITOWER_RUNNER_NAME is required")], recs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- checks: run lifecycle ------------------------------------------------

def one(msg, rid, **want):
    got = of_run(msg, rid)
    assert len(got) == 1, "%s for run %d: %r" % (msg, rid, got)
    m = got[0]
    for k, v in want.items():
        assert m.get(k) == v, "%s.%s = %r, want %r: %r" % (msg, k, m.get(k), v, m)
    assert m["team"] == ST["slug"] and m["app"] == ST["app"], m
    return m


def order_of(rid):
    return [m["msg"] for m in ST["s"].msgs() if m.get("run_id") == rid and m["msg"] != "access"]


@test
def lifecycle_completed_run(_):
    rid, run_no = ST["ok"]
    one("run created", rid, run_no=run_no)
    one("run leased", rid, attempt_no=1, runner="log-runner")
    one("run started", rid, attempt_no=1)
    one("run finished", rid, attempt_no=1, status="completed", reason="result")
    assert order_of(rid) == ["run created", "run leased", "run started", "run finished"], order_of(rid)


@test
def lifecycle_failed_run(_):
    rid = ST["bad"]
    one("run finished", rid, attempt_no=1, status="failed", reason="result")
    assert order_of(rid) == ["run created", "run leased", "run started", "run finished"], order_of(rid)


@test
def lifecycle_cancelled_running_run(_):
    rid = ST["nap"]
    one("run cancel requested", rid, attempt_no=1)
    one("run finished", rid, attempt_no=1, status="cancelled", reason="result")
    assert order_of(rid) == ["run created", "run leased", "run started", "run cancel requested",
                             "run finished"], order_of(rid)


@test
def lifecycle_cancelled_queued_run_once(_):
    m = one("run finished", ST["queued"], status="cancelled", reason="cancel")
    assert "attempt_no" not in m, m
    assert order_of(ST["queued"]) == ["run created", "run finished"], order_of(ST["queued"])


@test
def lifecycle_idempotent_replay_logs_once(_):
    one("run created", ST["idem"])


@test
def lifecycle_lease_expired_then_dead(_):
    rid = ST["dead"]
    leased = of_run("run leased", rid)
    assert [(m["attempt_no"], m["runner"]) for m in leased] == [(1, ST["proto"]), (2, ST["proto"])], leased
    one("run requeued", rid, attempt_no=1, reason="lease expired")
    one("run finished", rid, attempt_no=2, status="dead", reason="lease expired")
    assert order_of(rid) == ["run created", "run leased", "run requeued", "run leased",
                             "run finished"], order_of(rid)
    assert any(m["count"] >= 1 for m in srv_recs("expiry reaper processed attempts"))


@test
def lifecycle_released_then_completed(_):
    rid = ST["rel"]
    one("run requeued", rid, attempt_no=1, reason="released")
    one("run started", rid, attempt_no=2)
    one("run finished", rid, attempt_no=2, status="completed", reason="result")


@test
def lifecycle_startup_lines(_):
    lines = ST["s"].msgs()
    assert lines[0]["msg"] in ("minitower listening",
                               "public signup enabled: any user can run code on shared runners")
    warn = ST["s"].msgs("public signup enabled: any user can run code on shared runners")
    assert len(warn) == 1 and warn[0]["level"] == "WARN", warn
    assert ST["s"].msgs("minitower listening")[0]["addr"] == "127.0.0.1:%d" % ST["s"].port


# ---- checks: runner -------------------------------------------------------

def rmsgs(msg):
    return ST["runner"].msgs(msg)


@test
def runner_start_register_lease_lines(_):
    assert [m["name"] for m in rmsgs("runner started")] == ["log-runner"]
    assert len(rmsgs("registered successfully")) == 1
    leased = [(m["run_id"], m["app"], m["attempt"]) for m in rmsgs("leased run")]
    assert leased == [(ST["ok"][0], "logapp", 1), (ST["bad"], "logapp", 1), (ST["nap"], "logapp", 1)], leased
    assert all(re.fullmatch(r"[0-9a-f]{64}", m["sha256"]) for m in rmsgs("artifact unpacked"))
    assert len(rmsgs("artifact unpacked")) == 3


@test
def runner_outcome_lines(_):
    assert [m["exit_code"] for m in rmsgs("run completed")] == [0]
    assert [m["exit_code"] for m in rmsgs("run failed")] == [3]
    assert len(rmsgs("run cancelled")) == 1
    assert [m["reason"] for m in rmsgs("terminating run")] == ["cancel requested"]


@test
def runner_shutdown_lines(_):
    dr = rmsgs("draining")
    assert [m["timeout"] for m in dr] == [1000000000], dr
    msgs = [m["msg"] for m in ST["runner"].msgs()]
    assert msgs[-1] == "shutting down", msgs[-5:]


def main():
    tmp = tempfile.mkdtemp(prefix="mt-logs-")
    try:
        ST["s"] = LogServer(tmp, {"MINITOWER_LEASE_TTL": "4s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "250ms",
                                  "MINITOWER_CORS_ORIGINS": ORIGIN})
        try:
            t.run(None)
        finally:
            if "runner" in ST:
                ST["runner"].stop()
            ST["s"].stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
