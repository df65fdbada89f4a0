"""API tests of the job sandbox and resource limits, through a real
minitowerd: the Towerfile's [app.sandbox] and [app.resources] on upload (each
refusal a 400 that writes nothing), the version and lease fields they become
(and no new key without them), the result's reason and usage figures (stored,
validated, listed in attempts, derived for older runners), what a runner says
it runs jobs in (registration and lease bodies, admin runners) and the two
usage histograms of /metrics. Prints TAP."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import (REG_TOKEN, Runner, Server, Tap, World, artifact, check, eq,  # noqa: E402
                         multipart, run_suite, wait_for)

tap = Tap()
test = tap.test
APP = '[app]\nname = "sbx"\nscript = "main.py"\n'
LEASE_KEYS = ["run_id", "run_no", "app_id", "app_slug", "version_no", "entrypoint",
              "timeout_seconds", "input", "attempt_id", "attempt_no", "lease_token",
              "lease_expires_at"]
VERSION_KEYS = ["version_id", "version_no", "entrypoint", "timeout_seconds", "params_schema",
                "artifact_sha256", "towerfile_toml", "import_paths", "created_at"]
RECORD_KEYS = ["attempt_no", "status", "runner_name", "exit_code", "error_message", "started_at",
               "finished_at"]
SANDBOX = "[app.sandbox]\nnetwork = false\nwritable_paths = [\"/srv/cache\", \"/var/tmp/x\"]\n"
RESOURCES = ("[app.resources]\nopen_files = 256\ndisk_mb = 100\npids = 64\ncpus = 0.5\n"
             "memory_mb = 256\n")
WANT_SANDBOX = {"network": False, "writable_paths": ["/srv/cache", "/var/tmp/x"]}
WANT_RESOURCES = {"memory_mb": 256, "cpus": 0.5, "pids": 64, "disk_mb": 100, "open_files": 256}
RESOURCE_ORDER = ["memory_mb", "cpus", "pids", "disk_mb", "open_files"]


def post_version(w, towerfile):
    body, ctype = multipart("artifact", "artifact.tar.gz", artifact(towerfile))
    return w.c.call("POST", "/api/v1/apps/%s/versions" % w.app, body, token=w.token,
                    headers={"Content-Type": ctype})


def versions(w):
    return w.c.call("GET", "/api/v1/apps/%s/versions" % w.app, token=w.token).json["versions"]


def attempts(w, run_id):
    r = w.c.call("GET", "/api/v1/runs/%d/attempts" % run_id, token=w.token)
    eq(r.status, 200, r.text)
    return r.json["attempts"]


def drain(s):
    r = Runner(s)
    for _ in range(1000):
        l = r.lease()
        if l.status != 200:
            break
        r.result(l.json["run_id"], l.json["lease_token"])


def leased(s, w, body=None):
    """Creates a run of w's latest version; returns (runner, lease JSON)."""
    drain(s)
    rid = w.create(body).json["run_id"]
    rn = Runner(s)
    l = rn.lease()
    eq(l.status, 200, l.text)
    eq(l.json["run_id"], rid)
    return rn, l


def started(s, w):
    rn, l = leased(s, w)
    eq(rn.start(l.json["run_id"], l.json["lease_token"]).status, 200)
    return rn, l.json["run_id"], l.json["lease_token"]


@test
def upload_with_each_table(s):
    w = World(s)
    plain = versions(w)[0]
    check("sandbox" not in plain and "resources" not in plain, plain)
    eq(list(plain.keys()), [k for k in VERSION_KEYS if k in plain])
    for tf, want_s, want_r in [
            (APP + SANDBOX, WANT_SANDBOX, None),
            (APP + RESOURCES, None, WANT_RESOURCES),
            (APP + SANDBOX + RESOURCES, WANT_SANDBOX, WANT_RESOURCES),
            (APP + "[app.sandbox]\n", {"network": True}, None),
            (APP + "[app.sandbox]\nwritable_paths = []\nextra = 1\n", {"network": True}, None),
            (APP + "[app.resources]\ncpus = 2\n", None, {"cpus": 2}),
            (APP + "[app.resources]\ncpus = 0.1234\nunknown = \"x\"\n", None, {"cpus": 0.123}),
            (APP + "[app.resources]\n", None, None)]:
        r = post_version(w, tf)
        eq(r.status, 201, r.text)
        v = r.json
        keys = list(v.keys())
        extra = [k for k in ("sandbox", "resources") if k in v]
        eq(keys[-len(extra) - 1:], ["created_at"] + extra, "new fields at the end")
        eq(v.get("sandbox"), want_s, tf)
        eq(v.get("resources"), want_r, tf)
        if want_r is not None:
            eq(list(v["resources"].keys()), [k for k in RESOURCE_ORDER if k in want_r])
        listed = versions(w)[0]
        eq(listed, v, "list shows the same version")
    check(b'"cpus":2}' in w.c.call("GET", "/api/v1/apps/%s/versions" % w.app, token=w.token).data)
    check(b'"cpus":0.123}' in w.c.call("GET", "/api/v1/apps/%s/versions" % w.app,
                                       token=w.token).data)


@test
def upload_refusals(s):
    w = World(s)
    before = len(versions(w))
    cases = [
        ("[app.sandbox]\nnetwork = \"yes\"\n",
         "parsing towerfile: line 5: app.sandbox.network must be a boolean, got string"),
        ("sandbox = 1\n", "parsing towerfile: line 4: app.sandbox must be a table, got integer"),
        ("[app.sandbox]\nwritable_paths = \"/srv\"\n",
         "parsing towerfile: line 5: app.sandbox.writable_paths must be an array of strings, got string"),
        ("[app.sandbox]\nwritable_paths = [\"srv\"]\n",
         'app.sandbox.writable_paths entry "srv" must be an absolute path'),
        ("[app.sandbox]\nwritable_paths = [\"/\"]\n", 'app.sandbox.writable_paths entry "/" must not be /'),
        ("[app.sandbox]\nwritable_paths = [\"/srv/\"]\n",
         'app.sandbox.writable_paths entry "/srv/" must be a clean path (no //, . or .. elements, or trailing /)'),
        ("[app.sandbox]\nwritable_paths = [\"/a//b\"]\n",
         'app.sandbox.writable_paths entry "/a//b" must be a clean path (no //, . or .. elements, or trailing /)'),
        ("[app.sandbox]\nwritable_paths = [\"/a/../b\"]\n",
         'app.sandbox.writable_paths entry "/a/../b" must be a clean path (no //, . or .. elements, or trailing /)'),
        ("[app.sandbox]\nwritable_paths = [\"/proc/1\"]\n",
         'app.sandbox.writable_paths entry "/proc/1" must not be under /proc, /sys or /dev'),
        ("[app.sandbox]\nwritable_paths = [\"/sys\"]\n",
         'app.sandbox.writable_paths entry "/sys" must not be under /proc, /sys or /dev'),
        ("[app.sandbox]\nwritable_paths = [\"/dev/shm\"]\n",
         'app.sandbox.writable_paths entry "/dev/shm" must not be under /proc, /sys or /dev'),
        ("[app.sandbox]\nwritable_paths = [\"/a\\tb\"]\n",
         'app.sandbox.writable_paths entry "/a\\tb" must not contain control characters'),
        ("[app.sandbox]\nwritable_paths = [\"/%s\"]\n" % ("x" * 1024),
         'app.sandbox.writable_paths entry "/%s" must be at most 1024 bytes' % ("x" * 1024)),
        ("[app.sandbox]\nwritable_paths = [%s]\n" % ",".join('"/p%d"' % i for i in range(17)),
         "app.sandbox.writable_paths must have at most 16 entries, got 17"),
        ("[app.resources]\nmemory_mb = 1.5\n",
         "parsing towerfile: line 5: app.resources.memory_mb must be an integer between 4 and 1048576, got float"),
        ("[app.resources]\nmemory_mb = 0\n",
         "app.resources.memory_mb must be an integer between 4 and 1048576, got 0"),
        ("[app.resources]\ncpus = 0\n",
         "app.resources.cpus must be a number greater than 0 and at most 1024 (at least 0.001), got 0"),
        ("[app.resources]\ncpus = 2000\n",
         "app.resources.cpus must be a number greater than 0 and at most 1024 (at least 0.001), got 2000"),
        ("[app.resources]\ncpus = \"1\"\n",
         "parsing towerfile: line 5: app.resources.cpus must be a number greater than 0 and at most 1024, got string"),
        ("[app.resources]\npids = 0\n", "app.resources.pids must be an integer between 1 and 4194304, got 0"),
        ("[app.resources]\ndisk_mb = 16777217\n",
         "app.resources.disk_mb must be an integer between 1 and 16777216, got 16777217"),
        ("[app.resources]\nopen_files = 8\n",
         "app.resources.open_files must be an integer between 16 and 1048576, got 8"),
    ]
    for extra, msg in cases:
        r = post_version(w, APP + extra)
        eq(r.error(), (400, "TOWERFILE_INVALID", "invalid Towerfile: " + msg), extra)
    eq(len(versions(w)), before, "nothing written")
    objs = os.path.join(s.dir, "objects", str(w.app_id))
    eq(len(os.listdir(objs)), before, "no artifact kept")


@test
def lease_carries_exactly_the_fields(s):
    w = World(s)
    rn, l = leased(s, w, {"input": {"k": "v"}})
    raw = l.data
    eq(list(l.json.keys()), [k for k in LEASE_KEYS if k in l.json])
    check(b"sandbox" not in raw and b"resources" not in raw, raw)
    rn.result(l.json["run_id"], l.json["lease_token"])
    w.upload(APP + SANDBOX + RESOURCES)
    rn, l = leased(s, w)
    keys = list(l.json.keys())
    eq(keys[-3:], ["lease_expires_at", "sandbox", "resources"])
    eq((l.json["sandbox"], l.json["resources"]), (WANT_SANDBOX, WANT_RESOURCES))
    check(l.data.endswith(b'"sandbox":{"network":false,"writable_paths":["/srv/cache","/var/tmp/x"]},'
                          b'"resources":{"memory_mb":256,"cpus":0.5,"pids":64,"disk_mb":100,'
                          b'"open_files":256}}\n'), l.data)
    rn.result(l.json["run_id"], l.json["lease_token"])
    w.upload(APP + "[app.sandbox]\n[app.resources]\npids = 8\n")
    rn, l = leased(s, w)
    check(l.data.endswith(b'"sandbox":{"network":true},"resources":{"pids":8}}\n'), l.data)
    rn.result(l.json["run_id"], l.json["lease_token"])


@test
def result_fields_stored(s):
    w = World(s)
    rn, rid, tok = started(s, w)
    r = rn.result(rid, tok, "failed", 137, error_message="killed", reason="oom_killed",
                  peak_memory_bytes=268435456, cpu_user_ms=1230, cpu_system_ms=100)
    eq(r.status, 200, r.text)
    a = attempts(w, rid)[0]
    eq(list(a.keys()), [k for k in RECORD_KEYS if k in a] +
       ["reason", "peak_memory_bytes", "cpu_user_ms", "cpu_system_ms"])
    eq((a["reason"], a["peak_memory_bytes"], a["cpu_user_ms"], a["cpu_system_ms"]),
       ("oom_killed", 268435456, 1230, 100))
    # a repeat compares status and exit_code only, and changes nothing
    eq(rn.result(rid, tok, "failed", 137, reason="disk_limit", peak_memory_bytes=1).status, 200)
    eq(attempts(w, rid)[0], a)
    eq(rn.result(rid, tok, "failed", 1).error()[0], 409)
    # some of the fields only
    rn, rid, tok = started(s, w)
    eq(rn.result(rid, tok, peak_memory_bytes=0).status, 200)
    a = attempts(w, rid)[0]
    eq((a["reason"], a["peak_memory_bytes"]), ("completed", 0))
    check("cpu_user_ms" not in a and "cpu_system_ms" not in a, a)


@test
def result_invalid_fields(s):
    w = World(s)
    rn, rid, tok = started(s, w)
    reasons = ("completed, exit_code, signal, timeout, lease_expired, released, cancelled, "
               "oom_killed, setup_failed, disk_limit")
    for extra, msg in [
            ({"reason": 5}, "reason must be one of " + reasons),
            ({"reason": "oom"}, "reason must be one of " + reasons),
            ({"reason": ""}, "reason must be one of " + reasons),
            ({"peak_memory_bytes": -1}, "peak_memory_bytes must be a non-negative integer"),
            ({"peak_memory_bytes": "1"}, "peak_memory_bytes must be a non-negative integer"),
            ({"peak_memory_bytes": 1.5}, "peak_memory_bytes must be a non-negative integer"),
            ({"cpu_user_ms": -5}, "cpu_user_ms must be a non-negative integer"),
            ({"cpu_user_ms": True}, "cpu_user_ms must be a non-negative integer"),
            ({"cpu_system_ms": -1}, "cpu_system_ms must be a non-negative integer"),
            ({"cpu_system_ms": [1]}, "cpu_system_ms must be a non-negative integer")]:
        eq(rn.result(rid, tok, **extra).error(), (400, "invalid_request", msg), extra)
    a = attempts(w, rid)[0]
    eq(a["status"], "running", "nothing written")
    check("reason" not in a and "peak_memory_bytes" not in a, a)
    # a bad field of an ended lease is still a 410 first
    eq(rn.result(rid, tok).status, 200)
    rn2, rid2, tok2 = started(s, w)
    eq(rn2.result(rid, tok2, reason="bogus").status, 410)
    rn2.result(rid2, tok2)


@test
def derived_reasons(s):
    w = World(s)
    for status, code, msg, want in [
            ("completed", 0, None, "completed"),
            ("failed", 3, "exit status 3", "exit_code"),
            ("failed", -1, "signal: killed", "signal"),
            ("failed", -1, "killed", "exit_code"),
            ("failed", None, "timeout", "timeout"),
            ("failed", 1, "timeout", "exit_code"),
            ("failed", None, "venv: pip failed", "setup_failed"),
            ("failed", None, None, "setup_failed")]:
        rn, rid, tok = started(s, w)
        extra = {"error_message": msg} if msg is not None else {}
        eq(rn.result(rid, tok, status, code, **extra).status, 200)
        eq(attempts(w, rid)[0]["reason"], want, (status, code, msg))
    # cancelled: the run is cancelled, the runner reports it
    rn, rid, tok = started(s, w)
    eq(w.cancel(rid).status, 200)
    eq(rn.result(rid, tok, "cancelled", None).status, 200)
    eq(attempts(w, rid)[0]["reason"], "cancelled")
    # a runner's reason wins
    rn, rid, tok = started(s, w)
    eq(rn.result(rid, tok, "failed", 1, reason="disk_limit").status, 200)
    eq(attempts(w, rid)[0]["reason"], "disk_limit")
    # released: the attempt ends, the run is queued again
    rn, l = leased(s, w)
    rid = l.json["run_id"]
    eq(rn.release(rid, l.json["lease_token"]).status, 200)
    a = attempts(w, rid)[0]
    eq((a["status"], a["reason"], a["error_message"]), ("expired", "released", "released"))
    drain(s)
    # an attempt still active has no reason
    rn, rid, tok = started(s, w)
    check("reason" not in attempts(w, rid)[0])
    rn.result(rid, tok)


@test
def runner_modes(s):
    w = World(s)
    c = s.client()

    def runners():
        r = c.call("GET", "/api/v1/admin/runners", token=w.token)
        eq(r.status, 200, r.text)
        return {x["name"]: x for x in r.json["runners"]}

    def reg(body):
        r = c.call("POST", "/api/v1/runners/register", body, token=REG_TOKEN)
        eq(r.status in (200, 201), True, r.text)
        return r.json["token"]

    tok = reg({"name": "modes-a", "sandbox": "bwrap", "limits": "cgroup-v1"})
    x = runners()["modes-a"]
    eq(list(x.keys())[-4:], ["sandbox", "limits", "slots", "slots_used"])   # slots: test_slots.py
    eq((x["sandbox"], x["limits"]), ("bwrap", "cgroup-v1"))
    reg({"name": "modes-b", "sandbox": "nsjail", "limits": 7})
    x = runners()["modes-b"]
    check("sandbox" not in x and "limits" not in x, x)
    lease = lambda body: c.call("POST", "/api/v1/runs/lease", body, token=tok)
    drain(s)
    # a lease body that is garbage, empty, not an object or of other values: as before
    for body in [None, b"", b"{", b"[1]", b"null", b"\"bwrap\"", b"\xff\xfe",
                 {"sandbox": 1, "limits": None}, {"sandbox": "BWRAP", "limits": "cgroup"}]:
        r = lease(body)
        eq((r.status, r.data), (204, b""), body)
    x = runners()["modes-a"]
    eq((x["sandbox"], x["limits"]), ("bwrap", "cgroup-v1"), "unchanged")
    eq(lease({"sandbox": "none", "limits": "rlimit", "other": 1}).status, 204)
    x = runners()["modes-a"]
    eq((x["sandbox"], x["limits"]), ("none", "rlimit"))
    eq(lease({"limits": "cgroup-v2"}).status, 204)
    x = runners()["modes-a"]
    eq((x["sandbox"], x["limits"]), ("none", "cgroup-v2"))
    # a lease body does not get in the way of a lease
    rid = w.create().json["run_id"]
    r = lease({"sandbox": "bwrap", "limits": "cgroup-v2"})
    eq((r.status, r.json["run_id"]), (200, rid))
    eq(runners()["modes-a"]["sandbox"], "bwrap")
    # a re-registration says afresh what is known
    reg({"name": "modes-a"})
    x = runners()["modes-a"]
    check("sandbox" not in x and "limits" not in x, x)


@test
def usage_histograms(s):
    w = World(s)
    rn, rid, tok = started(s, w)
    eq(rn.result(rid, tok, peak_memory_bytes=3 * 1048576, cpu_user_ms=1500, cpu_system_ms=500).status,
       200)
    rn, rid, tok = started(s, w)
    eq(rn.result(rid, tok, cpu_system_ms=20).status, 200)
    eq(rn.result(rid, tok, cpu_system_ms=20).status, 200)  # a repeat observes nothing
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % s.port, timeout=30).read().decode()
    got = samples(text, w.app, w.slug)
    check("# TYPE minitower_run_peak_memory_bytes histogram" in text, text)
    check("# TYPE minitower_run_cpu_seconds histogram" in text, text)
    mem, cpu = "minitower_run_peak_memory_bytes", "minitower_run_cpu_seconds"
    eq([got[(mem + "_bucket", 1048576 * 4 ** k)] for k in range(8)], [0] + [1] * 7)
    eq((got[(mem + "_bucket", float("inf"))], got[(mem + "_count", None)],
        got[(mem + "_sum", None)]), (1, 1, 3145728))
    eq([got[(cpu + "_bucket", le)] for le in (0.01, 0.05, 1, 5, 3600, float("inf"))],
       [0, 1, 1, 2, 2, 2])
    eq((got[(cpu + "_count", None)], round(got[(cpu + "_sum", None)], 6)), (2, 2.02))
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if os.path.exists(promtool):
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        eq(r.returncode, 0, r.stderr)


def samples(text, app, team):
    """{(name, le or None): value} of the series of one app of a scrape."""
    out = {}
    for ln in text.splitlines():
        m = re.match(r'^(\w+)\{(.*)\} (\S+)$', ln)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if labels.get("app") != app or labels.get("team") != team:
            continue
        le = labels.get("le")
        out[(m.group(1), float(le) if le is not None else None)] = float(m.group(3))
    return out


@test
def migration_columns(s):
    db = sqlite3.connect(os.path.join(s.dir, "mt.db"))
    cols = lambda t: [r[1] for r in db.execute("PRAGMA table_info(%s)" % t)]
    check({"sandbox_json", "resources_json"} <= set(cols("app_versions")))
    check({"reason", "peak_memory_bytes", "cpu_user_ms", "cpu_system_ms"} <= set(cols("run_attempts")))
    check({"sandbox_mode", "limits_mode"} <= set(cols("runners")))
    db.close()


@test
def reaper_reasons(_shared):
    """lease_expired and the reaper's cancel, on its own server with a 1 s lease TTL."""
    s = Server({"MINITOWER_LEASE_TTL": "1s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "100ms"})
    try:
        w = World(s)
        rid = w.create({"max_retries": 1}).json["run_id"]
        rn = Runner(s)
        l = rn.lease()
        eq(l.json["run_id"], rid)
        ok = wait_for(lambda: len(attempts(w, rid)) == 1 and attempts(w, rid)[0]["status"] == "expired")
        check(ok, attempts(w, rid))
        eq(attempts(w, rid)[0]["reason"], "lease_expired")
        rn2 = Runner(s)
        l = rn2.lease()
        eq(l.json["run_id"], rid)
        eq(rn2.start(rid, l.json["lease_token"]).status, 200)
        eq(w.cancel(rid).status, 200)
        ok = wait_for(lambda: attempts(w, rid)[-1]["status"] == "cancelled")
        check(ok, attempts(w, rid))
        eq(attempts(w, rid)[-1]["reason"], "cancelled")
    finally:
        rc = s.stop()
    eq(rc, 0)


if __name__ == "__main__":
    run_suite(tap)
