"""Crash test (issue 3): minitowerd is killed with SIGKILL in the middle of a
load of 6 runners and 2 creators, three times on the same database, with
the durable default
MINITOWER_DB_SYNCHRONOUS=full (so transactions share commits: group commit,
docs/architecture.md). Whatever a client saw answered must be in the
database afterwards: created runs (and their idempotency keys), leases,
starts, log lines and results. The database must pass its integrity and
foreign-key checks with at most one active attempt per run; a server
restarted on it expires the orphaned leases, and the runs left over can be
finished, each with exactly one completed attempt at most."""

import os
import signal
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import Runner, Server, Tap, World, check, eq, line, wait_for  # noqa: E402

tap = Tap()
test = tap.test
ENV = {"MINITOWER_LEASE_TTL": "5s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "100ms",
       "MINITOWER_MAX_CONNECTIONS_PER_IP": "0"}
KILL_AFTER = 300        # answered results before each kill
ROUNDS = 3


class Seen:
    """What the clients saw answered, appended only after the answer."""

    def __init__(self):
        self.mu = threading.Lock()
        self.created = {}       # idempotency key -> run id
        self.leased = set()     # (run id, attempt no)
        self.started = set()
        self.logged = set()     # (run id, attempt no, seq)
        self.finished = set()
        self.surprises = []

    def add(self, what, item):
        with self.mu:
            getattr(self, what).add(item)


def runner_loop(s, seen, stop, idx):
    rn = Runner(s, name="crash-%s" % idx)
    try:
        while not stop.is_set():
            l = rn.lease(wait=1)
            if l.status == 204:
                continue
            if l.status != 200:
                seen.surprises.append("lease %r" % l)
                return
            rid, no, tok = l.json["run_id"], l.json["attempt_no"], l.json["lease_token"]
            seen.add("leased", (rid, no))
            if rn.start(rid, tok).status == 200:
                seen.add("started", (rid, no))
            if rn.log(rid, tok, [line(1, "hello %d" % rid)]).status == 200:
                seen.add("logged", (rid, no, 1))
            if rn.result(rid, tok).status == 200:
                seen.add("finished", rid)
    except Exception:  # noqa: BLE001 - the server was killed under it
        pass


def creator_loop(w, seen, stop, idx):
    c = w.s.client()
    n = 0
    try:
        while not stop.is_set():
            key = "crash-%s-%d" % (idx, n)
            n += 1
            r = w.create({"input": {}}, headers={"Idempotency-Key": key}, client=c)
            if r.status != 201:
                seen.surprises.append("create %r" % r)
                return
            with seen.mu:
                seen.created[key] = r.json["run_id"]
    except Exception:  # noqa: BLE001 - the server was killed under it
        pass


def load_then_kill(s, w, seen, rnd):
    stop = threading.Event()
    before = len(seen.finished)
    ts = [threading.Thread(target=runner_loop, args=(s, seen, stop, "%d-%d" % (rnd, i)))
          for i in range(6)]
    ts += [threading.Thread(target=creator_loop, args=(w, seen, stop, "%d-%d" % (rnd, i)))
           for i in range(2)]
    for t in ts:
        t.start()
    check(wait_for(lambda: len(seen.finished) - before >= KILL_AFTER or seen.surprises,
                   timeout=120), "results under load")
    s.proc.send_signal(signal.SIGKILL)
    s.proc.wait(30)
    stop.set()
    for t in ts:
        t.join(60)
    eq(seen.surprises, [])
    print("# round %d: killed after %d creates, %d leases, %d results answered in all" %
          (rnd, len(seen.created), len(seen.leased), len(seen.finished)))


def check_database(path, seen):
    db = sqlite3.connect(path, timeout=30)
    eq(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
    eq(db.execute("PRAGMA foreign_key_check").fetchall(), [])
    runs = dict(db.execute("SELECT id, status FROM runs"))
    for rid in seen.created.values():
        check(rid in runs, "created run %d kept" % rid)
    keys = dict(db.execute("SELECT idempotency_key, run_id FROM run_idempotency_keys"))
    for key, rid in seen.created.items():
        eq(keys.get(key), rid, "idempotency key %s" % key)
    atts = {(r, n): st for r, n, st in
            db.execute("SELECT run_id, attempt_no, status FROM run_attempts")}
    for a in seen.leased:
        check(a in atts, "lease %r kept" % (a,))
    for a in seen.started:
        # running, or later completed, or expired by a restarted server's reaper: not leased
        check(atts.get(a) not in (None, "leased"), "start %r kept: %r" % (a, atts.get(a)))
    logs = set(db.execute("SELECT a.run_id, a.attempt_no, l.seq FROM run_logs l "
                          "JOIN run_attempts a ON a.id = l.run_attempt_id"))
    for lg in seen.logged:
        check(lg in logs, "log line %r kept" % (lg,))
    for rid in seen.finished:
        eq(runs.get(rid), "completed", "run %d" % rid)
    eq(db.execute("SELECT run_id FROM run_attempts WHERE status IN ('leased','running','cancelling') "
                  "GROUP BY run_id HAVING COUNT(*) > 1").fetchall(), [])
    db.close()


def on(path, s):
    """A server on the database of s."""
    return Server(dict(ENV, MINITOWER_DB_PATH=path,
                       MINITOWER_OBJECTS_DIR=os.path.join(s.dir, "objects")))


@test
def answered_writes_survive_kills(s0):
    del s0
    first = Server(ENV)
    seen = Seen()
    path = os.path.join(first.dir, "mt.db")
    others = []
    try:
        w = World(first)
        s = first
        for rnd in range(ROUNDS):
            if rnd > 0:
                s = on(path, first)
                others.append(s)
                w.s, w.c = s, s.client()
            load_then_kill(s, w, seen, rnd)
            check_database(path, seen)
        last = on(path, first)
        others.append(last)
        finish_after_restart(last, w, seen, path)
        eq(last.stop(), 0)
    finally:
        for o in others:
            o.stop()
        first.stop()


def finish_after_restart(s, w, seen, path):
    w.s, w.c = s, s.client()
    for key, rid in list(seen.created.items())[:50]:      # the keys still replay
        r = w.create({"input": {}}, headers={"Idempotency-Key": key})
        eq((r.status, r.json["run_id"]), (200, rid))

    def summary():
        return w.c.call("GET", "/api/v1/runs/summary", token=w.token).json
    check(wait_for(lambda: summary()["active_runs"] == 0, timeout=60), "orphaned leases expired")
    rn = Runner(s)
    deadline = time.time() + 120
    while summary()["queued_runs"] > 0 and time.time() < deadline:
        l = rn.lease()
        if l.status == 200:
            eq(rn.result(l.json["run_id"], l.json["lease_token"]).status, 200)
    eq(summary()["queued_runs"], 0)
    db = sqlite3.connect(path, timeout=30)
    runs = dict(db.execute("SELECT id, status FROM runs"))
    for rid in seen.finished:
        eq(runs.get(rid), "completed", "run %d after restart" % rid)
    eq(sorted(set(runs.values()) - {"completed", "dead"}), [], "every run ended")
    eq(db.execute("SELECT run_id FROM run_attempts WHERE status='completed' GROUP BY run_id "
                  "HAVING COUNT(*) > 1").fetchall(), [])
    db.close()


if __name__ == "__main__":
    fail = tap.main(None)
    sys.exit(1 if fail else 0)
