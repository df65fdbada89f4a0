#!/usr/bin/env python3
"""GET /api/v1/runs/stats and /api/v1/apps/{app}/stats (issue 17): the
numbers equal those computed independently from the run objects of the API
(counts by final status per bucket, success rate, p50/p95 of duration and
queue wait rounded down to two significant digits), every bucket listed,
other teams and apps kept apart, and every bad parameter a 400."""
import datetime
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from runs_common import Runner, Tap, World, check, eq, run_suite  # noqa: E402

tap = Tap()
test = tap.test
FINAL = ("completed", "failed", "cancelled", "dead")


def ms(ts):
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def iso(m):
    return datetime.datetime.fromtimestamp(m / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (m % 1000)


def round2(v):
    v = max(v, 0)
    if v < 100:
        return v
    p = 10 ** (len(str(v)) - 2)
    return v - v % p


def pct(values, p):
    values = sorted(values)
    return values[max(1, math.ceil(p * len(values) - 1e-9)) - 1]


def expect(runs):
    out = {"runs": len(runs)}
    for s in FINAL:
        out[s] = sum(1 for r in runs if r["status"] == s)
    judged = out["completed"] + out["failed"] + out["dead"]
    if judged:
        out["success_rate"] = math.floor(out["completed"] * 10000 / judged) / 10000
    started = [r for r in runs if r.get("started_at")]
    if started:
        d = [round2(ms(r["finished_at"]) - ms(r["started_at"])) for r in started]
        w = [round2(ms(r["started_at"]) - ms(r["queued_at"])) for r in started]
        out["duration_ms"] = {"p50": pct(d, .5), "p95": pct(d, .95)}
        out["wait_ms"] = {"p50": pct(w, .5), "p95": pct(w, .95)}
    return out


def all_runs(w, app=None):
    got, off = [], 0
    while True:
        q = "/api/v1/runs?limit=100&offset=%d%s" % (off, "&app=" + app if app else "")
        page = w.c.call("GET", q, token=w.token).json["runs"]
        got += page
        if len(page) < 100:
            return [r for r in got if r["status"] in FINAL]
        off += 100


def workload(s, w, n=40, seed=7):
    """n runs ending in every final status, with varied (real) durations."""
    rnd = random.Random(seed)
    rn = Runner(s)
    for i in range(n):
        rid = w.create().json["run_id"]
        fate = rnd.choice(["completed", "completed", "failed", "cancel_queued", "cancel_running"])
        if fate == "cancel_queued":
            eq(w.cancel(rid).status, 200)
            continue
        lease = rn.lease().json
        eq(lease["run_id"], rid)
        tok = lease["lease_token"]
        eq(rn.start(rid, tok).status, 200)
        time.sleep(rnd.choice([0, 0.005, 0.02, 0.12]))
        if fate == "cancel_running":
            w.cancel(rid)
            eq(rn.result(rid, tok, status="cancelled", exit_code=None).status, 200)
        else:
            eq(rn.result(rid, tok, status=fate, exit_code=0 if fate == "completed" else 3).status, 200)


@test
def numbers_match_the_runs(s):
    w = World(s)
    workload(s, w)
    runs = all_runs(w)
    check(len(runs) == 40, "40 ended runs, got %d" % len(runs))
    r = w.c.call("GET", "/api/v1/runs/stats?bucket=hour", token=w.token)
    eq(r.status, 200, r.text)
    st = r.json
    eq(list(st.keys()), ["bucket", "since", "until", "totals", "buckets"])
    eq(st["bucket"], "hour")
    eq(len(st["buckets"]), 24, "24 hourly buckets by default")
    eq(st["totals"], expect(runs), "totals")
    check(set(x["status"] for x in runs) == set(["completed", "failed", "cancelled"]), "a mix of outcomes")
    for b in st["buckets"]:
        start = ms(b["start"])
        mine = [x for x in runs if start <= ms(x["finished_at"]) < start + 3600000]
        want = expect(mine)
        got = {k: v for k, v in b.items() if k != "start"}
        eq(got, want, "bucket %s" % b["start"])
    eq(ms(st["buckets"][0]["start"]) % 3600000, 0, "buckets start on the hour")
    d = w.c.call("GET", "/api/v1/runs/stats", token=w.token).json
    eq(d["bucket"], "day")
    eq(len(d["buckets"]), 7, "7 daily buckets by default")
    eq(d["totals"], expect(runs))
    eq(sum(b["runs"] for b in d["buckets"]), 40)


@test
def app_filter_and_teams(s):
    w = World(s)
    workload(s, w, n=12, seed=3)
    app2 = w.app + "x"
    eq(w.c.call("POST", "/api/v1/apps", {"slug": app2}, token=w.token).status, 201)
    first = w.app
    w.app = app2
    w.upload()
    workload(s, w, n=6, seed=4)
    w.app = first
    for app in (first, app2):
        want = expect(all_runs(w, app))
        eq(w.c.call("GET", "/api/v1/apps/%s/stats" % app, token=w.token).json["totals"], want, app)
        eq(w.c.call("GET", "/api/v1/runs/stats?app=" + app, token=w.token).json["totals"], want, "?app=" + app)
    eq(w.c.call("GET", "/api/v1/runs/stats", token=w.token).json["totals"]["runs"], 18)
    eq(w.c.call("GET", "/api/v1/runs/stats?app=nosuch", token=w.token).json["totals"]["runs"], 0)
    other = World(s)
    t = other.c.call("GET", "/api/v1/runs/stats", token=other.token).json["totals"]
    eq(t, {"runs": 0, "completed": 0, "failed": 0, "cancelled": 0, "dead": 0}, "another team sees none")
    eq(other.c.call("GET", "/api/v1/apps/%s/stats" % first, token=other.token).error()[0], 404)


@test
def explicit_range(s):
    w = World(s)
    workload(s, w, n=5, seed=9)
    now = int(time.time() * 1000)
    since = iso(now - 3 * 86400000)
    r = w.c.call("GET", "/api/v1/runs/stats?bucket=day&since=%s&until=%s" % (since, iso(now + 1000)), token=w.token)
    eq(r.status, 200, r.text)
    eq(len(r.json["buckets"]), 4)
    eq(r.json["since"], iso((now - 3 * 86400000) // 86400000 * 86400000), "since rounded down to the day")
    eq(r.json["totals"]["runs"], 5)
    eq(r.json["until"], iso(now + 1000), "until as given")
    past = w.c.call("GET", "/api/v1/runs/stats?bucket=hour&since=%s&until=%s" %
                    (iso(now - 5 * 3600000), iso(now - 4 * 3600000)), token=w.token).json
    eq(past["totals"]["runs"], 0, "a range before the runs is empty")
    eq(len(past["buckets"]), 2)


@test
def bad_parameters(s):
    w = World(s)
    cases = [("bucket=week", "bucket must be hour or day"), ("since=yesterday", "since must be an RFC 3339 time"),
             ("until=2026-13-01T00:00:00Z", "until must be an RFC 3339 time"),
             ("since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "since must not be after until"),
             ("bucket=hour&since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z", "too many buckets: at most 744 hours"),
             ("since=2020-01-01T00:00:00Z&until=2026-03-01T00:00:00Z", "too many buckets: at most 366 days")]
    for q, msg in cases:
        for path in ("/api/v1/runs/stats?", "/api/v1/apps/%s/stats?" % w.app):
            eq(w.c.call("GET", path + q, token=w.token).error(), (400, "invalid_request", msg), path + q)
    eq(w.c.call("GET", "/api/v1/runs/stats").error()[0], 401)
    eq(w.c.call("POST", "/api/v1/runs/stats", token=w.token).error()[0], 405)
    eq(w.c.call("GET", "/api/v1/apps/nosuch/stats", token=w.token).error()[0], 404)


if __name__ == "__main__":
    run_suite(tap)
