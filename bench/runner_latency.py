"""Client half of bench/runner_latency.sh: creates hello-world runs one after
the other and measures, per run, end-to-end latency (create request sent ->
`completed` seen by GET /api/v1/runs/{id}, polled every POLL_MS) and dispatch
latency (create request sent -> the runner's "leased run" log line, both on
this machine's wall clock).

usage: runner_latency.py URL TEAM_TOKEN RUNNER_LOG N WARMUP POLL_MS APP...
"""
import calendar
import http.client
import json
import math
import os
import sys
import time
import urllib.parse


def pct(xs, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


class Client:
    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        self.h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def req(self, method, path, body=None):
        self.conn.request(method, path, body=body, headers=self.h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, json.loads(data) if data else None


def one_run(c, app, poll_s):
    """Returns (run_id, t_create_ns, t_done_ns, run object)."""
    t0 = time.time_ns()
    st, b = c.req("POST", "/api/v1/apps/%s/runs" % app, "{}")
    assert st == 201, (st, b)
    rid = b["run_id"]
    deadline = time.time() + 120
    while True:
        st, r = c.req("GET", "/api/v1/runs/%d" % rid)
        assert st == 200, (st, r)
        if r["status"] in ("completed", "failed", "cancelled", "dead"):
            t1 = time.time_ns()
            assert r["status"] == "completed", r
            return rid, t0, t1, r
        assert time.time() < deadline, "run %d did not finish" % rid
        time.sleep(poll_s)


def rfc3339_ns(s):
    """'2026-11-29T20:08:51.37320358Z' (any fraction length) -> Unix ns."""
    main, frac = s.rstrip("Z").split(".") if "." in s else (s.rstrip("Z"), "0")
    secs = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])


def runner_events(path):
    """run_id -> {msg: time_ns} for the runner's per-run log lines."""
    ev = {}
    cur = None
    with open(path) as f:
        for line in f:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            if m.get("msg") == "leased run":
                cur = m["run_id"]
            if cur is not None:
                ev.setdefault(cur, {}).setdefault(m["msg"], rfc3339_ns(m["time"]))
    return ev


def ms(ns):
    return ns / 1e6


def main():
    url, token, log, n, warm, poll_ms = sys.argv[1:7]
    apps = list(dict.fromkeys(sys.argv[7:]))
    n, warm, poll_s = int(n), int(warm), float(poll_ms) / 1000.0
    c = Client(url, token)
    samples = {}
    for app in apps:
        for _ in range(warm):
            one_run(c, app, poll_s)
        # The first Python run builds the venv (~20 MB written): let the
        # writeback finish so it does not slow the server's fsyncs.
        os.sync()
        time.sleep(1)
        samples[app] = [one_run(c, app, poll_s) for _ in range(n)]
        if os.environ.get("BENCH_TRACE"):
            print(app, " ".join("%.0f" % ms(t1 - t0) for _, t0, t1, _ in samples[app]))
    time.sleep(0.5)     # let the runner's last log lines reach the file
    ev = runner_events(log)
    for app in apps:
        e2e, disp, prep, job, tail = [], [], [], [], []
        for rid, t0, t1, _ in samples[app]:
            e = ev.get(rid, {})
            e2e.append(ms(t1 - t0))
            if "leased run" in e:
                disp.append(ms(e["leased run"] - t0))
            if "leased run" in e and "artifact unpacked" in e:
                prep.append(ms(e["artifact unpacked"] - e["leased run"]))
            if "artifact unpacked" in e and "run completed" in e:
                job.append(ms(e["run completed"] - e["artifact unpacked"]))
            if "run completed" in e:
                tail.append(ms(t1 - e["run completed"]))
        q = max(1, len(e2e) // 4)
        print("%s: %d runs (end-to-end p50 of the first/last quarter: %.2f / %.2f ms)" %
              (app, len(e2e), pct(e2e[:q], 50), pct(e2e[-q:], 50)))
        for name, xs in (("end-to-end (create sent -> completed seen)", e2e),
                         ("dispatch (create sent -> lease received)", disp),
                         ("  start, download, unpack", prep),
                         ("  venv lookup, spawn, job, reap", job),
                         ("  log flush, result, client poll", tail)):
            if xs:
                print("  %-43s p50 %7.2f ms  p99 %7.2f ms  min %6.2f  max %7.2f" %
                      (name, pct(xs, 50), pct(xs, 99), min(xs), max(xs)))


if __name__ == "__main__":
    main()
