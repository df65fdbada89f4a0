"""API tests of the reaper (api.md §2.6) with a 1 s lease TTL and a 100 ms
interval: retry then dead, cancel on expiry, late results, waking waiting
leases, stale runners, pruning, idempotency-key cleanup. Waits are bounded
polls for a state, never assertions about how long something took."""

import os
import sqlite3
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import REG_TOKEN, Runner, Server, Tap, World, check, eq, run_suite, wait_for  # noqa: E402

tap = Tap()
test = tap.test
ENV = {"MINITOWER_LEASE_TTL": "1s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "100ms",
       "MINITOWER_RUNNER_PRUNE_AFTER": "1s"}


def status_is(w, rid, want):
    return lambda: w.run(rid).json["status"] == want


def reregister(s, rn):
    """Brings a runner back online (the offline sweep runs after 2 s)."""
    r = rn.c.call("POST", "/api/v1/runners/register", {"name": rn.name}, token=REG_TOKEN)
    eq(r.json["runner_id"], rn.id)
    rn.token = r.json["token"]


def attempts(w, rid):
    return w.c.call("GET", "/api/v1/runs/%d/attempts" % rid, token=w.token).json["attempts"]


@test
def retry_then_dead_and_late_result(s):
    w = World(s)
    rid = w.create({"max_retries": 1}).json["run_id"]
    a = Runner(s)
    l1 = a.lease().json
    a.start(rid, l1["lease_token"])
    check(wait_for(status_is(w, rid, "queued")), "re-queued after expiry")
    r = w.run(rid).json
    eq((r["retry_count"], r["status"]), (1, "queued"))
    check("started_at" in r, "started_at kept")
    b = Runner(s)
    l2 = b.lease().json
    eq((l2["run_id"], l2["attempt_no"]), (rid, 2))
    check(wait_for(status_is(w, rid, "dead")), "dead after the second expiry")
    reregister(s, b)
    eq(b.result(rid, l2["lease_token"]).error(), (410, "gone", "invalid or expired lease"))
    reregister(s, a)
    eq(a.result(rid, l1["lease_token"]).error(), (410, "gone", "invalid or expired lease"))
    r = w.run(rid).json
    eq((r["status"], r["retry_count"]), ("dead", 1))
    check("finished_at" in r, r)
    eq([x["status"] for x in attempts(w, rid)], ["expired", "expired"])
    req = [x for x in s.logs("run requeued") if x["run_id"] == rid]
    eq([(x["attempt_no"], x["reason"]) for x in req], [(1, "lease expired")])
    fin = [x for x in s.logs("run finished") if x["run_id"] == rid]
    eq([(x["status"], x["reason"]) for x in fin], [("dead", "lease expired")])
    check(any(x.get("count", 0) >= 1 for x in s.logs("expiry reaper processed attempts")), "log")


@test
def never_started_dead_without_started_at(s):
    w = World(s)
    rid = w.create().json["run_id"]
    Runner(s).lease()
    check(wait_for(status_is(w, rid, "dead")), "dead")
    check("started_at" not in w.run(rid).json, "never started")


@test
def expiry_while_cancelling_cancels(s):
    w = World(s)
    rid = w.create({"max_retries": 5}).json["run_id"]
    rn = Runner(s)
    tok = rn.lease().json["lease_token"]
    rn.start(rid, tok)
    eq(w.cancel(rid).json["status"], "cancelling")
    check(wait_for(status_is(w, rid, "cancelled")), "cancelled on expiry")
    eq([x["status"] for x in attempts(w, rid)], ["cancelled"])
    eq(w.run(rid).json["retry_count"], 0)


@test
def requeue_wakes_waiting_lease(s):
    w = World(s)
    rid = w.create({"max_retries": 1}).json["run_id"]
    Runner(s).lease()
    waiter = Runner(s)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", waiter.lease(wait=20)))
    t.start()
    t.join(30)
    eq(out["r"].status, 200, out["r"].text)
    eq((out["r"].json["run_id"], out["r"].json["attempt_no"]), (rid, 2))
    reregister(s, waiter)
    waiter.result(rid, out["r"].json["lease_token"])


@test
def stale_runners_offline_but_not_waiting_ones(s):
    idle = Runner(s)
    eq(idle.lease().status, 204)  # authenticated once, so its token is in the cache
    waiting = Runner(s)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", waiting.lease(wait=6)))
    t.start()

    def runner(name):
        rs = idle.c.call("GET", "/api/v1/admin/runners", token=World.admin_token).json["runners"]
        return [x for x in rs if x["name"] == name]
    check(wait_for(lambda: runner(idle.name) == [] or runner(idle.name)[0]["status"] == "offline"),
          "idle runner goes offline")
    # at once, well within the auth cache's 5 s
    eq(idle.lease().error(), (401, "unauthorized", "invalid or missing token"))
    if t.is_alive():
        eq(runner(waiting.name)[0]["status"], "online")
    t.join(15)
    eq(out["r"].status, 204)
    eq(idle.lease().error(), (401, "unauthorized", "invalid or missing token"))
    check(any(x["count"] >= 1 for x in s.logs("marked stale runners offline")), "offline log")


@test
def woken_lease_requests_keep_their_runner_online(s):
    """A lease request whose wait ended is still waiting until its handler ran
    again (api.md §2.6): the sweep must not mark its runner offline in between,
    or the request's final check answers 401. Each wait outlasts the 2 s stale
    cutoff; a private server sweeps every 10 ms to make that moment likely to
    be hit (it was, under load, before notify held woken runners)."""
    del s
    own = Server(dict(ENV, MINITOWER_EXPIRY_CHECK_INTERVAL="10ms"))
    try:
        got = []

        def poll():
            rn = Runner(own)        # registered right before its first poll
            for _ in range(2):
                got.append(rn.lease(wait=3).status)
        ts = [threading.Thread(target=poll) for _ in range(30)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        eq(sorted(set(got)), [204], "statuses %r" % got)
        eq(len(got), 60)
    finally:
        eq(own.stop(), 0)


@test
def prune_offline_runners_without_attempts(s):
    w = World(s)
    keep = Runner(s)
    rid = w.create().json["run_id"]
    tok = keep.lease().json["lease_token"]
    keep.result(rid, tok)
    gone = Runner(s)

    def names():
        rs = w.c.call("GET", "/api/v1/admin/runners", token=w.token).json["runners"]
        return {x["name"]: x["status"] for x in rs}
    check(wait_for(lambda: gone.name not in names(), timeout=20), "pruned")
    check(wait_for(lambda: names().get(keep.name) == "offline", timeout=20), "kept offline")
    check(any(x["count"] >= 1 for x in s.logs("pruned offline runners")), "prune log")


@test
def idempotency_keys_expire(s):
    w = World(s)
    first = w.create({}, headers={"Idempotency-Key": "old"}).json["run_id"]
    db = sqlite3.connect(os.path.join(s.dir, "mt.db"), timeout=30)
    with db:
        db.execute("UPDATE run_idempotency_keys SET expires_at=1 WHERE idempotency_key='old'")

    def count():
        return db.execute("SELECT COUNT(*) FROM run_idempotency_keys WHERE "
                          "idempotency_key='old'").fetchone()[0]
    check(wait_for(lambda: count() == 0), "expired key deleted")
    r = w.create({"priority": 3}, headers={"Idempotency-Key": "old"})
    eq(r.status, 201)
    check(r.json["run_id"] != first, "a new run")
    db.close()


def main():
    # One admin token for the admin-runner checks.
    def setup(s):
        World.admin_token = World(s).token
    tap.tests.insert(0, setup)
    run_suite(tap, ENV)


if __name__ == "__main__":
    main()
