"""API tests of the runner protocol (api.md §1.8, §2): registration, lease
(with ?wait= long polls and re-issue), the lease prelude and its 410 fence,
start, heartbeat (with ?wait=, answered at once on cancel), logs, result
(repeats and races), release and the artifact download. Prints TAP."""

import hashlib
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import (REG_TOKEN, Runner, Tap, World, artifact, check, eq, line,  # noqa: E402
                         run_suite, wait_for)

tap = Tap()
test = tap.test
LEASE_KEYS = ["run_id", "run_no", "app_id", "app_slug", "version_no", "entrypoint",
              "timeout_seconds", "input", "attempt_id", "attempt_no", "lease_token",
              "lease_expires_at"]
ATTEMPT_KEYS = ["attempt_id", "attempt_no", "status", "lease_expires_at", "cancel_requested",
                "run_status"]


def order(obj, allowed):
    eq(list(obj.keys()), [k for k in allowed if k in obj], "field order")


def drain(s):
    r = Runner(s)
    for _ in range(1000):
        l = r.lease()
        if l.status != 200:
            break
        r.result(l.json["run_id"], l.json["lease_token"])


@test
def register(s):
    c = s.client()
    reg = lambda body, tok=REG_TOKEN: c.call("POST", "/api/v1/runners/register", body, token=tok)
    eq(reg({"name": "x"}, "wrong").error(), (401, "unauthorized", "invalid or missing token"))
    eq(c.call("GET", "/api/v1/runners/register").status, 405)
    eq(reg(b"{").error(), (400, "invalid_request", "invalid JSON body"))
    eq(reg({"name": 5}).error(), (400, "invalid_request", "invalid JSON body"))
    eq(reg({"name": ""}).error(), (400, "invalid_request", "name is required"))
    eq(reg({}).error(), (400, "invalid_request", "name is required"))
    eq(reg({"name": "a\u0000b"}).error(), (400, "invalid_request", "name must not contain NUL characters"))
    eq(reg({"name": "ok", "environment": "e\u0000"}).error(),
       (400, "invalid_request", "environment must not contain NUL characters"))
    r1 = reg({"name": " spaced runner "})
    eq(r1.status, 201, r1.text)
    order(r1.json, ["runner_id", "name", "token"])
    eq(r1.json["name"], " spaced runner ")
    check(r1.json["token"].startswith("mtr_") and len(r1.json["token"]) == 47, r1.text)
    eq(c.call("POST", "/api/v1/runs/lease", token=r1.json["token"]).status, 204)  # now cached
    r2 = reg({"Name": " spaced runner ", "environment": "gpu"})
    eq((r2.status, r2.json["runner_id"]), (200, r1.json["runner_id"]))
    eq(c.call("POST", "/api/v1/runs/lease", token=r1.json["token"]).status, 401)
    eq(c.call("POST", "/api/v1/runs/lease", token=r2.json["token"]).status, 204)


@test
def lease_response_and_reissue(s):
    tf = '[app]\nname = "lease"\nscript = "main.py"\n[app.timeout]\nseconds = 42\n'
    w = World(s, towerfile=tf)
    rid = w.create({"input": {"k": "v"}}).json["run_id"]
    rn = Runner(s)
    l = rn.lease()
    eq(l.status, 200, l.text)
    order(l.json, LEASE_KEYS)
    eq((l.json["run_id"], l.json["entrypoint"], l.json["timeout_seconds"], l.json["input"],
        l.json["attempt_no"], l.json["app_slug"]), (rid, "main.py", 42, {"k": "v"}, 1, w.app))
    eq(len(l.json["lease_token"]), 43)
    eq(l.header("X-Lease-Remaining-Ms"), "60000")
    # the lease token is stored hashed only
    import sqlite3
    db = sqlite3.connect(os.path.join(s.dir, "mt.db"))
    h = db.execute("SELECT lease_token_hash FROM run_attempts WHERE run_id=?", (rid,)).fetchone()[0]
    eq(h, hashlib.sha256(l.json["lease_token"].encode()).hexdigest())
    db.close()
    eq(w.run(rid).json["status"], "leased")
    # lost response: the same attempt comes back with a new token
    l2 = rn.lease()
    eq((l2.status, l2.json["attempt_id"], l2.json["attempt_no"]), (200, l.json["attempt_id"], 1))
    check(l2.json["lease_token"] != l.json["lease_token"], "new token")
    eq(rn.start(rid, l.json["lease_token"]).error(), (410, "gone", "invalid or expired lease"))
    eq(rn.start(rid, l2.json["lease_token"]).status, 200)
    eq(rn.lease().error(), (409, "conflict", "runner already has an active lease"))
    eq(rn.lease(wait=5).error(), (409, "conflict", "runner already has an active lease"))
    rn.result(rid, l2.json["lease_token"])
    eq(rn.lease().status, 204)
    eq(rn.lease(wait="-1").error(), (400, "invalid_request", "wait must be a non-negative integer"))
    eq(rn.lease(wait="x").error(), (400, "invalid_request", "wait must be a non-negative integer"))
    eq(len([x for x in s.logs("run leased") if x["run_id"] == rid]), 1)


@test
def lease_order_priority(s):
    w = World(s)
    a = w.create({"priority": 1}).json["run_id"]
    b = w.create({"priority": 5}).json["run_id"]
    c = w.create({"priority": 5}).json["run_id"]
    d = w.create({"priority": -1}).json["run_id"]
    x = w.create({"priority": 9}).json["run_id"]
    w.cancel(x)
    got = []
    for _ in range(4):
        rn = Runner(s)
        l = rn.lease().json
        got.append(l["run_id"])
        rn.result(l["run_id"], l["lease_token"])
    eq(got, [b, c, a, d])
    other = Runner(s, env="gpu")
    w.create()
    eq(other.lease().status, 204)
    drain(s)


@test
def long_poll_lease(s):
    w = World(s)
    rns = [Runner(s) for _ in range(3)]
    out = {}

    def poll(i):
        out[i] = rns[i].lease(wait=30)
    ts = [threading.Thread(target=poll, args=(i,)) for i in range(3)]
    [t.start() for t in ts]
    time.sleep(0.3)   # let them park (a missed park would only make the test slower)
    ids = [w.create().json["run_id"] for _ in range(3)]
    [t.join(40) for t in ts]
    eq(sorted(r.json["run_id"] for r in out.values()), sorted(ids))
    for i, r in out.items():
        rns[i].result(r.json["run_id"], r.json["lease_token"])
    t0 = time.time()
    r = rns[0].lease(wait=1)
    eq(r.status, 204)
    eq(r.header("Content-Type"), "application/json")
    eq(r.data, b"")
    check(time.time() - t0 >= 0.9, "waited")


@test
def gone_waiter_leases_nothing(s):
    # A runner whose waiting lease request has hung up must not be handed a
    # run (api.md §1.8.2): the run stays for the next runner, as attempt 1.
    w = World(s)
    gone = Runner(s)
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(("POST /api/v1/runs/lease?wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n" % gone.token).encode())
    time.sleep(0.3)   # let it park (a missed park only makes the check weaker)
    sock.close()
    time.sleep(0.2)
    rid = w.create().json["run_id"]
    time.sleep(0.5)   # let the woken waiter run
    l = Runner(s).lease()
    eq(l.status, 200, l.text)
    eq((l.json["run_id"], l.json["attempt_no"]), (rid, 1))
    atts = s.client().call("GET", "/api/v1/runs/%d/attempts" % rid, token=w.token)
    eq(len(atts.json["attempts"]) if "attempts" in atts.json else len(atts.json), 1, atts.text)


@test
def prelude_fencing(s):
    w = World(s)
    rid = w.create().json["run_id"]
    rn, other = Runner(s), Runner(s)
    tok = rn.lease().json["lease_token"]
    gone = (410, "gone", "invalid or expired lease")
    for action, method in (("start", "POST"), ("heartbeat", "POST"), ("logs", "POST"),
                           ("result", "POST"), ("artifact", "GET"), ("release", "POST")):
        eq(rn.call(action, rid, None, method=method, body={}).error(),
           (400, "invalid_request", "missing lease token"), action)
        eq(rn.call(action, rid, "bogus-token", method=method, body={}).error(), gone, action)
        eq(other.call(action, rid, tok, method=method, body={}).error(), gone, action + " foreign")
        eq(rn.call(action, rid + 1000, tok, method=method, body={}).error(), gone, action)
        eq(rn.c.call(method, "/api/v1/runs/abc/" + action, {}, token=rn.token, lease=tok).error(),
           (400, "invalid_request", "invalid run ID"))
        eq(rn.c.call(method, "/api/v1/runs/%d/%s" % (rid, action), {}, lease=tok).status, 401)
    # the lease check comes before the body and the query
    eq(other.call("logs", rid, tok, body=b"{").error(), gone)
    eq(other.call("heartbeat", rid, tok, query="?wait=x").error(), gone)
    eq(rn.call("heartbeat", rid, tok, query="?wait=x").error(),
       (400, "invalid_request", "wait must be a non-negative integer"))
    rn.result(rid, tok)
    for action, method in (("start", "POST"), ("heartbeat", "POST"), ("logs", "POST"),
                           ("artifact", "GET"), ("release", "POST")):
        eq(rn.call(action, rid, tok, method=method, body={"logs": [line(9, "x")]}).error(),
           gone, action + " after result")
    eq(len(w.logs(rid).json["logs"]), 0)


@test
def start_and_heartbeat(s):
    w = World(s)
    rid = w.create().json["run_id"]
    rn = Runner(s)
    l = rn.lease().json
    tok = l["lease_token"]
    st = rn.start(rid, tok)
    eq(st.status, 200)
    order(st.json, ATTEMPT_KEYS)
    eq((st.json["status"], st.json["run_status"], st.json["cancel_requested"]),
       ("running", "running", False))
    eq(st.json["lease_expires_at"], l["lease_expires_at"], "start does not extend")
    check(0 <= int(st.header("X-Lease-Remaining-Ms")) <= 60000, st.headers)
    eq(rn.start(rid, tok).json["status"], "running")
    r = w.run(rid).json
    eq(r["status"], "running")
    check("started_at" in r, r)
    hb = rn.heartbeat(rid, tok)
    eq(hb.status, 200)
    eq(hb.header("X-Lease-Remaining-Ms"), "60000")
    check(hb.json["lease_expires_at"] >= l["lease_expires_at"], hb.text)
    # a waiting heartbeat answers as soon as the run is cancelled
    res = {}
    t = threading.Thread(target=lambda: res.setdefault("r", rn.heartbeat(rid, tok, wait=20)))
    t0 = time.time()
    t.start()
    time.sleep(0.3)
    w.cancel(rid)
    t.join(25)
    eq((res["r"].status, res["r"].json["cancel_requested"], res["r"].json["status"]),
       (200, True, "cancelling"))
    check(time.time() - t0 < 15, "answered before its wait ended")
    r = rn.heartbeat(rid, tok, wait=20)     # cancel requested: at once
    eq(r.json["run_status"], "cancelling")
    eq(rn.result(rid, tok, "cancelled", None).status, 200)
    eq(w.run(rid).json["status"], "cancelled")


@test
def heartbeat_wait_ends_with_410_on_release(s):
    w = World(s)
    rid = w.create().json["run_id"]
    rn = Runner(s)
    tok = rn.lease().json["lease_token"]
    rn.start(rid, tok)
    res = {}
    t = threading.Thread(target=lambda: res.setdefault("r", rn.heartbeat(rid, tok, wait=20)))
    t.start()
    time.sleep(0.3)
    other = Runner(s)
    other.c = rn.c.__class__(s.port)
    other.token, other.id = rn.token, rn.id
    eq(other.release(rid, tok).status, 200)
    t.join(25)
    eq(res["r"].error(), (410, "gone", "invalid or expired lease"))
    eq(w.run(rid).json["status"], "queued")
    drain(s)


@test
def logs_validation(s):
    w = World(s)
    rid = w.create().json["run_id"]
    rn = Runner(s)
    tok = rn.lease().json["lease_token"]
    bad = lambda body: rn.call("logs", rid, tok, body).error()
    eq(bad(b"{"), (400, "invalid_request", "invalid JSON body"))
    eq(bad({"logs": "x"}), (400, "invalid_request", "invalid JSON body"))
    eq(bad({"logs": [line(i + 1, "x") for i in range(101)]}),
       (400, "invalid_request", "max 100 logs per batch"))
    eq(bad({"logs": [line(1, "ok"), line(0, "x")]}),
       (400, "invalid_request", "seq must be a positive integer"))
    eq(bad({"logs": [line(1, "x", "stdin")]}), (400, "invalid_request", "stream must be stdout or stderr"))
    eq(bad({"logs": [line(1, "x" * 8193)]}), (400, "invalid_request", "log line exceeds 8KB"))
    eq(bad({"logs": [line(1, "a\u0000b")]}),
       (400, "invalid_request", "log line must not contain NUL characters"))
    eq(w.logs(rid).json["logs"], [])
    eq(rn.call("logs", rid, tok, {}).text, '{"status":"ok"}\n')
    eq(rn.call("logs", rid, tok, {"logs": []}).status, 200)
    eq(rn.log(rid, tok, [line(1, "x" * 8192), {"seq": 2, "stream": "stderr", "line": "t",
                                               "logged_at": "2026-01-02T03:04:05.678+01:00"},
                         {"seq": 3, "stream": "stdout", "line": "u", "logged_at": "garbage"}]).status, 200)
    got = w.logs(rid).json["logs"]
    eq(got[1]["logged_at"], "2026-01-02T02:04:05.678Z")
    check(got[2]["logged_at"] > "2026", got[2])
    rn.result(rid, tok)


@test
def result_rules(s):
    w = World(s)
    rid = w.create().json["run_id"]
    rn = Runner(s)
    tok = rn.lease().json["lease_token"]
    eq(rn.call("result", rid, tok, b"{").error(), (400, "invalid_request", "invalid JSON body"))
    eq(rn.call("result", rid, tok, {"status": "dead"}).error(),
       (400, "invalid_request", "status must be completed, failed, or cancelled"))
    eq(rn.call("result", rid, tok, {"status": "failed", "exit_code": "1"}).error(),
       (400, "invalid_request", "invalid JSON body"))
    eq(rn.call("result", rid, tok, {"status": "failed", "error_message": "a\u0000"}).error(),
       (400, "invalid_request", "error_message must not contain NUL characters"))
    # leased -> completed without start: started_at stays unset
    eq(rn.result(rid, tok, "completed", 3).text, '{"status":"ok"}\n')
    r = w.run(rid).json
    eq(r["status"], "completed")
    check("started_at" not in r and "finished_at" in r, r)
    eq(rn.result(rid, tok, "completed", 3, error_message="other").status, 200)
    eq(rn.result(rid, tok, "completed", 4).error(),
       (409, "conflict", "result conflicts with attempt state"))
    eq(rn.result(rid, tok, "failed", 3).error(), (409, "conflict", "result conflicts with attempt state"))
    eq(rn.result(rid, tok, "completed", None).error(),
       (409, "conflict", "result conflicts with attempt state"))
    eq(rn.call("result", rid, tok, b"{").error(), (400, "invalid_request", "invalid JSON body"))
    eq(Runner(s).result(rid, tok).error(), (410, "gone", "invalid or expired lease"))
    eq(len([x for x in s.logs("run finished") if x["run_id"] == rid]), 1)


@test
def cancel_result_race_both_orders(s):
    w = World(s)
    rn = Runner(s)
    a = w.create().json["run_id"]
    tok = rn.lease().json["lease_token"]
    rn.start(a, tok)
    eq(rn.result(a, tok).status, 200)          # result first
    r = w.cancel(a)
    eq((r.status, r.json["status"]), (200, "completed"))
    b = w.create().json["run_id"]
    tok = rn.lease().json["lease_token"]
    rn.start(b, tok)
    eq(w.cancel(b).json["status"], "cancelling")   # cancel first
    eq(rn.result(b, tok, "failed", 1).error(), (409, "conflict", "run is being cancelled"))
    eq(w.run(b).json["status"], "cancelling")
    eq(rn.result(b, tok, "cancelled", None).status, 200)
    eq(w.run(b).json["status"], "cancelled")


@test
def release_rules(s):
    w = World(s)
    rid = w.create({"max_retries": 0}).json["run_id"]
    rn = Runner(s)
    l = rn.lease().json
    rn.start(rid, l["lease_token"])
    q_before = w.run(rid).json["queued_at"]
    eq(rn.release(rid, l["lease_token"]).text, '{"status":"ok"}\n')
    r = w.run(rid).json
    eq((r["status"], r["retry_count"]), ("queued", 0))
    check("started_at" in r and r["queued_at"] >= q_before, r)
    eq(rn.release(rid, l["lease_token"]).error(), (410, "gone", "invalid or expired lease"))
    eq(rn.result(rid, l["lease_token"]).error(), (410, "gone", "invalid or expired lease"))
    l2 = rn.lease().json
    eq((l2["run_id"], l2["attempt_no"]), (rid, 2))
    w.cancel(rid)
    eq(rn.release(rid, l2["lease_token"]).status, 200)
    eq(w.run(rid).json["status"], "cancelled")
    # a released run wakes a waiting lease
    rid2 = w.create().json["run_id"]
    l3 = rn.lease().json
    other = Runner(s)
    res = {}
    t = threading.Thread(target=lambda: res.setdefault("r", other.lease(wait=20)))
    t.start()
    time.sleep(0.3)
    rn.release(rid2, l3["lease_token"])
    t.join(25)
    eq(res["r"].json["run_id"], rid2)
    other.result(rid2, res["r"].json["lease_token"])


@test
def artifact_download(s):
    tf = ('[app]\nname = "art"\nscript = "main.py"\nimport_paths = ["./lib"]\n'
          '[app.timeout]\nseconds = 7\n')
    w = World(s, towerfile=tf, files={"lib/x.py": "X = 1\n"})
    blob = artifact(tf, {"lib/x.py": "X = 1\n"})
    rid = w.create().json["run_id"]
    rn = Runner(s)
    tok = rn.lease().json["lease_token"]
    a = rn.artifact(rid, tok)
    eq(a.status, 200)
    eq(a.header("Content-Type"), "application/gzip")
    eq(a.header("X-Entrypoint"), "main.py")
    eq(a.header("X-Timeout-Seconds"), "7")
    eq(a.header("X-Import-Paths"), '["./lib"]')
    eq(a.header("X-Artifact-SHA256"), hashlib.sha256(a.data).hexdigest())
    eq(len(a.data) > 0 and a.data[:2], b"\x1f\x8b")
    check(len(blob) > 0, "blob")
    rn.result(rid, tok)
    w2 = World(s)
    rid = w2.create().json["run_id"]
    tok = rn.lease().json["lease_token"]
    a = rn.artifact(rid, tok)
    check(a.header("X-Timeout-Seconds") is None and a.header("X-Import-Paths") is None, a.headers)
    rn.result(rid, tok)


@test
def zz_shutdown_answers_waiters(s):
    """Last test: SIGTERM answers a waiting lease (204) and a waiting
    heartbeat (200), and closes an event stream without an end event."""
    import http.client
    import signal
    w = World(s)
    rid = w.create().json["run_id"]
    rn, idle = Runner(s), Runner(s)
    tok = rn.lease().json["lease_token"]
    rn.start(rid, tok)
    out = {}
    threads = [threading.Thread(target=lambda: out.setdefault("lease", idle.lease(wait=50))),
               threading.Thread(target=lambda: out.setdefault("hb", rn.heartbeat(rid, tok, wait=20)))]
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    conn.request("GET", "/api/v1/runs/%d/logs/stream" % rid, headers={"Authorization": "Bearer " + w.token})
    resp = conn.getresponse()
    eq(resp.status, 200)
    [t.start() for t in threads]
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    [t.join(30) for t in threads]
    body = resp.read().decode()
    conn.close()
    eq(out["lease"].status, 204)
    eq((out["hb"].status, out["hb"].json["status"]), (200, "running"))
    check("event: status" in body and "event: end" not in body, body)
    eq(s.proc.wait(30), 0)


if __name__ == "__main__":
    run_suite(tap)
