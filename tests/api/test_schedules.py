"""API tests of schedules (issue 14, docs/schedules.md) against a real
minitowerd, with a real minitower-runner where a run must really execute
and the runner protocol where a run must stay active for a known time: an
every-second schedule fires runs on time; the four overlap policies;
pause/resume/trigger with Idempotency-Key; pause after failures; kill -9 of
minitowerd across fire times then a restart (one catch-up fire inside the
window, skipped_missed outside, never a duplicate fire time, no gap); input
and expression errors; tenant isolation; a latest-version schedule whose new
version types a parameter records `failed` and fires again once its input
is fixed; wall-clock steps under libfaketime (no double fire, no burst).
Bounds are generous and every wait polls with a deadline. Prints TAP."""
import calendar
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtserver import REG_TOKEN, Server, Tap  # noqa: E402
import test_clock  # noqa: E402  (FakeClock: libfaketime, sanitizer runtime first)
from test_runner_e2e import Runner as RealRunner  # noqa: E402

t = Tap()
test = t.test
EVERY_SECOND = "* * * * * *"


def wait_for(cond, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def ts(s):
    """RFC 3339 with milliseconds -> Unix ms."""
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(s[20:23])


class Team:
    """A team with one app and a version on server s."""

    def __init__(self, s, towerfile_extra="", script="main.sh", body="echo scheduled\n"):
        self.s = s
        self.slug = "t" + uuid.uuid4().hex[:10]
        self.token = s.signup(self.slug)
        self.app = "app" + uuid.uuid4().hex[:8]
        st, _, b = self.call("POST", "/api/v1/apps", {"slug": self.app})
        assert st == 201, (st, b)
        self.script, self.body = script, body
        self.upload(towerfile_extra)

    def upload(self, extra=""):
        tf = '[app]\nname = "%s"\nscript = "%s"\n%s' % (self.app, self.script, extra)
        st, _, b = self.s.upload(self.token, self.app, {"Towerfile": tf, self.script: self.body})
        assert st == 201, (st, b)
        return b

    def call(self, method, path, body=None, headers=None):
        return self.s.req(method, path, body, token=self.token, headers=headers)

    def schedule(self, **body):
        body.setdefault("name", "s" + uuid.uuid4().hex[:8])
        body.setdefault("cron", EVERY_SECOND)
        st, _, b = self.call("POST", "/api/v1/apps/%s/schedules" % self.app, body)
        assert st == 201, (st, b)
        return b

    def fires(self, sid, limit=100):
        st, _, b = self.call("GET", "/api/v1/schedules/%d/fires?limit=%d" % (sid, limit))
        assert st == 200, (st, b)
        return b["fires"]

    def runs(self, sid):
        st, _, b = self.call("GET", "/api/v1/runs?schedule_id=%d&limit=100" % sid)
        assert st == 200, (st, b)
        return b["runs"]

    def get(self, sid):
        st, _, b = self.call("GET", "/api/v1/schedules/%d" % sid)
        assert st == 200, (st, b)
        return b

    def stop(self, sid):
        st, _, b = self.call("POST", "/api/v1/schedules/%d/pause" % sid)
        assert st == 200, (st, b)

    def finish(self, sid):
        """Pauses the schedule and cancels its active runs, so that a later
        test's runner leases only that test's runs."""
        self.stop(sid)
        for r in self.runs(sid):
            if r["status"] in ("queued", "leased", "running"):
                self.call("POST", "/api/v1/runs/%d/cancel" % r["run_id"])


def outcomes(fires):
    return [f["outcome"] for f in fires]


def no_duplicates(fires):
    times = [f["fire_time"] for f in fires]
    assert len(times) == len(set(times)), ("duplicate fire times", times)


class ProtoRunner:
    """The runner protocol by hand: a run it leases and starts stays running
    until it reports a result, so it outlives any interval."""

    def __init__(self, s, env="default"):
        self.s = s
        st, _, b = s.req("POST", "/api/v1/runners/register",
                         {"name": "p-" + uuid.uuid4().hex[:8], "environment": env},
                         token=REG_TOKEN)
        assert st in (200, 201), (st, b)
        self.token = b["token"]

    def lease_start(self):
        st, _, b = self.s.req("POST", "/api/v1/runs/lease?wait=10", token=self.token)
        assert st == 200, (st, b)
        rid, lease = b["run_id"], b["lease_token"]
        st, _, b = self.s.req("POST", "/api/v1/runs/%d/start" % rid, token=self.token,
                              headers={"X-Lease-Token": lease})
        assert st == 200, (st, b)
        return rid, lease

    def lease_nothing(self, wait=1):
        st, _, b = self.s.req("POST", "/api/v1/runs/lease?wait=%d" % wait, token=self.token)
        assert st == 204, ("expected no run to lease", st, b)

    def result(self, rid, lease, status):
        body = {"status": status, "exit_code": 0 if status == "completed" else 1}
        st, _, b = self.s.req("POST", "/api/v1/runs/%d/result" % rid, body, token=self.token,
                              headers={"X-Lease-Token": lease})
        assert st == 200, (st, b)


# ---- tests on the shared server (real runner "sched-r1" serves env "real") ----

@test
def every_second_schedule_fires_runs_on_time(s):
    """A six-field every-second schedule (allow) with a real runner: at
    least 4 fires, each created run has schedule_id and scheduled_for equal
    to its fire time, was queued within 2 s of it, and completes."""
    tm = Team(s)
    rr = RealRunner(s, "sched-r1").start()
    try:
        sid = tm.schedule(overlap_policy="allow")["schedule_id"]
        wait_for(lambda: len([f for f in tm.fires(sid) if f["outcome"] == "created"]) >= 4, 30,
                 "4 fires")
        tm.stop(sid)
        last = max(f["run_id"] for f in tm.fires(sid) if f["outcome"] == "created")
        wait_for(lambda: tm.call("GET", "/api/v1/runs/%d" % last)[2]["status"] == "completed",
                 60, "the last run completes")
    finally:
        rr.stop(hurry=True)
    fires = [f for f in tm.fires(sid) if f["outcome"] == "created"]
    no_duplicates(fires)
    runs = {r["run_id"]: r for r in tm.runs(sid)}
    for f in fires:
        r = runs[f["run_id"]]
        assert r["schedule_id"] == sid and r["scheduled_for"] == f["fire_time"], (r, f)
        lag = ts(r["queued_at"]) - ts(f["fire_time"])
        assert 0 <= lag < 2000, ("lag", lag, r, f)
        assert ts(f["fire_time"]) % 1000 == 0, f
        assert r["status"] == "completed", r
    # a plain run has neither field (omitted, never null)
    st, _, b = tm.call("POST", "/api/v1/apps/%s/runs" % tm.app, {})
    assert st == 201 and "schedule_id" not in b and "scheduled_for" not in b, b


@test
def overlap_skip(s):
    """skip: while the first run is running, every fire is skipped_overlap."""
    tm, rn = Team(s), ProtoRunner(s)
    sid = tm.schedule(overlap_policy="skip")["schedule_id"]
    rid, lease = rn.lease_start()
    wait_for(lambda: outcomes(tm.fires(sid)).count("skipped_overlap") >= 2, 20, "skips")
    tm.stop(sid)
    assert len(tm.runs(sid)) == 1, tm.runs(sid)
    rn.result(rid, lease, "completed")
    tm.finish(sid)


@test
def overlap_allow(s):
    """allow: runs pile up while the first one runs."""
    tm, rn = Team(s), ProtoRunner(s)
    sid = tm.schedule(overlap_policy="allow")["schedule_id"]
    rid, lease = rn.lease_start()
    wait_for(lambda: len(tm.runs(sid)) >= 3, 20, "three runs")
    tm.stop(sid)
    assert "skipped_overlap" not in outcomes(tm.fires(sid))
    rn.result(rid, lease, "completed")
    tm.finish(sid)


@test
def overlap_queue_one(s):
    """queue_one: one run waits behind the running one, the rest skip; a
    second free runner does not get the waiting run until the first ends."""
    tm, rn, rn2 = Team(s), ProtoRunner(s), ProtoRunner(s)
    sid = tm.schedule(overlap_policy="queue_one")["schedule_id"]
    rid, lease = rn.lease_start()
    wait_for(lambda: outcomes(tm.fires(sid)).count("skipped_overlap") >= 2, 20, "skips")
    tm.stop(sid)
    runs = tm.runs(sid)
    statuses = sorted(r["status"] for r in runs)
    assert statuses == ["queued", "running"], statuses
    rn2.lease_nothing()
    rn.result(rid, lease, "completed")
    rid2, lease2 = rn2.lease_start()
    assert rid2 != rid and rid2 in [r["run_id"] for r in runs], (rid2, runs)
    rn2.result(rid2, lease2, "completed")
    tm.finish(sid)


@test
def overlap_cancel_previous(s):
    """cancel_previous: the running run is cancelled, then a new one made."""
    tm, rn = Team(s), ProtoRunner(s)
    sid = tm.schedule(overlap_policy="cancel_previous")["schedule_id"]
    rid, lease = rn.lease_start()
    wait_for(lambda: tm.call("GET", "/api/v1/runs/%d" % rid)[2]["status"] == "cancelling", 20,
             "the running run is being cancelled")
    tm.stop(sid)
    assert "skipped_overlap" not in outcomes(tm.fires(sid))
    assert len(tm.runs(sid)) >= 2
    tm.finish(sid)


@test
def pause_resume_trigger(s):
    """pause: fires become skipped_paused and make no run; resume: runs
    again; trigger: one run now, replayed by its Idempotency-Key."""
    tm = Team(s)
    sc = tm.schedule(overlap_policy="allow", cron="* * * * * *")
    sid = sc["schedule_id"]
    wait_for(lambda: len(tm.runs(sid)) >= 1, 20, "a run")
    st, _, b = tm.call("POST", "/api/v1/schedules/%d/pause" % sid)
    assert st == 200 and b["enabled"] is False and b["paused_reason"], b
    n = len(tm.runs(sid))
    wait_for(lambda: outcomes(tm.fires(sid)).count("skipped_paused") >= 2, 20, "paused fires")
    assert len(tm.runs(sid)) == n
    st, _, b = tm.call("POST", "/api/v1/schedules/%d/trigger" % sid,
                       headers={"Idempotency-Key": "once"})
    assert st == 201 and b["outcome"] == "created" and b["manual"] is True, (st, b)
    st2, h2, b2 = tm.call("POST", "/api/v1/schedules/%d/trigger" % sid,
                          headers={"Idempotency-Key": "once"})
    assert st2 == 200 and h2.get("idempotent-replayed") == "true", (st2, b2)
    assert b2["fire_id"] == b["fire_id"] and b2["run_id"] == b["run_id"], (b, b2)
    assert len(tm.runs(sid)) == n + 1
    st, _, b = tm.call("POST", "/api/v1/schedules/%d/resume" % sid)
    assert st == 200 and b["enabled"] is True and "paused_reason" not in b, b
    wait_for(lambda: len(tm.runs(sid)) >= n + 2, 20, "runs after resume")
    tm.finish(sid)
    st, _, _ = tm.call("DELETE", "/api/v1/schedules/%d" % sid)
    assert st == 204
    assert tm.call("GET", "/api/v1/schedules/%d" % sid)[0] == 404
    # deleting keeps the runs, with their schedule_id
    assert all(r["schedule_id"] == sid for r in tm.runs(sid)) and tm.runs(sid)


@test
def pause_after_failures(s):
    """pause_after_failures = 2: two failed runs in a row disable the
    schedule with a reason; a completed run in between resets the count."""
    tm, rn = Team(s), ProtoRunner(s)
    sid = tm.schedule(overlap_policy="skip", pause_after_failures=2)["schedule_id"]
    for status in ("failed", "completed", "failed"):
        rid, lease = rn.lease_start()
        rn.result(rid, lease, status)
    assert tm.get(sid)["enabled"] is True and tm.get(sid)["consecutive_failures"] == 1
    rid, lease = rn.lease_start()
    rn.result(rid, lease, "failed")
    b = wait_for(lambda: (lambda g: g if not g["enabled"] else None)(tm.get(sid)), 10, "paused")
    assert b["consecutive_failures"] == 2 and "2 consecutive" in b["paused_reason"], b
    assert any(l for l in s.lines if '"schedule paused"' in l and '"schedule_id":%d' % sid in l)
    tm.finish(sid)


@test
def invalid_expressions_zones_and_input(s):
    """400 invalid_request naming the field and the reason; 409 on a taken
    name; the preview answers the same errors."""
    tm = Team(s, towerfile_extra='\n[[parameters]]\nname = "n"\ntype = "integer"\n')
    base = "/api/v1/apps/%s/schedules" % tm.app
    cases = [
        ({"name": "a1x", "cron": "0 0 30 2 *"}, "never fire"),
        ({"name": "a1x", "cron": "0 0 L * *"}, "'L'"),
        ({"name": "a1x", "cron": "61 * * * *"}, "minute"),
        ({"name": "a1x", "cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "a1x", "cron": "* * * * *", "input": {"n": "x"}}, "input does not match schema"),
        ({"name": "a1x", "cron": "* * * * *", "overlap_policy": "never"}, "overlap_policy"),
        ({"name": "a1x", "cron": "* * * * *", "catchup_window_s": 90000}, "catchup_window_s"),
        ({"name": "a1x"}, "cron is required"),
    ]
    for body, want in cases:
        st, _, b = tm.call("POST", base, body)
        assert st == 400 and b["error"]["code"] == "invalid_request", (body, st, b)
        assert want in b["error"]["message"], (body, b)
    st, _, b = tm.call("POST", base, {"name": "Bad Name", "cron": "* * * * *"})
    assert st == 400 and b["error"]["code"] == "invalid_slug", b
    tm.schedule(name="dup", cron="0 0 * * *")
    st, _, b = tm.call("POST", base, {"name": "dup", "cron": "0 0 * * *"})
    assert st == 409, (st, b)
    st, _, b = tm.call("GET", "/api/v1/schedules/preview?cron=0%200%2030%202%20*")
    assert st == 400 and "never fire" in b["error"]["message"], b
    st, _, b = tm.call("GET", "/api/v1/schedules/preview?cron=*%20*%20*%20*%20*&timezone=Nope/No")
    assert st == 400 and "timezone" in b["error"]["message"], b
    st, _, b = tm.call("GET", "/api/v1/schedules/preview?cron=30%209%20*%20*%20*"
                       "&timezone=Asia/Kathmandu&count=3")
    assert st == 200 and len(b["fire_times"]) == 3, b
    assert all(x.endswith("03:45:00.000Z") for x in b["fire_times"]), b  # 09:30 +05:45


@test
def tenant_isolation(s):
    """Another team's schedule is 404 on every route; its app too."""
    a, other = Team(s), Team(s)
    sid = a.schedule(cron="0 0 * * *")["schedule_id"]
    for method, sub in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"),
                        ("POST", "/resume"), ("POST", "/trigger"), ("GET", "/fires")):
        st, _, b = other.call(method, "/api/v1/schedules/%d%s" % (sid, sub),
                              {} if method == "PATCH" else None)
        assert st == 404, (method, sub, st, b)
    st, _, _ = other.call("GET", "/api/v1/apps/%s/schedules" % a.app)
    assert st == 404
    st, _, b = other.call("GET", "/api/v1/runs?schedule_id=%d" % sid)
    assert st == 200 and b["runs"] == [], b
    assert a.get(sid)["enabled"] is True


@test
def new_version_types_a_parameter_then_input_fixed(s):
    """A latest-version schedule with input n="five": v2 declares n an
    integer, so fires record `failed` with the validation message (still
    enabled); PATCH input n=5 makes it create runs of v2 again."""
    tm = Team(s)
    sid = tm.schedule(overlap_policy="allow", input={"n": "five"})["schedule_id"]
    wait_for(lambda: "created" in outcomes(tm.fires(sid)), 20, "a run of v1")
    tm.upload('\n[[parameters]]\nname = "n"\ntype = "integer"\n')
    f = wait_for(lambda: [x for x in tm.fires(sid) if x["outcome"] == "failed"], 20, "failed")
    assert "input does not match schema" in f[0]["reason"], f[0]
    assert tm.get(sid)["enabled"] is True
    st, _, b = tm.call("PATCH", "/api/v1/schedules/%d" % sid, {"input": {"n": 5}})
    assert st == 200 and b["input"] == {"n": 5}, (st, b)
    first_fix = ts(b["updated_at"])
    wait_for(lambda: [x for x in tm.fires(sid) if x["outcome"] == "created" and
                      ts(x["fire_time"]) > first_fix], 20, "created after the fix")
    tm.finish(sid)
    newest = [r for r in tm.runs(sid) if ts(r["queued_at"]) > first_fix]
    assert newest and all(r["version_no"] == 2 and r["input"] == {"n": 5} for r in newest), newest


@test
def towerfile_schedule_follows_deploys(s):
    """[app] schedule / schedule_timezone: a deploy creates the schedule
    named "towerfile", a changed one updates it, one without removes it;
    a schedule made through the API is untouched; a bad key is refused at
    upload like every other Towerfile key."""
    tm = Team(s)
    api_sid = tm.schedule(name="api-made", cron="0 1 * * *")["schedule_id"]

    def managed():
        st, _, b = tm.call("GET", "/api/v1/apps/%s/schedules" % tm.app)
        assert st == 200, (st, b)
        return [x for x in b["schedules"] if x["name"] == "towerfile"]

    tm.upload('schedule = "0 6 * * *"\nschedule_timezone = "America/New_York"\n')
    m = managed()
    assert len(m) == 1 and m[0]["managed_by"] == "towerfile", m
    assert m[0]["cron"] == "0 6 * * *" and m[0]["timezone"] == "America/New_York", m
    assert m[0]["next_fire_at"][11:13] in ("10", "11"), m  # 06:00 New York in UTC
    tm.upload('schedule = "*/5 * * * *"\n')
    m2 = managed()
    assert m2[0]["schedule_id"] == m[0]["schedule_id"] and m2[0]["cron"] == "*/5 * * * *", m2
    assert m2[0]["timezone"] == "UTC", m2
    tm.upload("")
    assert managed() == []
    assert tm.get(api_sid)["cron"] == "0 1 * * *"
    for extra, want in (('schedule = "0 0 L * *"\n', "app.schedule: cron:"),
                        ('schedule = "* * * * *"\nschedule_timezone = "Mars/Base"\n',
                         "app.schedule_timezone: unknown time zone"),
                        ('schedule = 5\n', "app.schedule must be a string")):
        tf = '[app]\nname = "%s"\nscript = "%s"\n%s' % (tm.app, tm.script, extra)
        st, _, b = tm.s.upload(tm.token, tm.app, {"Towerfile": tf, tm.script: tm.body})
        assert st == 400 and b["error"]["code"] == "TOWERFILE_INVALID", (extra, st, b)
        assert want in b["error"]["message"], (extra, b)


# ---- tests with their own servers ----

def done(srv):
    """Stops a server and removes its directory."""
    srv.stop()
    shutil.rmtree(srv.tmp, ignore_errors=True)


def own_server(env=None, db_path=None, **kw):
    e = {"MINITOWER_LEASE_TTL": "5s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "250ms"}
    e.update(env or {})
    return Server(env=e, db_path=db_path, **kw).start()


@test
def kill9_restart_catches_up_once(s):
    """kill -9 of minitowerd for ~4 s over an every-second schedule, then a
    restart on the same database: with catchup_window_s 60 exactly one of
    the missed times makes a run (the most recent), the others are
    skipped_missed; with catchup_window_s 0 all are skipped_missed; no fire
    time is recorded twice and none is missing."""
    d = tempfile.mkdtemp(prefix="mt-sched-")
    db = os.path.join(d, "mt.db")
    s1 = own_server(db_path=db)
    try:
        tm = Team(s1)
        win = tm.schedule(overlap_policy="allow", catchup_window_s=60)["schedule_id"]
        zero = tm.schedule(overlap_policy="allow", catchup_window_s=0)["schedule_id"]
        wait_for(lambda: len(tm.fires(win)) >= 2 and len(tm.fires(zero)) >= 2, 20, "fires")
        s1.proc.send_signal(signal.SIGKILL)
        s1.proc.wait()
        killed_ms = int(time.time() * 1000)
        time.sleep(4)
        restart_ms = int(time.time() * 1000)
        s2 = own_server(db_path=db, env={"MINITOWER_OBJECTS_DIR": s1.env["MINITOWER_OBJECTS_DIR"]})
        try:
            tm.s = s2
            wait_for(lambda: any(ts(f["fire_time"]) > restart_ms + 1000 for f in tm.fires(zero)) and
                     any(ts(f["fire_time"]) > restart_ms + 1000 for f in tm.fires(win)), 20,
                     "fires after the restart")
            tm.stop(win)
            tm.stop(zero)
            for sid, window in ((win, True), (zero, False)):
                fires = tm.fires(sid, 100)
                no_duplicates(fires)
                times = sorted(ts(f["fire_time"]) for f in fires)
                assert times == list(range(times[0], times[-1] + 1000, 1000)), ("gap", times)
                down = [f for f in fires if killed_ms - 1000 < ts(f["fire_time"]) < restart_ms]
                assert len(down) >= 3, (down, killed_ms, restart_ms)
                made = [f for f in down if f["outcome"] == "created"]
                if window:
                    assert len(made) <= 2, made  # one catch-up (+ one fired just before the kill)
                    caught = [f for f in down if ts(f["created_at"]) >= restart_ms]
                    assert [f["outcome"] for f in caught].count("created") == 1, caught
                    latest = max(caught, key=lambda f: ts(f["fire_time"]))
                    assert latest["outcome"] == "created", caught
                else:
                    caught = [f for f in down if ts(f["created_at"]) >= restart_ms]
                    assert caught and all(f["outcome"] == "skipped_missed" for f in caught), caught
            con = sqlite3.connect(db, timeout=10)
            dup = con.execute("SELECT COUNT(*) FROM (SELECT schedule_id, fire_time FROM "
                              "schedule_fires GROUP BY 1, 2 HAVING COUNT(*) > 1)").fetchone()[0]
            con.close()
            assert dup == 0
        finally:
            done(s2)
    finally:
        done(s1)
        shutil.rmtree(d, ignore_errors=True)


@test
def wall_clock_steps_no_double_fire_no_burst(s):
    """Under libfaketime: a 90 s step forward records the skipped times as
    skipped_missed and makes one run, not 90; a 90 s step back makes no run
    for a time already fired. Fire times stay unique throughout."""
    why = test_clock.skip_reason()
    if why:
        print("# SKIP %s" % why)
        return
    clock = test_clock.FakeClock("+0")
    srv = own_server(env=clock.env())
    try:
        tm = Team(srv)
        sid = tm.schedule(overlap_policy="allow")["schedule_id"]
        wait_for(lambda: len(tm.runs(sid)) >= 2, 20, "runs")
        before = len(tm.runs(sid))
        clock.set("+90")
        wait_for(lambda: outcomes(tm.fires(sid)).count("skipped_missed") >= 60, 20,
                 "missed times after the step forward")
        time.sleep(1.5)
        runs_after = len(tm.runs(sid)) - before
        elapsed_runs_bound = 8  # ~2-3 s of real time at one per second, generously
        assert runs_after <= elapsed_runs_bound, ("burst", runs_after)
        no_duplicates(tm.fires(sid))
        top = max(ts(f["fire_time"]) for f in tm.fires(sid))
        n = len(tm.runs(sid))
        clock.set("+0")  # 90 s back
        time.sleep(3)
        fires = tm.fires(sid)
        no_duplicates(fires)
        assert max(ts(f["fire_time"]) for f in fires) <= top + 2000, "fired past the step?"
        assert len(tm.runs(sid)) <= n + 1, ("runs after the step back", len(tm.runs(sid)) - n)
        tm.stop(sid)
    finally:
        done(srv)
        clock.close()


def main():
    only = os.environ.get("MT_SCHED_TESTS")	# a comma-separated subset
    if only:
        t.tests = [f for f in t.tests if f.__name__ in only.split(",")]
    s = own_server()
    try:
        t.run(s)
    finally:
        done(s)


if __name__ == "__main__":
    main()
