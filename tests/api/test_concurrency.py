"""Concurrency test (issue 3): 8 runner clients long-poll leases in
parallel while 2,000 runs are created; each run goes lease -> start -> logs
-> result. Checks that a run is never held by two runners at once, that
every run ends `completed` with exactly one attempt, and that no attempt is
left active. Uses MINITOWER_DB_SYNCHRONOUS=normal to keep it short."""

import os
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import Runner, Server, Tap, World, check, eq, line  # noqa: E402

RUNS = int(os.environ.get("MT_CONCURRENCY_RUNS", "2000"))
RUNNERS = 8
CREATORS = 2
tap = Tap()
test = tap.test


class Ledger:
    """Who holds which run; flags any overlap."""

    def __init__(self):
        self.mu = threading.Lock()
        self.holder = {}
        self.leases = {}
        self.done = 0
        self.errors = []

    def take(self, run_id, who):
        with self.mu:
            if run_id in self.holder:
                self.errors.append("run %d leased by %s while held by %s" %
                                   (run_id, who, self.holder[run_id]))
            self.holder[run_id] = who
            self.leases[run_id] = self.leases.get(run_id, 0) + 1

    def drop(self, run_id):
        with self.mu:
            self.holder.pop(run_id, None)
            self.done += 1

    def error(self, msg):
        with self.mu:
            self.errors.append(msg)


def runner_loop(s, led, stop, idx):
    rn = Runner(s, name="conc-%d" % idx)
    while not stop.is_set():
        l = rn.lease(wait=2)
        if l.status == 204:
            continue
        if l.status != 200:
            led.error("lease: %r" % l)
            return
        rid, tok = l.json["run_id"], l.json["lease_token"]
        led.take(rid, rn.name)
        for r, want in ((rn.start(rid, tok), 200),
                        (rn.log(rid, tok, [line(1, "hello %d" % rid)]), 200)):
            if r.status != want:
                led.error("run %d: %r" % (rid, r))
        r = rn.result(rid, tok)
        if r.status != 200:
            led.error("result %d: %r" % (rid, r))
        led.drop(rid)
    rn.c.close()


@test
def eight_runners_two_thousand_runs(s):
    w = World(s)
    led = Ledger()
    stop = threading.Event()
    runners = [threading.Thread(target=runner_loop, args=(s, led, stop, i)) for i in range(RUNNERS)]
    [t.start() for t in runners]
    created = []

    def creator(n):
        c = s.client()
        for _ in range(n):
            r = w.create({}, client=c)
            if r.status != 201:
                led.error("create: %r" % r)
                return
            created.append(r.json["run_id"])
        c.close()
    t0 = time.time()
    makers = [threading.Thread(target=creator, args=(RUNS // CREATORS,)) for _ in range(CREATORS)]
    [t.start() for t in makers]
    [t.join() for t in makers]
    deadline = time.time() + 240
    while time.time() < deadline and led.done < RUNS and not led.errors:
        time.sleep(0.05)
    stop.set()
    [t.join(30) for t in runners]
    print("# %d runs through %d runners in %.1f s" % (led.done, RUNNERS, time.time() - t0))
    eq(led.errors, [])
    eq(len(created), RUNS)
    eq(led.done, RUNS)
    eq(sorted(led.leases), sorted(created))
    check(all(v == 1 for v in led.leases.values()), "every run leased once")
    db = sqlite3.connect(os.path.join(s.dir, "mt.db"), timeout=30)
    eq(db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall(),
       [("completed", RUNS)])
    eq(db.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM run_attempts").fetchone(),
       (RUNS, RUNS))
    eq(db.execute("SELECT status, COUNT(*) FROM run_attempts GROUP BY status").fetchall(),
       [("completed", RUNS)])
    eq(db.execute("SELECT COUNT(*) FROM run_logs").fetchone()[0], RUNS)
    db.close()
    r = w.c.call("GET", "/api/v1/runs/summary", token=w.token)
    eq(r.json, {"total_runs": RUNS, "active_runs": 0, "queued_runs": 0, "terminal_runs": RUNS})


@test
def hundreds_of_waiters(s):
    """200 waiting leases and 100 open event streams: the rest of the API
    still answers, and 200 new runs go to 200 different waiters."""
    import http.client
    w = World(s)
    rid_stream = w.create().json["run_id"]     # held by its own runner; the streams follow it
    holder = Runner(s)
    hold = holder.lease().json
    eq(hold["run_id"], rid_stream)
    streams = []
    for _ in range(100):
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=120)
        conn.request("GET", "/api/v1/runs/%d/logs/stream?attempt=1" % rid_stream,
                     headers={"Authorization": "Bearer " + w.token})
        streams.append(conn)
    waiters = [Runner(s) for _ in range(200)]
    for r in waiters:
        r.c.timeout = 120
    got = {}

    def wait_one(r):
        got[r.name] = r.lease(wait=60)
    ts = [threading.Thread(target=wait_one, args=(r,)) for r in waiters]
    [t.start() for t in ts]
    time.sleep(1.0)       # most park; a late one simply finds a run at once
    c = s.client()
    for _ in range(50):
        eq(c.call("GET", "/api/v1/runs/summary", token=w.token).status, 200)
    ids = [w.create({"priority": 10}).json["run_id"] for _ in range(200)]
    [t.join(90) for t in ts]
    eq(len(got), 200)
    leased = [r.json["run_id"] for r in got.values() if r.status == 200]
    eq(sorted(leased), sorted(ids))
    for r in waiters:
        l = got[r.name].json
        eq(r.result(l["run_id"], l["lease_token"]).status, 200)
    eq(holder.result(rid_stream, hold["lease_token"]).status, 200)
    for conn in streams:
        resp = conn.getresponse()
        eq(resp.status, 200)
        body = resp.read().decode()
        check(body.rstrip().split("\n")[-2].startswith("event: end"), body[-200:])
        conn.close()


if __name__ == "__main__":
    server = Server({"MINITOWER_DB_SYNCHRONOUS": "normal", "MINITOWER_MAX_CONNECTIONS_PER_IP": "0"})
    try:
        fail = tap.main(server)
    finally:
        rc = server.stop()
    if rc not in (0, None):
        print("not ok - minitowerd exited with status %s" % rc)
        fail += 1
    sys.exit(1 if fail else 0)
