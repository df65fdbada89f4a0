"""API tests of lease expiry under wall-clock steps (issue 19 item 3,
docs/clocks.md): minitowerd runs under libfaketime, which steps only its wall
clock (CLOCK_REALTIME) while CLOCK_MONOTONIC runs on; lease decisions must
follow the monotonic clock. A 3 s lease TTL and a 200 ms reaper interval;
every step is 90 s, so a server that follows the wall clock is off by 90 s
and the bounds below (15 s) tell the two apart. Prints TAP."""

import calendar
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import BIN, Resp, Runner, Server, Tap, World, check, eq, wait_for  # noqa: E402

tap = Tap()
test = tap.test
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
TTL_S = 3
ENV = {"MINITOWER_LEASE_TTL": "%ds" % TTL_S, "MINITOWER_EXPIRY_CHECK_INTERVAL": "200ms"}
BOUND_S = 15  # TTL + interval + slack; a wall-clock server needs 90 s more


def sanitizer_runtime():
    """The sanitizer runtime minitowerd links, or None. ASan refuses to
    start unless its runtime comes first in LD_PRELOAD; with it first, ASan
    and TSan builds both run under libfaketime."""
    try:
        out = subprocess.run(["ldd", os.path.join(BIN, "minitowerd")], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) >= 3 and parts[0].startswith(("libasan", "libtsan")):
            return parts[2]
    return None


def skip_reason():
    if not os.path.exists(FAKETIME_LIB):
        return "libfaketime is not installed"
    return None


class FakeClock:
    """A libfaketime offset file: step() moves the server's wall clock."""

    def __init__(self, offset="+0"):
        fd, self.path = tempfile.mkstemp(prefix="mt-faketime-")
        os.close(fd)
        self.set(offset)

    def set(self, offset):
        with open(self.path + ".new", "w") as f:
            f.write(offset + "\n")
        os.rename(self.path + ".new", self.path)  # libfaketime never reads half a file

    def env(self, extra=None):
        pre = FAKETIME_LIB
        rt = sanitizer_runtime()
        if rt is not None:
            pre = rt + ":" + pre
        e = dict(ENV)
        e.update({"LD_PRELOAD": pre, "FAKETIME_TIMESTAMP_FILE": self.path,
                  "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
        e.update(extra or {})
        return e

    def close(self):
        os.unlink(self.path)


def run_status(w, rid):
    return w.run(rid).json["status"]


def server_wall_s(s):
    """The server's wall clock (a worker thread's), from a new run's
    queued_at (RFC 3339, UTC)."""
    w = World(s)
    ts = w.run(w.create().json["run_id"]).json["queued_at"]
    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


def leased_and_started(s):
    w = World(s)
    rid = w.create({"max_retries": 1}).json["run_id"]
    rn = Runner(s)
    l = rn.lease()
    eq((l.status, l.json["run_id"]), (200, rid))
    eq(rn.start(rid, l.json["lease_token"]).status, 200)
    return w, rid, rn, l.json["lease_token"]


PROBE = """import threading, time
out = []
t = threading.Thread(target=lambda: out.append(time.time()))
t.start(); t.join()
print(time.time(), out[0], time.monotonic())
"""


@test
def faketime_steps_the_wall_clock_only(clock):
    """The premise: with these settings libfaketime moves CLOCK_REALTIME of
    every thread of the process and leaves CLOCK_MONOTONIC alone (a probe
    process), and the step reaches a running server (created_at)."""
    clock.set("-90")
    e = {k: v for k, v in os.environ.items() if not k.startswith("MINITOWER_")}
    e.update({k: v for k, v in clock.env().items() if not k.startswith("MINITOWER_")})
    e["LD_PRELOAD"] = FAKETIME_LIB  # the probe is python, never sanitized
    m0 = time.monotonic()
    out = subprocess.run(["/usr/bin/python3", "-c", PROBE], env=e, capture_output=True,
                         text=True, timeout=30, check=True).stdout.split()
    m1, now = time.monotonic(), time.time()
    wall, thread_wall, mono = (float(x) for x in out)
    check(80 < now - wall < 100, "main thread wall clock stepped: %r" % (now - wall))
    check(80 < now - thread_wall < 100, "other thread stepped: %r" % (now - thread_wall))
    check(m0 - 0.01 <= mono <= m1 + 0.01, "monotonic untouched: %r not in [%r, %r]" % (mono, m0, m1))
    with_server(clock, lambda s: check_step_reaches(s, clock))


def check_step_reaches(s, clock):
    before = server_wall_s(s)
    check(abs(before - time.time()) < 30, "the server's wall clock starts near ours")
    clock.set("-90")
    after = server_wall_s(s)
    check(70 < time.time() - after < 110, "the step reached the server: %r" % (time.time() - after))


@test
def step_back_reaps_a_silent_lease_on_time(clock):
    """(a) After a 90 s step back, a runner that went silent loses its lease
    after about the TTL, not 90 s later."""
    def body(s):
        w, rid, _, _ = leased_and_started(s)
        clock.set("-90")
        t0 = time.time()
        check(wait_for(lambda: run_status(w, rid) == "queued", timeout=BOUND_S),
              "re-queued within %d s of the step (status %s)" % (BOUND_S, run_status(w, rid)))
        print("# reaped %.1f s after the step (TTL %d s)" % (time.time() - t0, TTL_S))
        eq(w.run(rid).json["retry_count"], 1)
    with_server(clock, body)


@test
def step_forward_keeps_a_live_lease(clock):
    """(b) After a 90 s step forward, a runner that keeps heartbeating every
    TTL/3 keeps its lease and stays online: heartbeats answer 200 for more
    than two TTLs, nothing is retried, and the result is accepted."""
    def body(s):
        w, rid, rn, tok = leased_and_started(s)
        eq(rn.heartbeat(rid, tok).status, 200)
        clock.set("+90")
        end = time.time() + 2.5 * TTL_S
        codes = []
        while time.time() < end:
            time.sleep(TTL_S / 3.0)
            codes.append(rn.heartbeat(rid, tok).status)
        eq(sorted(set(codes)), [200], "heartbeats after the step")
        r = w.run(rid).json
        eq((r["status"], r["retry_count"]), ("running", 0))
        eq(s.logs("run requeued"), [])
        eq(s.logs("marked stale runners offline"), [])
        steps = [x["step_ms"] for x in s.logs("wall clock stepped")]
        check(len(steps) == 1 and 88000 < steps[0] < 92000, "step logged once: %r" % steps)
        eq(rn.result(rid, tok).status, 200)
        eq(run_status(w, rid), "completed")
    with_server(clock, body)


def timed(fn, out):
    t0 = time.time()
    try:
        out["r"] = fn()
    except Exception as e:  # noqa: BLE001 - reported by the caller
        out["r"] = e
    out["s"] = time.time() - t0


@test
def step_back_does_not_stretch_long_polls(clock):
    """(c) A heartbeat with ?wait= and an idle lease long poll that are
    waiting when the clock steps 90 s back still end after their wait, and
    the run keeps its lease."""
    def body(s):
        w, rid, rn, tok = leased_and_started(s)
        idle = Runner(s)
        for c in (rn.c, idle.c):
            c.close()
            c.timeout = 20  # a wall-clock server holds them 90 s longer
        hb, ls = {}, {}
        threads = [threading.Thread(target=timed, args=(lambda: rn.heartbeat(rid, tok, wait=1), hb)),
                   threading.Thread(target=timed, args=(lambda: idle.lease(wait=2), ls))]
        for t in threads:
            t.start()
        time.sleep(0.4)  # both are parked now
        clock.set("-90")
        for t in threads:
            t.join(30)
        check(isinstance(hb.get("r"), Resp) and hb["r"].status == 200,
              "heartbeat ?wait=1 answered: %r" % hb)
        check(hb["s"] < 5, "heartbeat ?wait=1 took %.1f s" % hb["s"])
        check(isinstance(ls.get("r"), Resp) and ls["r"].status == 204,
              "lease ?wait=2 answered: %r" % ls)
        check(ls["s"] < 6, "lease ?wait=2 took %.1f s" % ls["s"])
        for _ in range(6):  # the runner goes on with waiting heartbeats
            eq(rn.heartbeat(rid, tok, wait=1).status, 200)
        eq(w.run(rid).json["status"], "running")
        eq(rn.result(rid, tok).status, 200)
    with_server(clock, body)


@test
def restart_clamps_expiries_set_before_a_step(clock):
    """A lease renewed after a step back carries an expiry 90 s ahead of the
    wall clock; a server restarted on the database clamps it to TTL from its
    start (and logs it), so a runner that died with the first server loses
    its lease after about the TTL."""
    d = tempfile.mkdtemp(prefix="mt-clock-")
    env = {"MINITOWER_DB_PATH": os.path.join(d, "mt.db"),
           "MINITOWER_OBJECTS_DIR": os.path.join(d, "objects")}
    clock.set("+0")
    s1 = Server(clock.env(env))
    try:
        w, rid, rn, tok = leased_and_started(s1)
        clock.set("-90")
        eq(rn.heartbeat(rid, tok).status, 200)
        team_token, app = w.token, w.app
    finally:
        s1.proc.kill()  # the runner and the server die together
        s1.stop()
    s2 = Server(clock.env(env))
    try:
        w.s, w.c, w.token, w.app = s2, s2.client(), team_token, app
        t0 = time.time()
        check(wait_for(lambda: run_status(w, rid) == "queued", timeout=BOUND_S),
              "re-queued within %d s of the restart" % BOUND_S)
        print("# reaped %.1f s after the restart" % (time.time() - t0))
        got = s2.logs("lease expiries clamped")
        eq([x.get("count") for x in got], [1], "clamp log")
    finally:
        eq(s2.stop(), 0)
    db = sqlite3.connect(env["MINITOWER_DB_PATH"])
    eq(db.execute("SELECT status, reason FROM run_attempts WHERE run_id=?", (rid,)).fetchall(),
       [("expired", "lease_expired")])
    db.close()


def with_server(clock, body):
    clock.set("+0")
    s = Server(clock.env())
    try:
        body(s)
    finally:
        rc = s.stop()
    eq(rc, 0, "minitowerd exit status")


def main():
    why = skip_reason()
    if why is not None:
        for i, fn in enumerate(tap.tests, 1):
            print("ok %d - %s # SKIP %s" % (i, fn.__name__, why))
        print("1..%d" % len(tap.tests))
        return 0
    clock = FakeClock()
    try:
        return tap.main(clock)
    finally:
        clock.close()


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
