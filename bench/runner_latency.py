"""Client half of bench/runner_latency.sh: creates hello-world runs one after
the other and measures, per run, end-to-end latency (create request sent ->
`completed` seen by GET /api/v1/runs/{id}, polled every POLL_MS) and dispatch
latency (create request sent -> the runner's "leased run" log line, both on
this machine's wall clock).

usage: runner_latency.py URL TEAM_TOKEN RUNNER_LOG N WARMUP POLL_MS APP...
       runner_latency.py summary SAMPLES.jsonl

With BENCH_JSON=FILE (and BENCH_LABEL, BENCH_ROUND) every app's samples are
appended to FILE as one JSON line; `summary` reads such a file (the rounds of
bench/runner_latency.sh sandbox) and prints the medians of the rounds per
variant and the deltas between variants.
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
    out = os.environ.get("BENCH_JSON")
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
        if out:
            with open(out, "a") as f:
                f.write(json.dumps({"label": os.environ.get("BENCH_LABEL", ""),
                                    "round": int(os.environ.get("BENCH_ROUND", "0")), "app": app,
                                    "e2e": e2e, "disp": disp, "prep": prep, "job": job,
                                    "tail": tail}) + "\n")
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


def median(xs):
    s = sorted(xs)
    k = len(s)
    return s[k // 2] if k % 2 else (s[k // 2 - 1] + s[k // 2]) / 2.0


# (name, key, percentile) of the summary's columns.
COLS = (("e2e p50", "e2e", 50), ("e2e p99", "e2e", 99), ("dispatch p50", "disp", 50),
        ("unpack p50", "prep", 50), ("spawn+job+reap p50", "job", 50),
        ("result+poll p50", "tail", 50))
# (A, B): rows "A - B" where both were measured.
PAIRS = (("bwrap", "none"), ("bwrap/nocg", "none/nocg"), ("none", "none/nocg"),
         ("bwrap", "bwrap/nocg"))


def summary(path):
    """Medians over rounds of each round's percentiles, per app and variant."""
    rows = [json.loads(line) for line in open(path) if line.strip()]
    labels = list(dict.fromkeys(r["label"] for r in rows))
    apps = list(dict.fromkeys(r["app"] for r in rows))
    # stat[app][label][round][key] = list of ms
    stat = {}
    for r in rows:
        stat.setdefault(r["app"], {}).setdefault(r["label"], {})[r["round"]] = r
    rounds = sorted(set(r["round"] for r in rows))
    print("Medians of %d rounds (each round: the percentile over its runs), ms; "
          "'pooled' = over all runs of all rounds" % len(rounds))
    for app in apps:
        print()
        print("%s, runs per round: %s" % (app, ", ".join(
            "%s %d" % (l, len(stat[app][l][rounds[0]]["e2e"])) for l in labels
            if rounds[0] in stat[app].get(l, {}))))
        print("| variant | e2e p50 per round | " + " | ".join(c[0] for c in COLS) +
              " | pooled p50 | pooled p99 |")
        print("|---" * (len(COLS) + 4) + "|")

        def per_round(l, key, p):
            return [pct(stat[app][l][rd][key], p) for rd in rounds
                    if rd in stat[app][l] and stat[app][l][rd][key]]

        for l in labels:
            if l not in stat[app]:
                continue
            pooled = [x for rd in rounds if rd in stat[app][l] for x in stat[app][l][rd]["e2e"]]
            print("| %s | %s | %s | %.2f | %.2f |" % (
                l, " / ".join("%.2f" % x for x in per_round(l, "e2e", 50)),
                " | ".join("%.2f" % median(per_round(l, k, p)) for _, k, p in COLS),
                pct(pooled, 50), pct(pooled, 99)))
        for a, b in PAIRS:
            if a not in stat[app] or b not in stat[app]:
                continue
            cells = []
            for _, k, p in COLS:
                d = [pct(stat[app][a][rd][k], p) - pct(stat[app][b][rd][k], p) for rd in rounds
                     if rd in stat[app][a] and rd in stat[app][b] and stat[app][a][rd][k]
                     and stat[app][b][rd][k]]
                cells.append("%+.2f" % median(d) if d else "")
            d50 = [pct(stat[app][a][rd]["e2e"], 50) - pct(stat[app][b][rd]["e2e"], 50)
                   for rd in rounds if rd in stat[app][a] and rd in stat[app][b]]
            print("| %s − %s | %s | %s | | |" % (a, b, " / ".join("%+.2f" % x for x in d50),
                                                 " | ".join(cells)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "summary":
        summary(sys.argv[2])
    else:
        main()
