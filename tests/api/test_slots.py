"""Runner slots (issue 13, docs/runner.md "Slots"): one minitower-runner with
MINITOWER_RUNNER_SLOTS=4 runs four real jobs at once, each with its own lease,
heartbeat, fence timer, workspace and process group. The protocol side is
driven by hand (registration with and without "slots", racing lease calls that
may never hold more than N attempts, the re-issue at a full runner); the rest
through the real binaries: four jobs proven concurrent by the timestamps they
write behind a barrier, a drain with four running, a cancel of one of four,
the fence timer of every slot, and a SIGKILL of the runner with four jobs
running (all four process trees gone, all four runs released at the restart
and run again). The helpers are test_runner_e2e.py's."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time

import test_runner_e2e as e2e
from mtserver import REG_TOKEN, Server
from test_runner_e2e import (Runner, api, attempts, create_run, deploy, get_run, lines_of,
                             procs_with, towerfile, wait_for, wait_status)

t = e2e.t
t.tests.clear()     # only the tests of this file
test = e2e.test
N = 4
SLOTS_MSG = "slots must be an integer from 1 to 64"

# Every job marks a barrier directory, waits until the others of its batch
# did too (bounded: a job that waits alone for 60 s fails), and prints when it
# started and when it got through. `hold` keeps it running afterwards.
BARRIER_SH = r"""echo "start $(date +%s%N)"
touch "$bar/$MINITOWER_RUN_ID"
i=0
while [ "$(ls "$bar" | wc -l)" -lt "$want" ]; do
  i=$((i+1)); [ $i -gt 1200 ] && { echo "alone"; exit 3; }
  sleep 0.05
done
echo "through $(date +%s%N)"
if [ -n "$hold" ]; then sleep "$hold"; fi
echo "done"
"""


def barrier_app(s, app):
    bar = os.path.join(s.tmp, "bar-" + app)
    os.makedirs(bar)
    os.chmod(bar, 0o777)
    tf = towerfile(app, "job.sh", '\n[app.sandbox]\nwritable_paths = ["%s"]\n' % bar)
    deploy(s, app, {"job.sh": BARRIER_SH}, tf)
    return bar


def batch(s, app, bar, hold=None, n=N, **kw):
    inp = {"bar": bar, "want": str(N)}
    if hold is not None:
        inp["hold"] = hold
    return [create_run(s, app, inp, **kw) for _ in range(n)]


def runner_obj(s, name):
    st, _, b = api(s, "GET", "/api/v1/admin/runners")
    assert st == 200, b
    return [r for r in b["runners"] if r["name"] == name][0]


def expected_gauges(s):
    """What minitower_runner_slots should say from the runner list."""
    st, _, b = api(s, "GET", "/api/v1/admin/runners")
    on = [r for r in b["runners"] if r["status"] == "online"]
    used = sum(r["slots_used"] for r in on)
    return {("default", "used"): used,
            ("default", "free"): sum(max(r["slots"] - r["slots_used"], 0) for r in on)}


def slot_gauges(s):
    st, _, body = s.req("GET", "/metrics", raw=True)
    assert st == 200, st
    out = {}
    for m in re.finditer(r'^minitower_runner_slots\{environment="([^"]*)",state="(\w+)"\} (\S+)$',
                         body.decode(), re.M):
        out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


def register(s, name, slots=None, **extra):
    body = {"name": name}
    body.update(extra)
    if slots is not None:
        body["slots"] = slots
    return s.req("POST", "/api/v1/runners/register", body, token=REG_TOKEN)


def lease(s, token, body=None):
    return s.req("POST", "/api/v1/runs/lease", body, token=token)


def active_attempts(s, runner_id):
    db = sqlite3.connect("file:%s?mode=ro" % s.env["MINITOWER_DB_PATH"], uri=True, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM run_attempts WHERE runner_id=? AND status IN "
                          "('leased','running','cancelling')", (runner_id,)).fetchone()[0]
    finally:
        db.close()


def cancel_all(s, rids):
    for rid in rids:
        api(s, "POST", "/api/v1/runs/%d/cancel" % rid)


def slot_runner(s, name, **env):
    env.setdefault("MINITOWER_RUNNER_SLOTS", str(N))
    return Runner(s, name, **env).start()


def stamps(s, rid, word):
    for line in lines_of(s, rid):
        if line.startswith(word + " "):
            return int(line.split()[1])
    raise AssertionError("run %d printed no %r line: %s" % (rid, word, lines_of(s, rid)))


# ---------------------------------------------------------------- protocol

@test
def registration_slots_field(s):
    for bad in (0, 65, -1, "4", 2.5, True, None):
        st, _, b = s.req("POST", "/api/v1/runners/register", {"name": "bad", "slots": bad},
                         token=REG_TOKEN)
        assert (st, b["error"]["message"]) == (400, SLOTS_MSG), (bad, st, b)
    st, _, b = register(s, "plain")       # the reference runner says nothing: one slot
    assert st == 201, b
    r = runner_obj(s, "plain")
    assert (r["slots"], r["slots_used"]) == (1, 0), r
    assert list(r)[-2:] == ["slots", "slots_used"], list(r)
    st, _, b = register(s, "plain", 3)
    assert st == 200 and runner_obj(s, "plain")["slots"] == 3, b
    # The lease body may change it (lenient: a bad value is ignored).
    assert lease(s, b["token"], {"slots": 5})[0] == 204
    assert runner_obj(s, "plain")["slots"] == 5
    assert lease(s, b["token"], {"slots": "x"})[0] == 204
    assert lease(s, b["token"])[0] == 204
    assert runner_obj(s, "plain")["slots"] == 5
    assert register(s, "plain")[0] == 200      # registering without it: back to one
    assert runner_obj(s, "plain")["slots"] == 1


@test
def single_slot_runner_unchanged(s):
    deploy(s, "one", {"job.sh": "true\n"}, towerfile("one", "job.sh"))
    rids = [create_run(s, "one") for _ in range(2)]
    st, _, b = register(s, "single")
    tok = b["token"]
    st, _, l1 = lease(s, tok)
    assert st == 200, l1
    st, _, l2 = lease(s, tok)      # never started: the same attempt, re-issued
    assert st == 200 and l2["run_id"] == l1["run_id"] and l2["lease_token"] != l1["lease_token"]
    h = {"X-Lease-Token": l2["lease_token"]}
    assert s.req("POST", "/api/v1/runs/%d/start" % l1["run_id"], None, token=tok, headers=h)[0] == 200
    st, _, b = lease(s, tok)
    assert (st, b["error"]["message"]) == (409, "runner already has an active lease"), (st, b)
    st, _, _ = s.req("POST", "/api/v1/runs/%d/result" % l1["run_id"],
                     {"status": "completed", "exit_code": 0}, token=tok, headers=h)
    assert st == 200
    st, _, l3 = lease(s, tok)
    assert st == 200 and l3["run_id"] != l1["run_id"], l3
    s.req("POST", "/api/v1/runs/%d/release" % l3["run_id"], None, token=tok,
          headers={"X-Lease-Token": l3["lease_token"]})
    cancel_all(s, rids)


@test
def racing_leases_never_exceed_slots(s):
    deploy(s, "race", {"job.sh": "true\n"}, towerfile("race", "job.sh"))
    rids = [create_run(s, "race") for _ in range(10)]
    st, _, b = register(s, "racer", N)
    tok, rid_runner = b["token"], b["runner_id"]
    got, lock = [], threading.Lock()

    def one():
        st, _, body = lease(s, tok)
        with lock:
            got.append((st, body))
    ths = [threading.Thread(target=one) for _ in range(12)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    ok = [b for st, b in got if st == 200]
    assert all(st in (200, 409) for st, _ in got), got
    # At its slots the runner gets its oldest never-started attempt again,
    # never a fifth one.
    assert len({b["run_id"] for b in ok}) == N, ok
    assert active_attempts(s, rid_runner) == N
    r = runner_obj(s, "racer")
    assert (r["slots"], r["slots_used"]) == (N, N), r
    assert slot_gauges(s)[("default", "used")] >= N
    tokens = {}
    for b in ok:
        tokens.setdefault(b["run_id"], []).append(b["lease_token"])
    started = {}
    for run_id, toks in tokens.items():    # the last token issued is the valid one
        for lt in toks:
            st, _, _ = s.req("POST", "/api/v1/runs/%d/start" % run_id, None, token=tok,
                             headers={"X-Lease-Token": lt})
            if st == 200:
                started[run_id] = lt
            else:
                assert st == 410, st
    assert len(started) == N, started
    st, _, b = lease(s, tok)        # all four started: no free slot, at once
    assert (st, b["error"]["message"]) == (409, "runner has no free slot"), (st, b)
    first = sorted(started)[0]
    st, _, _ = s.req("POST", "/api/v1/runs/%d/result" % first, {"status": "completed", "exit_code": 0},
                     token=tok, headers={"X-Lease-Token": started.pop(first)})
    assert st == 200
    st, _, b = lease(s, tok)        # one slot free again: one more run
    assert st == 200 and b["run_id"] not in started and b["run_id"] != first, b
    started[b["run_id"]] = b["lease_token"]
    assert active_attempts(s, rid_runner) == N
    for run_id, lt in started.items():
        st, _, _ = s.req("POST", "/api/v1/runs/%d/release" % run_id, None, token=tok,
                         headers={"X-Lease-Token": lt})
        assert st == 200, st
    assert runner_obj(s, "racer")["slots_used"] == 0
    cancel_all(s, rids)


# ---------------------------------------------------------------- end to end

@test
def four_jobs_at_once(s):
    bar = barrier_app(s, "four")
    a = slot_runner(s, "quad")
    started = [m for m in a.msgs() if m.get("msg") == "runner started"]
    assert started and started[0].get("slots") == N, started
    rids = batch(s, "four", bar, hold="2")
    wait_for(lambda: runner_obj(s, "quad")["slots_used"] == N, 60, "four slots in use")
    assert slot_gauges(s) == expected_gauges(s), (slot_gauges(s), expected_gauges(s))
    assert slot_gauges(s)[("default", "used")] >= N
    for rid in rids:
        r = wait_status(s, rid, ("completed", "failed", "dead"), 120)
        assert r["status"] == "completed", (r, lines_of(s, rid))
    starts = [stamps(s, rid, "start") for rid in rids]
    through = [stamps(s, rid, "through") for rid in rids]
    # Every job started before any got through the barrier: all four ran at once.
    assert max(starts) < min(through), (starts, through)
    assert len({attempts(s, rid)[0]["runner_name"] for rid in rids}) == 1
    leased = [m for m in a.msgs() if m.get("msg") == "leased run"]
    assert sorted(m["slot"] for m in leased) == list(range(N)), leased   # one run per slot
    wait_for(lambda: runner_obj(s, "quad")["slots_used"] == 0, 10, "slots free")
    g = slot_gauges(s)
    assert g == expected_gauges(s) and g[("default", "free")] >= N, (g, expected_gauges(s))
    # A fifth and more: never more than four at once, all complete.
    bar2 = barrier_app(s, "eight")
    more = batch(s, "eight", bar2, n=2 * N)
    peak, end = 0, time.time() + 120
    while time.time() < end and not all(get_run(s, rid)["status"] in ("completed", "failed", "dead") for rid in more):
        peak = max(peak, runner_obj(s, "quad")["slots_used"])
        assert peak <= N, peak
        time.sleep(0.05)
    for rid in more:
        assert wait_status(s, rid, ("completed", "failed", "dead"), 120)["status"] == "completed"
    assert a.stop() == 0


def four_running(s, app, marker, **kw):
    """Starts four jobs of app that each sleep `marker` seconds; returns
    their run ids once all four sleeps exist."""
    bar = barrier_app(s, app)
    rids = batch(s, app, bar, hold=marker, **kw)
    wait_for(lambda: len(procs_with("sleep " + marker)) == N, 60, "four jobs running")
    return rids


@test
def drain_with_four_running(s):
    a = slot_runner(s, "drainer4")
    rids = four_running(s, "drain4", "300.41")
    assert a.stop(signal.SIGTERM) == 0
    assert not procs_with("sleep 300.41"), "jobs survived the drain"
    assert sum(1 for m in a.msgs() if m.get("msg") == "run released") == N
    for rid in rids:
        assert get_run(s, rid)["status"] == "queued", get_run(s, rid)
        ats = attempts(s, rid)
        assert [x["status"] for x in ats] == ["expired"] and ats[0]["reason"] == "released", ats
        assert "run released: runner is shutting down" in lines_of(s, rid)
    cancel_all(s, rids)
    # A drain that lets them finish reports all four.
    a = slot_runner(s, "drainer4b", MINITOWER_DRAIN_TIMEOUT="30s")
    rids = four_running(s, "drain4b", "2.42")
    assert a.stop(signal.SIGTERM, timeout=60) == 0
    assert [get_run(s, rid)["status"] for rid in rids] == ["completed"] * N


@test
def cancel_one_of_four(s):
    a = slot_runner(s, "canceller")
    rids = four_running(s, "cancel4", "300.43")
    st, _, b = api(s, "POST", "/api/v1/runs/%d/cancel" % rids[1])
    assert st == 200, b
    assert wait_status(s, rids[1], ("cancelled", "completed", "failed"), 30)["status"] == "cancelled"
    wait_for(lambda: len(procs_with("sleep 300.43")) == N - 1, 15, "one job gone")
    others = [r for i, r in enumerate(rids) if i != 1]
    assert [get_run(s, rid)["status"] for rid in others] == ["running"] * (N - 1)
    assert runner_obj(s, "canceller")["slots_used"] == N - 1
    cancel_all(s, others)
    for rid in others:
        assert wait_status(s, rid, ("cancelled", "completed", "failed"), 30)["status"] == "cancelled"
    wait_for(lambda: not procs_with("sleep 300.43"), 15, "all jobs gone")
    assert a.stop() == 0


@test
def fence_timer_of_every_slot(s):
    a = slot_runner(s, "fencer")
    rids = four_running(s, "fence4", "300.44")
    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        for rid in rids:     # the reaper expires every lease (no retries: dead)
            wait_status(s, rid, ("dead",), 60)
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    wait_for(lambda: not procs_with("sleep 300.44"), 30, "the fenced jobs to stop")
    wait_for(lambda: sum(1 for m in a.msgs() if m.get("msg") == "stale lease, skipping result") == N,
             30, "four skipped results")
    assert not a.has("run completed") and not a.has("run failed")
    for rid in rids:
        at = attempts(s, rid)
        assert [x["status"] for x in at] == ["expired"] and "exit_code" not in at[0], at
        assert "done" not in lines_of(s, rid)
    # The slots lease again afterwards.
    bar = barrier_app(s, "after-fence")
    for rid in batch(s, "after-fence", bar):
        assert wait_status(s, rid, ("completed", "failed", "dead"), 120)["status"] == "completed"
    assert a.stop() == 0


@test
def sigkill_with_four_running(s):
    a = slot_runner(s, "killed")
    rids = four_running(s, "kill4", "300.45", max_retries=1)
    d = os.path.join(a.data, "runners")
    jobs = sorted(f for f in os.listdir(d) if f.endswith(".job.json"))
    assert len(jobs) == N, jobs
    pgids = []
    for f in jobs:
        with open(os.path.join(d, f)) as fh:
            jf = json.load(fh)
        assert jf["run_id"] in rids and jf["pgid"] > 1, jf
        pgids.append(jf["pgid"])
    a.stop(signal.SIGKILL)
    b = slot_runner(s, "killed")
    wait_for(lambda: sum(1 for m in b.msgs()
                         if m.get("msg") == "released run left by a previous process") == N,
             20, "four runs released")
    assert not procs_with("sleep 300.45"), "a job of the killed runner survived"
    assert not any(e2e.pid_alive(p) for p in pgids), pgids
    # Released (no retry used): each runs again on the new process.
    for rid in rids:
        ats = wait_for(lambda: (lambda x: x if len(x) >= 2 else None)(attempts(s, rid)), 60,
                       "run %d leased again" % rid)
        assert ats[0]["status"] == "expired" and ats[0]["reason"] == "released", ats
        assert get_run(s, rid)["retry_count"] == 0
    wait_for(lambda: len(procs_with("sleep 300.45")) == N, 60, "four jobs again")
    cancel_all(s, rids)
    for rid in rids:
        assert wait_status(s, rid, ("cancelled", "completed", "failed"), 30)["status"] == "cancelled"
    wait_for(lambda: not procs_with("sleep 300.45"), 15, "all jobs gone")
    assert b.stop() == 0


@test
def bad_slots_setting_refused(s):
    for bad in ("0", "65", "four", "-2"):
        r = Runner(s, "badslots", MINITOWER_RUNNER_SLOTS=bad)
        r.proc = subprocess.Popen([os.path.join(r.bindir, "minitower-runner")], env=r.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = r.proc.communicate(timeout=30)
        assert r.proc.returncode == 1, (bad, out)
        assert "MINITOWER_RUNNER_SLOTS must be an integer from 1 to 64" in out, (bad, out)


@test
def no_sanitizer_reports(s):
    bad = []
    for r in e2e.ALL_RUNNERS:
        for line in r.lines:
            if "Sanitizer" in line or "runtime error:" in line:
                bad.append("%s: %s" % (r.name, line.strip()))
    with open(os.path.join(s.tmp, "server.log")) as f:
        bad += ["minitowerd: " + l.strip() for l in f if "Sanitizer" in l]
    assert not bad, bad[:20]


def main():
    # A TTL long enough for four jobs of a TSan build on a busy 2-core host
    # to heartbeat in time; the fence test waits for it once.
    env = {"MINITOWER_LEASE_TTL": "10s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "250ms"}
    with Server(env=env) as s:
        e2e.STATE["token"] = s.bootstrap()
        only = os.environ.get("MT_SLOTS_TESTS")
        if only:
            t.tests = [f for f in t.tests if f.__name__ in only.split(",")]
        t.run(s)


if __name__ == "__main__":
    main()
