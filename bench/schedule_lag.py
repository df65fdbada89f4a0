"""Fire lag of schedules (issue 14): N every-second schedules (allow) on a
real minitowerd for D seconds; prints the p50/p99/max of the `lag_ms` of the
`schedule fired` log lines (fire time to the run's commit). Not a test.
    MT_BIN=bin /usr/bin/python3 bench/schedule_lag.py [schedules] [seconds]"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "api"))
from mtserver import Server  # noqa: E402
from test_schedules import Team, done  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    s = Server(env={"MINITOWER_ACCESS_LOG": "false"}).start()
    try:
        tm = Team(s)
        for _ in range(n):
            tm.schedule(overlap_policy="allow")
        time.sleep(secs)
        lags = sorted(json.loads(l)["lag_ms"] for l in list(s.lines)
                      if '"schedule fired"' in l)
    finally:
        done(s)
    if not lags:
        print("no fires")
        return 1
    q = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))]  # noqa: E731
    print("schedules=%d seconds=%d fires=%d lag_ms p50=%d p99=%d max=%d" % (
        n, secs, len(lags), q(0.5), q(0.99), lags[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
