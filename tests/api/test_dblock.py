#!/usr/bin/env python3
"""A database locked by another process (issue 19, fault 1) and /ready
(fault 2), through the real binary: another connection holds the write lock
(BEGIN EXCLUSIVE) while 20 clients create runs. Writes answer 503 with
Retry-After within about the write timeout (never 500, never a 5 s queue per
request); /health and reads answer at once; /ready names the failing check;
everything works again once the lock is gone. TAP output."""
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import Runner, Server, Tap, World, check, eq  # noqa: E402

tap = Tap()
SLACK = 4.0     # a busy 2-core machine: latency bounds are loose, still far below the old 5-32 s


class Lock:
    """Another process's connection holding the database's write lock."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.execute("BEGIN EXCLUSIVE")

    def release(self):
        self.db.execute("ROLLBACK")
        self.db.close()


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def creates(s, w, n):
    """n concurrent create-run requests, each on its own connection."""
    out = [None] * n

    def one(i):
        c = s.client()
        try:
            out[i] = timed(lambda: w.create({}, client=c))
        finally:
            c.close()

    ths = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ths:
        t.start()
    return ths, out


def check_503(r, what):
    eq(r.status, 503, what)
    eq(r.json["error"]["code"], "unavailable", what)
    check(r.header("Retry-After") is not None, "%s: Retry-After missing" % what)


def started_run(s):
    """A team with an app, and a runner holding a started run of it."""
    w = World(s)
    rn = Runner(s)
    w.create({})
    l = rn.lease().json
    eq(rn.start(l["run_id"], l["lease_token"]).status, 200)
    return w, rn, l["run_id"], l["lease_token"]


@tap.test
def locked_database_answers_fast(s):
    w, rn, rid, lease = started_run(s)
    lock = Lock(os.path.join(s.dir, "mt.db"))
    try:
        ths, out = creates(s, w, 20)
        time.sleep(0.2)
        c = s.client()
        health, th = timed(lambda: c.call("GET", "/health"))
        listing, tl = timed(lambda: c.call("GET", "/api/v1/runs", token=w.token))
        ready, tr = timed(lambda: c.call("GET", "/ready"))
        hb, thb = timed(lambda: rn.heartbeat(rid, lease))
        for t in ths:
            t.join(60)
    finally:
        lock.release()
    eq(health.status, 200, "health")
    check(th < 1.0 + SLACK / 4, "/health took %.2fs behind locked writes" % th)
    eq(listing.status, 200, "list runs")
    check(tl < 1.0 + SLACK / 4, "GET /api/v1/runs took %.2fs behind locked writes" % tl)
    eq(ready.status, 503, "ready")
    check("db not ready" in ready.json["error"]["message"], ready.json)
    check(tr < 1.0 + SLACK, "/ready took %.2fs" % tr)
    check_503(hb, "heartbeat")
    check(thb < 2.0 + SLACK, "heartbeat took %.2fs" % thb)
    for r, t in out:
        check_503(r, "create")
        check(t < 2.0 + SLACK, "a create took %.2fs (write timeout 2s)" % t)
    eq(sum(1 for r, _ in out if r.status == 500), 0, "500s")
    # the lock is gone: everything works again, the lease was kept
    eq(w.create({}).status, 201, "create after the lock")
    eq(rn.heartbeat(rid, lease).status, 200, "heartbeat after the lock")
    eq(s.client().call("GET", "/ready").status, 200, "ready after the lock")
    m = s.client().call("GET", "/metrics").text
    check('minitower_db_unavailable_total{reason="lock_timeout"}' in m or
          'minitower_db_unavailable_total{reason="busy"}' in m,
          "db_unavailable not counted: %s" % [x for x in m.splitlines() if "db_unav" in x])
    eq(rn.result(rid, lease).status, 200)


@tap.test
def heartbeat_survives_a_burst_behind_a_lock(s):
    """The lock goes while 30 creates and a heartbeat wait: the heartbeat,
    urgent, gets the database and its lease stays."""
    w, rn, rid, lease = started_run(s)
    lock = Lock(os.path.join(s.dir, "mt.db"))
    ths, out = creates(s, w, 30)
    hb = {}
    t = threading.Thread(target=lambda: hb.update(r=rn.heartbeat(rid, lease)))
    time.sleep(0.3)
    t.start()
    time.sleep(0.5)
    lock.release()
    t.join(30)
    for th in ths:
        th.join(60)
    eq(hb["r"].status, 200, "heartbeat")
    check(all(r.status in (201, 503) for r, _ in out), [r.status for r, _ in out])
    eq(rn.result(rid, lease).status, 200)


@tap.test
def ready_names_the_failing_check(s):
    r = s.client().call("GET", "/ready")
    eq(r.status, 200)
    eq(r.text, '{"status":"ok"}\n')


def stopped(s):
    rc = s.stop()
    check(rc in (0, None), "minitowerd exited with %s" % rc)


def ready_low_space():
    s = Server({"MINITOWER_MIN_FREE_MB": str(1 << 40)})
    try:
        r = s.client().call("GET", "/ready")
        eq(r.status, 503)
        check("low disk space" in r.json["error"]["message"], r.json)
        check(r.header("Retry-After") is not None, "Retry-After")
        eq(s.client().call("GET", "/health").status, 200, "health stays liveness only")
    finally:
        stopped(s)


def ready_objects_read_only():
    s = Server()
    objs = os.path.join(s.dir, "objects")
    try:
        if subprocess.call(["mount", "--bind", objs, objs], stderr=subprocess.DEVNULL) != 0:
            return "mount --bind not permitted"
        try:
            if subprocess.call(["mount", "-o", "remount,ro,bind", objs]) != 0:
                return "read-only remount not permitted"
            r = s.client().call("GET", "/ready")
            eq(r.status, 503)
            check("objects directory not writable" in r.json["error"]["message"], r.json)
        finally:
            subprocess.call(["umount", objs])
        eq(s.client().call("GET", "/ready").status, 200, "ready again")
    finally:
        stopped(s)
    return None


def queue_bound():
    """MINITOWER_DB_WRITE_QUEUE=1: with one write waiting, the others are
    refused at once rather than queued."""
    s = Server({"MINITOWER_DB_WRITE_QUEUE": "1"})
    try:
        w = World(s)
        lock = Lock(os.path.join(s.dir, "mt.db"))
        try:
            ths, out = creates(s, w, 8)
            for t in ths:
                t.join(60)
        finally:
            lock.release()
        for r, _ in out:
            check_503(r, "create")
        fast = [t for r, t in out if "too many writes waiting" in r.json["error"]["message"]]
        check(len(fast) >= 1, [r.json for r, _ in out])
        check(min(fast) < 1.0 + SLACK / 2, "refusals took %r" % fast)
        eq(w.create({}).status, 201)
    finally:
        stopped(s)


def main():
    s = Server({"MINITOWER_EXPIRY_CHECK_INTERVAL": "1h"})
    try:
        fail = tap.main(s)
    finally:
        rc = s.stop()
    n = len(tap.tests)
    for name, fn in (("ready_low_space", ready_low_space),
                     ("ready_objects_read_only", ready_objects_read_only),
                     ("queue_bound", queue_bound)):
        n += 1
        try:
            skip = fn()
            print("ok %d - %s%s" % (n, name, " # SKIP " + skip if skip else ""), flush=True)
        except Exception as e:  # noqa: BLE001
            fail += 1
            print("not ok %d - %s: %r" % (n, name, e), flush=True)
    if rc not in (0, None):
        print("not ok - minitowerd exited with %s" % rc)
        fail += 1
    sys.exit(1 if fail else 0)


if __name__ == "__main__":
    main()
