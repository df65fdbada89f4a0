"""API tests of the team side of runs (api.md §1.6, §1.7): creation with its
checks, idempotency keys and defaults, lists, summary, cancel, log reads,
attempts, the admin runner list, and the event stream. Prints TAP."""

import http.client
import json
import os
import sqlite3
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import (Runner, Server, Tap, World, check, eq, line,  # noqa: E402
                         run_suite, wait_for)

tap = Tap()
test = tap.test
RUN_KEYS = ["run_id", "app_id", "app_slug", "run_no", "version_no", "status", "input", "priority",
            "max_retries", "retry_count", "cancel_requested", "queued_at", "started_at",
            "finished_at"]


def keys_in_order(obj, allowed):
    ks = list(obj.keys())
    eq(ks, [k for k in allowed if k in obj], "field order")


def drain_queue(s):
    """Leases and completes whatever is queued, so runner tests start clean."""
    r = Runner(s)
    for _ in range(1000):
        l = r.lease()
        if l.status != 200:
            break
        r.result(l.json["run_id"], l.json["lease_token"])


@test
def create_defaults_and_shape(s):
    w = World(s)
    r = w.create()
    eq(r.status, 201, r.text)
    j = r.json
    keys_in_order(j, RUN_KEYS)
    eq(j["status"], "queued")
    eq(j["run_no"], 1)
    eq(j["version_no"], 1)
    eq(j["app_slug"], w.app)
    check("input" not in j and "started_at" not in j and "finished_at" not in j, r.text)
    eq((j["priority"], j["max_retries"], j["retry_count"], j["cancel_requested"]), (0, 0, 0, False))
    check(r.data.endswith(b"}\n") and b" " not in r.data, "compact JSON with newline")
    r2 = w.create({"input": {"b": 1.0, "a": [1, {"z": 1, "y": 2}]}, "priority": -5, "max_retries": 3})
    eq(r2.status, 201, r2.text)
    check(b'"input":{"a":[1,{"y":2,"z":1}],"b":1}' in r2.data, r2.text)
    eq((r2.json["run_no"], r2.json["priority"], r2.json["max_retries"]), (2, -5, 3))
    eq(w.create(b"").status, 201)
    eq(w.create(b"null").status, 201)
    eq(w.create({"input": {}}).json.get("input"), None)
    drain_queue(s)


@test
def create_errors(s):
    w = World(s)
    c = lambda body, **kw: w.create(body, **kw).error()
    eq(c(b"{"), (400, "invalid_request", "malformed JSON body"))
    eq(c({"input": [1]}), (400, "invalid_request", "malformed JSON body"))
    eq(c({"input": "x"}), (400, "invalid_request", "malformed JSON body"))
    eq(c({"version_no": "1"}), (400, "invalid_request", "malformed JSON body"))
    pmsg = (400, "invalid_request", "priority must be between -2147483648 and 2147483647")
    eq(c({"priority": 2147483648}), pmsg)
    eq(c({"priority": 1.0}), pmsg)
    eq(c({"priority": "1"}), pmsg)
    eq(w.create({"priority": -2147483648}).status, 201)
    mmsg = (400, "invalid_request", "max_retries must be between 0 and 1000")
    eq(c({"max_retries": -1}), mmsg)
    eq(c({"max_retries": 1001}), mmsg)
    eq(c({"max_retries": 1e0}), mmsg)
    eq(c({"input": {"x": "a" * 1048576}}), (400, "invalid_request", "input exceeds 1 MiB"))
    eq(c({"version_no": 2}), (404, "not_found", "version not found"))
    eq(c({"version_no": 0}), (404, "not_found", "version not found"))
    eq(c({"version_no": -1}), (404, "not_found", "version not found"))
    eq(w.create({"version_no": 1}).status, 201)
    r = w.c.call("POST", "/api/v1/apps/nosuchapp/runs", {}, token=w.token)
    eq(r.error(), (404, "not_found", "app not found"))
    eq(c({}, headers={"Idempotency-Key": "x" * 256}),
       (400, "invalid_request", "Idempotency-Key must be 1 to 255 printable ASCII characters"))
    # an app without versions
    r = w.c.call("POST", "/api/v1/apps", {"slug": "empty-" + w.app[3:]}, token=w.token)
    r = w.c.call("POST", "/api/v1/apps/%s/runs" % r.json["slug"], {}, token=w.token)
    eq(r.error(), (400, "no_version", "app has no versions"))
    drain_queue(s)


@test
def schema_validation_and_defaults(s):
    tf = ('[app]\nname = "xyz"\nscript = "main.py"\n'
          '[[parameters]]\nname = "name"\ndefault = "World"\n'
          '[[parameters]]\nname = "count"\ntype = "integer"\n')
    w = World(s, towerfile=tf)
    r = w.create()
    eq(r.status, 201, r.text)
    eq(r.json["input"], {"name": "World"})
    r = w.create({"input": {"name": "Ann", "count": 3}})
    eq(r.json["input"], {"count": 3, "name": "Ann"})
    eq(w.create({"input": {"count": "3"}}).error(),
       (400, "invalid_request", "input does not match schema: $.count has invalid type"))
    eq(w.create({"input": {"name": None}}).error(),
       (400, "invalid_request", "input does not match schema: $.name has invalid type"))
    drain_queue(s)


@test
def idempotency_keys(s):
    w = World(s)
    h = {"Idempotency-Key": "  key-1  "}
    r1 = w.create({"input": {"a": 1, "b": 2}, "priority": 0}, headers=h)
    eq(r1.status, 201, r1.text)
    check(r1.header("Idempotent-Replayed") is None, "no replay header on 201")
    r2 = w.create(b'{ "Priority": 0,"input":{"b":2,"a":1.0} }', headers={"Idempotency-Key": "key-1"})
    eq(r2.status, 200, r2.text)
    eq(r2.header("Idempotent-Replayed"), "true")
    eq(r2.json["run_id"], r1.json["run_id"])
    r3 = w.create({"input": {"a": 2}}, headers=h)
    eq(r3.error(), (409, "idempotency_conflict",
                    "Idempotency-Key was already used with a different request"))
    eq(w.create({}, headers={"Idempotency-Key": "   "}).status, 201)
    # concurrent requests with one key: one 201, the others replay
    out = []

    def go():
        c = s.client()
        out.append(w.create({"max_retries": 2}, headers={"Idempotency-Key": "race"}, client=c))
        c.close()
    ts = [threading.Thread(target=go) for _ in range(6)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    eq(sorted(r.status for r in out), [200] * 5 + [201])
    eq(len({r.json["run_id"] for r in out}), 1)
    drain_queue(s)


@test
def lists_and_summary(s):
    w = World(s)
    ids = [w.create({"priority": i}).json["run_id"] for i in range(5)]
    r = w.c.call("GET", "/api/v1/apps/%s/runs?limit=2" % w.app, token=w.token)
    eq([x["run_no"] for x in r.json["runs"]], [5, 4])
    r = w.c.call("GET", "/api/v1/apps/%s/runs?limit=2&offset=2" % w.app, token=w.token)
    eq([x["run_no"] for x in r.json["runs"]], [3, 2])
    r = w.c.call("GET", "/api/v1/apps/%s/runs?limit=0" % w.app, token=w.token)
    eq(len(r.json["runs"]), 1)
    r = w.c.call("GET", "/api/v1/apps/%s/runs?limit=99999999999999999999999&offset=-4" % w.app,
                 token=w.token)
    eq(len(r.json["runs"]), 5)
    eq(w.c.call("GET", "/api/v1/apps/%s/runs?limit=x" % w.app, token=w.token).error(),
       (400, "invalid_request", "limit must be an integer"))
    eq(w.c.call("GET", "/api/v1/runs?offset=1.5", token=w.token).error(),
       (400, "invalid_request", "offset must be an integer"))
    eq(w.c.call("GET", "/api/v1/runs?status=bogus", token=w.token).error(),
       (400, "invalid_request", "invalid status filter"))
    eq(w.c.call("GET", "/api/v1/runs?status=%00", token=w.token).error(),
       (400, "invalid_request", "invalid status filter"))
    eq(w.c.call("GET", "/api/v1/runs?app=%00", token=w.token).error(),
       (400, "invalid_request", "invalid app filter"))
    eq(w.c.call("GET", "/api/v1/apps/nope/runs", token=w.token).error(),
       (404, "not_found", "app not found"))
    # status rank order: one running, one cancelled, rest queued
    rn = Runner(s)
    l = rn.lease().json          # highest priority: ids[4]
    eq(l["run_id"], ids[4])
    rn.start(l["run_id"], l["lease_token"])
    w.cancel(ids[0])
    r = w.c.call("GET", "/api/v1/runs?app=%20" + w.app + "%20", token=w.token)
    eq([x["run_id"] for x in r.json["runs"]], [ids[4], ids[3], ids[2], ids[1], ids[0]])
    eq([x["status"] for x in r.json["runs"]], ["running", "queued", "queued", "queued", "cancelled"])
    r = w.c.call("GET", "/api/v1/runs?status=queued&limit=2", token=w.token)
    eq([x["run_id"] for x in r.json["runs"]], [ids[3], ids[2]])
    eq(w.c.call("GET", "/api/v1/runs?app=unknown", token=w.token).json, {"runs": []})
    r = w.c.call("GET", "/api/v1/runs/summary", token=w.token)
    eq(r.text, '{"total_runs":5,"active_runs":1,"queued_runs":3,"terminal_runs":1}\n')
    rn.result(l["run_id"], l["lease_token"])
    other = World(s)
    eq(other.c.call("GET", "/api/v1/runs", token=other.token).json, {"runs": []})
    eq(other.run(ids[0]).error(), (404, "not_found", "run not found"))
    drain_queue(s)


@test
def get_run_and_ids(s):
    w = World(s)
    rid = w.create().json["run_id"]
    eq(w.run(rid).json["run_id"], rid)
    eq(w.c.call("GET", "/api/v1/runs/%d/" % rid, token=w.token).status, 200)
    eq(w.c.call("GET", "/api/v1/runs/+%d" % rid, token=w.token).status, 200)
    for bad in ("abc", "0", "1.5", "%20" + str(rid)):
        eq(w.c.call("GET", "/api/v1/runs/" + bad, token=w.token).error(),
           (400, "invalid_request", "invalid run ID"))
    eq(w.c.call("GET", "/api/v1/runs/-3", token=w.token).error(), (404, "not_found", "run not found"))
    eq(w.c.call("GET", "/api/v1/runs/%d" % rid).status, 401)
    drain_queue(s)


@test
def cancel_transitions(s):
    w = World(s)
    q = w.create().json["run_id"]
    r = w.cancel(q)
    eq((r.status, r.json["status"], r.json["cancel_requested"]), (200, "cancelled", True))
    check("finished_at" in r.json, r.text)
    r2 = w.cancel(q)
    eq(r2.json, r.json)
    leased = w.create().json["run_id"]
    rn = Runner(s)
    l = rn.lease().json
    eq(l["run_id"], leased)
    r = w.cancel(leased)
    eq((r.json["status"], r.json["cancel_requested"]), ("cancelling", True))
    st = rn.start(leased, l["lease_token"])
    eq((st.status, st.json["status"], st.json["cancel_requested"], st.json["run_status"]),
       (200, "cancelling", True, "cancelling"))
    eq(w.cancel(leased).json["status"], "cancelling")
    eq(rn.result(leased, l["lease_token"], "completed").error(),
       (409, "conflict", "run is being cancelled"))
    eq(rn.result(leased, l["lease_token"], "cancelled").status, 200)
    eq(w.run(leased).json["status"], "cancelled")
    done = w.create().json["run_id"]
    l = rn.lease().json
    rn.result(done, l["lease_token"])
    r = w.cancel(done)
    eq((r.status, r.json["status"], r.json["cancel_requested"]), (200, "completed", False))
    eq(w.c.call("POST", "/api/v1/runs/99999999/cancel", token=w.token).error(),
       (404, "not_found", "run not found"))
    eq(len([x for x in s.logs("run cancel requested") if x["run_id"] == leased]), 1)
    # run finished carries attempt_no unless the run was never leased
    # (observability.md §2.2): a released run cancelled while queued names
    # its last attempt.
    finished = lambda rid: [x for x in s.logs("run finished") if x["run_id"] == rid]
    check(wait_for(lambda: finished(q)), "run finished logged")
    check("attempt_no" not in finished(q)[0], finished(q))
    back = w.create().json["run_id"]
    l = rn.lease().json
    eq(rn.release(back, l["lease_token"]).status, 200)
    eq(w.cancel(back).json["status"], "cancelled")
    check(wait_for(lambda: finished(back)), "run finished logged")
    eq((finished(back)[0].get("attempt_no"), finished(back)[0]["reason"]), (1, "cancel"))


@test
def log_reads(s):
    w = World(s)
    rid = w.create().json["run_id"]
    eq(w.logs(rid).text, '{"logs":[]}\n')
    eq(w.logs(rid).header("Content-Type"), "application/json")
    eq(w.logs(rid, "?attempt=1").error(), (404, "not_found", "attempt not found"))
    rn = Runner(s)
    l = rn.lease().json
    tok = l["lease_token"]
    eq(rn.log(rid, tok, [line(2, "b"), line(1, "a"), line(3, "c", "stderr")]).text,
       '{"status":"ok"}\n')
    eq(rn.log(rid, tok, [line(2, "changed"), line(4, "d")]).status, 200)
    j = w.logs(rid).json["logs"]
    eq([(x["seq"], x["line"]) for x in j], [(1, "a"), (2, "b"), (3, "c"), (4, "d")])
    keys_in_order(j[0], ["seq", "stream", "line", "logged_at"])
    eq(j[2]["stream"], "stderr")
    eq([x["seq"] for x in w.logs(rid, "?after_seq=2").json["logs"]], [3, 4])
    eq(w.logs(rid, "?attempt=0").error(), (400, "invalid_request", "attempt must be a positive integer"))
    eq(w.logs(rid, "?attempt=x&after_seq=-1").error(),
       (400, "invalid_request", "attempt must be a positive integer"))
    eq(w.logs(rid, "?after_seq=-1").error(),
       (400, "invalid_request", "after_seq must be a non-negative integer"))
    eq(w.logs(rid, "?after_seq=99999999999999999999").error(),
       (400, "invalid_request", "after_seq must be a non-negative integer"))
    eq(w.logs(rid, "?attempt=2").error(), (404, "not_found", "attempt not found"))
    # a second attempt: the latest is shown by default, the first with ?attempt=1
    eq(rn.release(rid, tok).status, 200)
    l2 = rn.lease().json
    eq(l2["attempt_no"], 2)
    rn.log(rid, l2["lease_token"], [line(1, "second")])
    eq([x["line"] for x in w.logs(rid).json["logs"]], ["second"])
    eq(len(w.logs(rid, "?attempt=1").json["logs"]), 4)
    rn.result(rid, l2["lease_token"])
    # a big attempt is paged internally but returned whole
    rid2 = w.create().json["run_id"]
    l3 = rn.lease().json
    for b in range(25):
        rn.log(rid2, l3["lease_token"], [line(b * 100 + i + 1, "x%d" % (b * 100 + i + 1))
                                         for i in range(100)])
    r = w.logs(rid2)
    eq(r.header("Transfer-Encoding"), "chunked")     # streamed, not built in memory
    eq(r.header("Content-Type"), "application/json")
    check(r.text.endswith("]}\n"), r.text[-10:])
    got = r.json["logs"]
    eq(len(got), 2500)
    eq([x["seq"] for x in got], list(range(1, 2501)))
    eq(len(w.logs(rid2, "?after_seq=1500").json["logs"]), 1000)
    rn.result(rid2, l3["lease_token"])


@test
def logs_read_error_after_first_page_closes_the_connection(s):
    """api.md §1.6.8: a database error after the first page of a streamed log
    read closes the connection instead of ending the JSON. A private server;
    the table pages of the last rows are overwritten on disk while the first
    pages are still in flight, so the reader fails on a real SQLite error."""
    srv = Server()
    try:
        w = World(srv)
        rn = Runner(srv)
        rid = w.create().json["run_id"]
        l = rn.lease().json
        text = "y" * 8000          # 2,500 lines of 8,000 bytes: about 20 MB of JSON
        for b in range(25):
            r = rn.log(rid, l["lease_token"], [line(b * 100 + i + 1, text) for i in range(100)])
            eq(r.status, 200, r.text)
        eq(rn.result(rid, l["lease_token"]).status, 200)
        path = os.path.join(srv.dir, "mt.db")
        db = sqlite3.connect(path)
        eq(db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0], 0, "checkpoint")
        psize = db.execute("PRAGMA page_size").fetchone()[0]
        pages = [p for (p,) in db.execute(
            "SELECT pageno FROM dbstat WHERE name='run_logs' ORDER BY pageno")]
        db.close()
        check(len(pages) > 2500, "overflow pages: %d" % len(pages))
        late = pages[len(pages) * 4 // 5:]     # the last fifth: rows near the end
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        conn.request("GET", "/api/v1/runs/%d/logs" % rid,
                     headers={"Authorization": "Bearer " + w.token})
        r = conn.getresponse()
        eq(r.status, 200)
        eq(r.getheader("Transfer-Encoding"), "chunked")
        head = r.read(64 * 1024)           # the server is still on its first pages
        check(head.startswith(b'{"logs":[{"seq":1,'), head[:40])
        with open(path, "r+b") as f:
            for p in late:
                f.seek((p - 1) * psize)
                f.write(b"\xff" * psize)
            f.flush()
            os.fsync(f.fileno())
        body, cut = head, False
        try:
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                body += chunk
        except http.client.IncompleteRead as e:
            body += e.partial
            cut = True
        conn.close()
        check(cut, "the chunked body ends without its last chunk")
        check(not body.endswith(b"]}\n"), body[-20:])
        check(0 < body.count(b'"seq":') < 2500, "some lines, not all: %d" % body.count(b'"seq":'))
        check(wait_for(lambda: srv.logs("get logs failed") != []), "get logs failed is logged")
        eq(srv.client().call("GET", "/health").status, 200)   # the server carries on
    finally:
        srv.stop()


@test
def attempts_and_runners(s):
    w = World(s)
    rid = w.create().json["run_id"]
    eq(w.c.call("GET", "/api/v1/runs/%d/attempts" % rid, token=w.token).text, '{"attempts":[]}\n')
    rn = Runner(s)
    l = rn.lease().json
    rn.release(rid, l["lease_token"])
    l = rn.lease().json
    rn.start(rid, l["lease_token"])
    rn.result(rid, l["lease_token"], "failed", 3, error_message="boom")
    a = w.c.call("GET", "/api/v1/runs/%d/attempts" % rid, token=w.token).json["attempts"]
    eq(len(a), 2)
    keys_in_order(a[0], ["attempt_no", "status", "runner_name", "exit_code", "error_message",
                         "started_at", "finished_at", "reason", "peak_memory_bytes", "cpu_user_ms",
                         "cpu_system_ms"])
    eq((a[0]["reason"], a[1]["reason"]), ("released", "exit_code"))
    eq((a[0]["attempt_no"], a[0]["status"], a[0]["error_message"], a[0]["runner_name"]),
       (1, "expired", "released", rn.name))
    check("started_at" not in a[0] and "exit_code" not in a[0], a[0])
    eq((a[1]["status"], a[1]["exit_code"], a[1]["error_message"]), ("failed", 3, "boom"))
    eq(w.run(rid).json["status"], "failed")
    r = w.c.call("GET", "/api/v1/admin/runners", token=w.token)
    names = [x["name"] for x in r.json["runners"]]
    eq(names, sorted(names))
    mine = [x for x in r.json["runners"] if x["name"] == rn.name][0]
    keys_in_order(mine, ["runner_id", "name", "environment", "status", "last_seen_at", "sandbox",
                         "limits", "slots", "slots_used"])
    eq((mine["slots"], mine["slots_used"]), (1, 0))
    eq((mine["environment"], mine["status"]), ("default", "online"))
    member = w.c.call("POST", "/api/v1/tokens", {"role": "member"}, token=w.token).json["token"]
    eq(w.c.call("GET", "/api/v1/admin/runners", token=member).error(),
       (403, "forbidden", "admin role required"))


def sse_events(resp, stop_after_end=True, limit=100000):
    """Reads SSE events from an http.client response until end or close."""
    events, ev = [], {}
    while len(events) < limit:
        raw = resp.readline()
        if not raw:
            break
        ln = raw.decode("utf-8").rstrip("\n")
        if ln == "":
            if ev:
                events.append(ev)
                if stop_after_end and ev.get("event") == "end":
                    break
            ev = {}
        elif ln.startswith(":"):
            events.append({"comment": ln})
        else:
            k, _, v = ln.partition(": ")
            ev[k] = v
    return events


def open_stream(s, w, rid, query="", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    h = {"Authorization": "Bearer " + w.token, "Accept": "text/event-stream"}
    h.update(headers or {})
    conn.request("GET", "/api/v1/runs/%d/logs/stream%s" % (rid, query), headers=h)
    return conn, conn.getresponse()


@test
def stream_replay_follow_end(s):
    w = World(s)
    rid = w.create().json["run_id"]
    conn, resp = open_stream(s, w, rid)
    eq(resp.status, 200)
    eq(resp.getheader("Content-Type"), "text/event-stream")
    eq(resp.getheader("Cache-Control"), "no-cache")
    eq(resp.getheader("X-Accel-Buffering"), "no")
    got = []
    t = threading.Thread(target=lambda: got.extend(sse_events(resp)))
    t.start()
    rn = Runner(s)
    l = rn.lease().json
    tok = l["lease_token"]
    rn.start(rid, tok)
    for i in range(1, 31, 3):
        rn.log(rid, tok, [line(i, "l%d" % i), line(i + 1, "l%d" % (i + 1)), line(i + 2, "l%d" % (i + 2))])
    rn.result(rid, tok)
    t.join(30)
    conn.close()
    check(not t.is_alive(), "stream ended")
    eq(got[0], {"event": "status", "data": '{"status":"queued"}'})
    logs = [e for e in got if e.get("event") == "log"]
    eq([int(e["id"]) for e in logs], list(range(1, 31)))
    eq(json.loads(logs[0]["data"])["line"], "l1")
    atts = [e for e in got if e.get("event") == "attempt"]
    eq(atts, [{"event": "attempt", "data": '{"attempt_no":1}'}])
    sts = [json.loads(e["data"])["status"] for e in got if e.get("event") == "status"]
    check(sts[-1] == "completed", sts)
    check(all(a != b for a, b in zip(sts, sts[1:])), "no repeated status: %r" % sts)
    end = got[-1]
    eq(end["event"], "end")
    eq(json.loads(end["data"])["status"], "completed")
    check("id" not in end, end)
    # replay of a finished run, resumption with Last-Event-ID and after_seq
    conn, resp = open_stream(s, w, rid, headers={"Last-Event-ID": "27"})
    ev = sse_events(resp)
    conn.close()
    eq([e.get("event") for e in ev], ["status", "log", "log", "log", "end"])
    eq([e.get("id") for e in ev if e.get("event") == "log"], ["28", "29", "30"])
    conn, resp = open_stream(s, w, rid, "?after_seq=29&attempt=1")
    ev = sse_events(resp)
    conn.close()
    eq([e.get("id") for e in ev if e.get("event") == "log"], ["30"])
    conn, resp = open_stream(s, w, rid, "?after_seq=-1")
    eq(resp.status, 400)
    conn.close()
    conn, resp = open_stream(s, w, rid, "?after_seq=-1", headers={"Last-Event-ID": "x"})
    eq(json.loads(resp.read())["error"]["message"], "Last-Event-ID must be a non-negative integer")
    conn.close()
    conn, resp = open_stream(s, w, rid, "?attempt=5")
    eq(resp.status, 404)
    conn.close()


@test
def stream_moves_to_new_attempt(s):
    w = World(s)
    rid = w.create({"max_retries": 1}).json["run_id"]
    rn = Runner(s)
    l = rn.lease().json
    rn.log(rid, l["lease_token"], [line(1, "first-1"), line(2, "first-2")])
    conn, resp = open_stream(s, w, rid, "?after_seq=1")
    got = []
    t = threading.Thread(target=lambda: got.extend(sse_events(resp)))
    t.start()
    wait_for(lambda: any(e.get("event") == "log" for e in got))
    rn.log(rid, l["lease_token"], [line(3, "first-3")])
    rn.release(rid, l["lease_token"])
    l2 = rn.lease().json
    rn.log(rid, l2["lease_token"], [line(1, "second-1")])
    rn.result(rid, l2["lease_token"])
    t.join(30)
    conn.close()
    seq = [(e["event"], e.get("id") or e["data"]) for e in got
           if e.get("event") in ("log", "attempt")]
    eq(seq, [("log", "2"), ("log", "3"), ("attempt", '{"attempt_no":2}'), ("log", "1")])
    eq(got[-1]["event"], "end")


@test
def stream_keepalive_and_token_revocation(s):
    w = World(s)
    rid = w.create().json["run_id"]
    r = w.c.call("POST", "/api/v1/tokens", {"name": "viewer"}, token=w.token)
    viewer, viewer_id = r.json["token"], r.json["token_id"]
    conn_a, resp_a = open_stream(s, w, rid)
    conn_b, resp_b = open_stream(s, w, rid, headers={"Authorization": "Bearer " + viewer})
    eq(resp_b.status, 200)
    eq(w.c.call("DELETE", "/api/v1/tokens/%d" % viewer_id, token=w.token).status, 204)
    got_b = []
    tb = threading.Thread(target=lambda: got_b.extend(sse_events(resp_b)))
    tb.start()
    got_a = sse_events(resp_a, limit=2)     # the status event, then a keep-alive
    eq(got_a[0]["event"], "status")
    eq(got_a[1], {"comment": ": keep-alive"})
    tb.join(60)
    check(not tb.is_alive(), "revoked stream closed")
    eq([e.get("event") for e in got_b], ["status"])
    conn_a.close()
    conn_b.close()
    w.cancel(rid)


if __name__ == "__main__":
    run_suite(tap)
