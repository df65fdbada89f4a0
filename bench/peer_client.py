"""The enqueueing client of bench/bench.py, one process per measurement:

  peer_client.py mt URL TEAM_TOKEN APP N
  peer_client.py celery N        (BENCH_REDIS_URL etc. as in peer_tasks.py)
  peer_client.py rq N

Enqueues N jobs back to back, waits for every result and prints one JSON
line: {"enq": [unix s...], "done": [unix s...], "cpu_s": float} where done
is when the system recorded the job's result (MiniTower's finished_at, which
is durable when it is set; Celery's date_done; RQ's ended_at) and cpu_s the
client's own CPU time from the first enqueue to the last result. The mt mode
uses the standard library only; the others import celery or rq.
"""
import calendar
import datetime
import http.client
import json
import os
import sys
import time
import urllib.parse

DEADLINE_S = 300


def cpu_now():
    t = os.times()
    return t.user + t.system


def rfc3339(s):
    """'2026-11-27T03:04:09.870Z' -> unix seconds (float)."""
    main, _, frac = s.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def dt_unix(d):
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.timestamp()


class MT:
    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        self.h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def req(self, method, path, body=None):
        self.conn.request(method, path, body=body, headers=self.h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, json.loads(data) if data else None


TERMINAL = ("completed", "failed", "cancelled", "dead")


def mt_wait(c, rid, deadline):
    while True:
        st, r = c.req("GET", "/api/v1/runs/%d" % rid)
        assert st == 200, (st, r)
        if r["status"] in TERMINAL:
            assert r["status"] == "completed", r
            return r
        assert time.time() < deadline, "run %d did not finish" % rid
        time.sleep(0.01)


def run_mt(url, token, app, n):
    c = MT(url, token)
    c0 = cpu_now()
    enq = {}
    for _ in range(n):
        t = time.time()
        st, b = c.req("POST", "/api/v1/apps/%s/runs" % app, "{}")
        assert st == 201, (st, b)
        enq[b["run_id"]] = t
    deadline = time.time() + DEADLINE_S
    done = {}
    for rid in sorted(enq, reverse=True):   # the newest first: the others are mostly done
        if rid not in done:
            done[rid] = rfc3339(mt_wait(c, rid, deadline)["finished_at"])
        if len(done) == 1:
            off = 0
            while off < n + 200:
                st, b = c.req("GET", "/api/v1/apps/%s/runs?limit=100&offset=%d" % (app, off))
                assert st == 200, (st, b)
                for r in b["runs"]:
                    if r["run_id"] in enq and r["status"] == "completed":
                        done[r["run_id"]] = rfc3339(r["finished_at"])
                if len(b["runs"]) < 100:
                    break
                off += 100
    c1 = cpu_now()
    ids = sorted(enq)
    return [enq[i] for i in ids], [done[i] for i in ids], c1 - c0


def run_celery(n):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import peer_tasks
    task = peer_tasks.celery_run_sh
    c0 = cpu_now()
    enq, res = [], []
    for _ in range(n):
        enq.append(time.time())
        res.append(task.apply_async())
    done = []
    for r in res:
        out = r.get(timeout=DEADLINE_S)
        assert out.startswith("Hello"), out
        done.append(dt_unix(r.date_done))
    c1 = cpu_now()
    return enq, done, c1 - c0


def run_rq(n):
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    conn = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    q = Queue("bench", connection=conn)
    c0 = cpu_now()
    enq, jobs = [], []
    for _ in range(n):
        enq.append(time.time())
        jobs.append(q.enqueue("peer_tasks.run_sh", result_ttl=3600, failure_ttl=3600))
    ids = [j.id for j in jobs]
    deadline = time.time() + DEADLINE_S
    reg = q.finished_job_registry
    while reg.count + q.failed_job_registry.count < n:
        assert time.time() < deadline, "rq jobs did not finish"
        time.sleep(0.01)
    done = []
    for j in Job.fetch_many(ids, connection=conn):
        assert j.get_status() == "finished", (j.id, j.get_status(), j.exc_info)
        assert j.result.startswith("Hello"), j.result
        done.append(dt_unix(j.ended_at))
    c1 = cpu_now()
    # The registries count every job of the queue: clear them for the next call.
    for jid in reg.get_job_ids():
        reg.remove(jid, delete_job=True)
    return enq, done, c1 - c0


def main():
    mode = sys.argv[1]
    if mode == "mt":
        enq, done, cpu = run_mt(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif mode == "celery":
        enq, done, cpu = run_celery(int(sys.argv[2]))
    elif mode == "rq":
        enq, done, cpu = run_rq(int(sys.argv[2]))
    else:
        sys.exit("unknown mode " + mode)
    print(json.dumps({"enq": enq, "done": done, "cpu_s": cpu}))


if __name__ == "__main__":
    main()
