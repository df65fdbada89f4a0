#!/usr/bin/python3
"""`make bench`: MiniTower and its peers side by side, in one run (issue 13).

usage: bench/bench.py [--jobs N] [--repeats R] [--conc 1,2,4] [--slots]
                      [--quick] [--no-doc] [--only PHASES]

Phases, all in one temp dir ($TMPDIR/mt-bench-XXXX) with private servers:
  peers    MiniTower (real runners, durability `full`) vs Celery+Redis
           prefork (defaults; acks_late with prefetch 4) vs RQ+Redis: N jobs
           enqueued back to back, the same job (`/bin/sh` on a one-line
           script in a fresh process, output captured), at concurrency 1, 2
           and 4; jobs/s, enqueue->result p50/p99, CPU ms per job summed
           over every process of the system (its servers, workers and their
           reaped children from /proc/<pid>/stat, and the client).
  latency  one runner: shell and cached-venv Python end to end and dispatch
           (bench/runner_latency.py), the runner's per-step breakdown, and
           cancel latency (cancel API call -> SIGTERM seen by the job).
  control  bench/run.sh normal and full (lifecycles/s, dispatch) and the
           disk's fsync ceiling (fdatasync of 4 KiB in a loop).
Each figure is the median of R repeats (default 3) with min and max; the
systems alternate within each repeat (reversed order every other repeat), so
a slow minute hits all. Prints one table and, unless --no-doc, writes it into
docs/performance.md between the markers "<!-- bench:begin -->" and
"<!-- bench:end -->".

--slots: MiniTower's concurrency N is one runner with MINITOWER_RUNNER_SLOTS=N
instead of N runner processes (once the runner accepts it).

Leaves nothing behind: every server and worker is started in its own session
and its process group is killed at exit, also on SIGINT, SIGTERM, SIGHUP and
SIGPIPE (output piped into a `head` that went away); the temp dir is removed.
Standard library only; the peers' code is in peer_tasks.py / peer_client.py.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
sys.path.insert(0, HERE)
import runner_latency as rl  # noqa: E402


class Stop(Exception):
    pass


def pct(xs, p):
    return rl.pct(xs, p)


def say(*a):
    """Progress on stderr; a closed stderr does not stop the benchmark."""
    try:
        print(*a, file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError):
        pass


# ---- processes and cleanup ----

class Procs:
    """Every process group the benchmark starts, and its temp dir."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="mt-bench-")
        self.live = []

    def spawn(self, argv, log, env=None, cwd=None):
        out = open(log, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             env=env, cwd=cwd, start_new_session=True)
        out.close()
        p.log = log
        self.live.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, wait_s=10.0):
        """Signals p's process group, waits, then SIGKILLs the group."""
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        t = time.time() + wait_s
        while p.poll() is None and time.time() < t:
            time.sleep(0.02)
        try:
            os.killpg(p.pid, signal.SIGKILL)    # what is left of the group
        except ProcessLookupError:
            pass
        p.wait()
        if p in self.live:
            self.live.remove(p)

    def cleanup(self):
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(s, signal.SIG_IGN)
        for p in list(self.live):
            self.stop(p, signal.SIGTERM, 5.0)
        mounted = [ln for ln in open("/proc/self/mountinfo") if " %s/" % self.tmp in ln]
        if mounted:
            say("still mounted under %s (not removed): %s" % (self.tmp, mounted))
        elif os.environ.get("BENCH_KEEP"):
            say("kept " + self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def on_signal(sig, _frame):
    raise Stop("signal %d" % sig)


def wait_for(pred, what, timeout=20.0, proc=None):
    t = time.time() + timeout
    while time.time() < t:
        v = pred()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.02)
    log = ""
    if proc is not None and getattr(proc, "log", None):
        log = open(proc.log, errors="replace").read()[-2000:]
    raise RuntimeError("%s did not happen\n%s" % (what, log))


def grep(path, pat):
    try:
        with open(path, errors="replace") as f:
            m = re.search(pat, f.read())
            return m
    except FileNotFoundError:
        return None


# ---- CPU accounting ----

def cpu_of_sessions(sids):
    """Seconds of CPU (user+system, with reaped children) of every process in
    the sessions sids."""
    tck = os.sysconf("SC_CLK_TCK")
    tot = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        if int(f[3]) in sids:
            tot += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return tot / tck


# ---- MiniTower ----

def curl(*args):
    return subprocess.run(["curl", "-s", "--max-time", "30"] + list(args), check=True,
                          capture_output=True, text=True).stdout


class MiniTower:
    def __init__(self, P, name, sync="full"):
        self.P, self.dir = P, os.path.join(P.tmp, name)
        os.makedirs(self.dir)
        env = dict(os.environ, MINITOWER_LISTEN_ADDR="127.0.0.1:0",
                   MINITOWER_DB_PATH=self.dir + "/mt.db", MINITOWER_OBJECTS_DIR=self.dir + "/objects",
                   MINITOWER_RUNNER_REGISTRATION_TOKEN="bench-reg", MINITOWER_ACCESS_LOG="false",
                   MINITOWER_DB_SYNCHRONOUS=sync, MINITOWER_SIGNUPS_PER_MINUTE="0")
        self.env = env
        self.start()
        b = json.loads(curl("-XPOST", self.url + "/api/v1/teams/signup",
                            "-d", '{"slug":"bench","name":"Bench","password":"bench-pw"}'))
        self.team = b["token"]
        self.runners = []

    def start(self):
        """Starts minitowerd on the database of this directory (a new port)."""
        log = "%s/server-%d.log" % (self.dir, len([f for f in os.listdir(self.dir) if f.startswith("server")]))
        self.srv = self.P.spawn([self.P.bin + "/minitowerd"], log, env=self.env)
        m = wait_for(lambda: grep(self.srv.log, r'"minitower listening","addr":"[^"]*:(\d+)"'),
                     "minitowerd start", proc=self.srv)
        self.url = "http://127.0.0.1:" + m.group(1)

    def deploy(self, app, script, content):
        curl("-XPOST", self.url + "/api/v1/apps", "-H", "Authorization: Bearer " + self.team,
             "-d", json.dumps({"slug": app}))
        d = os.path.join(self.dir, app)
        os.makedirs(d)
        with open(d + "/Towerfile", "w") as f:
            f.write('[app]\nname = "%s"\nscript = "%s"\n' % (app, script))
        with open(os.path.join(d, script), "w") as f:
            f.write(content + "\n")
        subprocess.run(["tar", "-C", d, "-czf", d + ".tar.gz", "Towerfile", script], check=True)
        out = curl("-XPOST", self.url + "/api/v1/apps/%s/versions" % app,
                   "-H", "Authorization: Bearer " + self.team, "-F", "artifact=@%s.tar.gz" % d)
        assert "version_no" in out, out

    def runner(self, name, slots=None, **extra):
        work = os.path.join(self.dir, "work")
        os.makedirs(work, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir, "TMPDIR": work,
               "MINITOWER_SERVER_URL": self.url, "MINITOWER_RUNNER_NAME": name,
               "MINITOWER_RUNNER_REGISTRATION_TOKEN": "bench-reg",
               "MINITOWER_DATA_DIR": os.path.join(self.dir, "data-" + name),
               "MINITOWER_PYTHON_BIN": PY}
        if slots:
            env["MINITOWER_RUNNER_SLOTS"] = str(slots)
        env.update(extra)
        env = {k: v for k, v in env.items() if v != ""}
        log = os.path.join(self.dir, "runner-%s.log" % name)
        p = self.P.spawn([self.P.bin + "/minitower-runner"], log, env=env)
        wait_for(lambda: grep(log, '"runner started"'), "runner %s start" % name, proc=p)
        self.runners.append(p)
        return p

    def sids(self):
        return {self.srv.pid} | {r.pid for r in self.runners}

    def close(self):
        for r in self.runners:
            self.P.stop(r, signal.SIGINT)   # twice: no drain wait
        self.runners = []
        self.P.stop(self.srv)


# ---- Redis, Celery, RQ ----

class Redis:
    def __init__(self, P, name):
        self.dir = os.path.join(P.tmp, name)
        os.makedirs(self.dir)
        self.sock = self.dir + "/redis.sock"
        self.p = P.spawn(["redis-server", "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700",
                          "--save", "", "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
                         self.dir + "/redis.log")
        wait_for(self.ping, "redis start", proc=self.p)
        self.url = "unix://" + self.sock

    def ping(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.sock)
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def peer_env(kind, redis, acks_late=False, prefetch=4, script=None):
    return dict(os.environ, BENCH_REDIS_URL=redis.url, BENCH_SCRIPT=script,
                BENCH_PEER="celery" if kind.startswith("celery") else "rq",
                BENCH_ACKS_LATE="1" if acks_late else "0", BENCH_PREFETCH=str(prefetch),
                PYTHONPATH=HERE, PYTHONDONTWRITEBYTECODE="1")


class Peer:
    """Celery (kind celery-default / celery-acks4) or RQ with N workers."""

    def __init__(self, P, kind, n, script, tag):
        self.P, self.kind, self.n = P, kind, n
        self.redis = Redis(P, "redis-" + tag)
        self.env = peer_env(kind, self.redis, kind == "celery-acks4", 4, script)
        self.workers = []
        d = self.redis.dir
        if kind.startswith("celery"):
            self.workers.append(P.spawn(
                [PY, "-m", "celery", "-A", "peer_tasks", "worker", "-P", "prefork", "-c", str(n),
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING",
                 "-n", "bench-%s@localhost" % tag], d + "/worker.log", env=self.env, cwd=HERE))
        else:
            for i in range(n):
                self.workers.append(P.spawn(
                    [PY, "-m", "rq.cli", "worker", "-u", self.redis.url, "-q", "--name",
                     "bench-%s-%d" % (tag, i), "bench"], d + "/worker-%d.log" % i, env=self.env, cwd=HERE))

    def client(self, n):
        mode = "celery" if self.kind.startswith("celery") else "rq"
        return [PY, os.path.join(HERE, "peer_client.py"), mode, str(n)]

    def sids(self):
        return {self.redis.p.pid} | {w.pid for w in self.workers}

    def close(self):
        for w in self.workers:
            self.P.stop(w, signal.SIGTERM)
        self.P.stop(self.redis.p)


# ---- phase 1: peers ----

SYSTEMS = ("minitower", "celery-default", "celery-acks4", "rq")
DURABILITY = {
    "minitower": "every transition committed with fsync (SQLite WAL, synchronous=full) before it is answered",
    "celery-default": "Redis without persistence (no RDB, no AOF): queued and finished jobs are lost when "
                      "Redis stops; acks early: a worker crash loses its prefetched jobs",
    "celery-acks4": "Redis without persistence; acks_late: a job is acknowledged after it ran "
                    "(redelivered after a worker crash), prefetch 4",
    "rq": "Redis without persistence: queued and finished jobs are lost when Redis stops",
}


def run_client(P, argv, env, log):
    p = P.spawn(argv, log, env=env)
    p.wait()
    P.live.remove(p)
    txt = open(log, errors="replace").read()
    if p.returncode != 0:
        raise RuntimeError("client %s failed:\n%s" % (argv, txt[-3000:]))
    return json.loads(txt.strip().splitlines()[-1])


def cell(P, system, conc, n, rep, args):
    """One measurement: start the system, warm it up, measure, stop it."""
    tag = "%s-c%d-r%d" % (system, conc, rep)
    script = os.path.join(P.tmp, "job.sh")
    if system == "minitower":
        mt = MiniTower(P, tag)
        try:
            mt.deploy("hello-sh", "job.sh", 'echo "Hello, MiniTower!"')
            if args.slots:
                mt.runner("r0", slots=conc)
            else:
                for i in range(conc):
                    mt.runner("r%d" % i)
            argv = [PY, os.path.join(HERE, "peer_client.py"), "mt", mt.url, mt.team, "hello-sh"]
            run_client(P, argv + [str(2 * conc + 2)], None, os.path.join(mt.dir, "warm.log"))
            return measure(P, mt.sids(), argv + [str(n)], None, os.path.join(mt.dir, "client.log"))
        finally:
            mt.close()
    pe = Peer(P, system, conc, script, tag)
    try:
        run_client(P, pe.client(2 * conc + 2), pe.env, os.path.join(pe.redis.dir, "warm.log"))
        return measure(P, pe.sids(), pe.client(n), pe.env, os.path.join(pe.redis.dir, "client.log"))
    finally:
        pe.close()


def measure(P, sids, argv, env, log):
    time.sleep(0.2)
    c0 = cpu_of_sessions(sids)
    r = run_client(P, argv, env, log)
    c1 = cpu_of_sessions(sids)
    n = len(r["enq"])
    lat = [(d - e) * 1000.0 for e, d in zip(r["enq"], r["done"])]
    wall = max(r["done"]) - min(r["enq"])
    return {"jobs_s": n / wall, "p50": pct(lat, 50), "p99": pct(lat, 99),
            "cpu_ms": (c1 - c0 + r["cpu_s"]) * 1000.0 / n,
            "cpu_sys_ms": (c1 - c0) * 1000.0 / n}


def phase_peers(P, args, res):
    with open(os.path.join(P.tmp, "job.sh"), "w") as f:
        f.write('echo "Hello, MiniTower!"\n')
    order = list(SYSTEMS)
    for rep in range(args.repeats):
        for conc in args.conc:
            for system in order:
                m = cell(P, system, conc, args.jobs, rep, args)
                res.setdefault(("peers", system, conc), []).append(m)
                say("  peers rep %d c=%d %-15s %7.1f jobs/s  p50 %7.1f ms  p99 %7.1f ms  %5.1f CPU ms/job" %
                    (rep + 1, conc, system, m["jobs_s"], m["p50"], m["p99"], m["cpu_ms"]))
            order.reverse()


# ---- phase 2: latency of one runner, and cancel ----

CANCEL_JOB = """trap 'echo TERM; exit 0' TERM
echo ready
sleep 600 &
wait $!"""


def cancel_once(c, app):
    st, b = c.req("POST", "/api/v1/apps/%s/runs" % app, "{}")
    assert st == 201, (st, b)
    rid = b["run_id"]
    deadline = time.time() + 60

    def lines():
        st, b = c.req("GET", "/api/v1/runs/%d/logs" % rid)
        return b["logs"] if st == 200 else []
    while not any(x["line"] == "ready" for x in lines()):
        assert time.time() < deadline, "run %d never said ready" % rid
        time.sleep(0.005)
    t0 = time.time()
    st, b = c.req("POST", "/api/v1/runs/%d/cancel" % rid, "{}")
    assert st in (200, 202), (st, b)
    while True:
        term = [x for x in lines() if x["line"] == "TERM"]
        if term:
            break
        assert time.time() < deadline, "run %d never saw SIGTERM" % rid
        time.sleep(0.005)
    while True:
        st, r = c.req("GET", "/api/v1/runs/%d" % rid)
        if r["status"] in ("cancelled", "completed", "failed", "dead"):
            break
        time.sleep(0.005)
    return (rl.rfc3339_ns(term[0]["logged_at"]) / 1e9 - t0) * 1000.0


def variants(spec):
    """"name:VAR=VAL;VAR=VAL,name2:" -> [(name, {VAR: VAL})]; VAL "" unsets VAR."""
    out = []
    for part in [x for x in spec.split(",") if x]:
        name, _, kv = part.partition(":")
        out.append((name, dict(x.split("=", 1) for x in kv.split(";") if x)))
    return out or [("", {})]


def phase_latency(P, args, res):
    vs = variants(args.variants)
    for rep in range(args.repeats):
        mt = MiniTower(P, "latency-r%d" % rep)
        try:
            mt.deploy("hello-sh", "job.sh", 'echo "Hello, MiniTower!"')
            mt.deploy("hello-py", "main.py", 'print("Hello, MiniTower!")')
            mt.deploy("sleeper", "job.sh", CANCEL_JOB)
            for i, (vname, venv) in enumerate(vs if rep % 2 == 0 else vs[::-1]):
                r = mt.runner("lat-%s" % (vname or "default"), **venv)
                try:
                    latency_once(mt, r, args, res, rep, vname, first=i == 0)
                finally:
                    P.stop(r, signal.SIGINT)
                    mt.runners.remove(r)
            res.setdefault("py_bare", []).append(bare_python(args.lat_n))
        finally:
            mt.close()


def latency_once(mt, r, args, res, rep, vname, first):
    """Shell and Python runs, one after the other, through runner r; cancels too
    for the first variant of a repeat."""
    c = rl.Client(mt.url, mt.team)
    if True:
        if True:
            for app in ("hello-sh", "hello-py"):
                for _ in range(5):
                    rl.one_run(c, app, 0.001)
                os.sync()
                time.sleep(0.5)
                smp = [rl.one_run(c, app, 0.001) for _ in range(args.lat_n)]
                time.sleep(0.3)
                ev = rl.runner_events(r.log)
                st = {"e2e": [], "disp": [], "prep": [], "job": [], "tail": []}
                for rid, t0, t1, _ in smp:
                    e = ev.get(rid, {})
                    st["e2e"].append(rl.ms(t1 - t0))
                    if "leased run" in e:
                        st["disp"].append(rl.ms(e["leased run"] - t0))
                        if "artifact unpacked" in e:
                            st["prep"].append(rl.ms(e["artifact unpacked"] - e["leased run"]))
                    if "artifact unpacked" in e and "run completed" in e:
                        st["job"].append(rl.ms(e["run completed"] - e["artifact unpacked"]))
                    if "run completed" in e:
                        st["tail"].append(rl.ms(t1 - e["run completed"]))
                res.setdefault(("lat", app, vname), []).append(
                    {k: (pct(v, 50), pct(v, 99)) for k, v in st.items() if v})
                say("  latency rep %d %s %s: e2e p50 %.2f ms p99 %.2f ms" %
                    (rep + 1, vname, app, pct(st["e2e"], 50), pct(st["e2e"], 99)))
            if first:
                cl = [cancel_once(c, "sleeper") for _ in range(args.cancel_n)]
                res.setdefault(("lat", "cancel"), []).append({"cancel": (pct(cl, 50), pct(cl, 99))})
                say("  latency rep %d cancel -> SIGTERM p50 %.2f ms p99 %.2f ms" %
                    (rep + 1, pct(cl, 50), pct(cl, 99)))


def bare_python(n):
    """p50 of `/usr/bin/python3 -c pass`, the start the Python target compares to."""
    xs = []
    for _ in range(max(20, n // 4)):
        t = time.perf_counter()
        subprocess.run([PY, "-c", "pass"], check=True)
        xs.append((time.perf_counter() - t) * 1000.0)
    return pct(xs, 50)


# ---- phase 4: scale and memory ----

def rss_kb(pid, field="VmHWM"):
    """VmHWM (peak) or VmRSS of pid in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return int(ln.split()[1])
    return -1


class Raw:
    """Plain keep-alive HTTP for the scale phase (runner or team token)."""

    def __init__(self, url):
        self.c = rl.Client(url, "")

    def req(self, method, path, token, body=None, hdrs=None):
        h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        h.update(hdrs or {})
        self.c.conn.request(method, path, body=body, headers=h)
        r = self.c.conn.getresponse()
        data = r.read()
        return r.status, data


def timed(fn, n):
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000.0)
    return xs


def seed_runs(db, k):
    """Adds k queued copies of the newest run (run_no counting on)."""
    import sqlite3
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(runs)") if r[1] != "id"]
    sel = ["run_no + n" if c == "run_no" else c for c in cols]
    con.execute("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) "
                "INSERT INTO runs (%s) SELECT %s FROM s, (SELECT * FROM runs ORDER BY id DESC LIMIT 1)"
                % (", ".join(cols), ", ".join(sel)), (k,))
    con.commit()
    con.close()


def seed_logs(db, attempt_id, k):
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) "
                "INSERT INTO run_logs (run_attempt_id, seq, stream, line, logged_at) "
                "SELECT ?, n + 1000, 'stdout', 'log line number ' || n || ' of the seeded run', "
                "CAST(strftime('%s','now') AS INTEGER) * 1000 FROM s", (k, attempt_id))
    con.commit()
    con.close()


def lease_cycle(raw, rtok):
    st, data = raw.req("POST", "/api/v1/runs/lease", rtok, "{}")
    assert st == 200, (st, data)
    b = json.loads(data)
    st, data = raw.req("POST", "/api/v1/runs/%d/release" % b["run_id"], rtok, "{}",
                       {"X-Lease-Token": b["lease_token"]})
    assert st in (200, 204), (st, data)


def phase_scale(P, args, res):
    for k in args.scale:
        mt = MiniTower(P, "scale-%d" % k)
        try:
            mt.deploy("hello-sh", "job.sh", 'echo "Hello, MiniTower!"')
            curl("-XPOST", mt.url + "/api/v1/apps/hello-sh/runs", "-H", "Authorization: Bearer " + mt.team, "-d", "{}")
            rtok = json.loads(curl("-XPOST", mt.url + "/api/v1/runners/register", "-H",
                                   "Authorization: Bearer bench-reg", "-d", '{"name":"scale"}'))["token"]
            P.stop(mt.srv)
            seed_runs(mt.dir + "/mt.db", k - 1)
            mt.start()
            raw = Raw(mt.url)
            lst = timed(lambda: raw.req("GET", "/api/v1/runs?limit=50", mt.team), args.scale_n)
            lst += timed(lambda: raw.req("GET", "/api/v1/runs?status=queued&limit=50", mt.team), args.scale_n)
            ls = timed(lambda: lease_cycle(raw, rtok), args.scale_n)
            res[("scale", k)] = {"list": (pct(lst, 50), pct(lst, 99)), "lease": (pct(ls, 50), pct(ls, 99))}
            say("  scale %d queued: list p50 %.2f ms, lease+release p50 %.2f ms" % (k, pct(lst, 50), pct(ls, 50)))
        finally:
            mt.close()
    if args.log_lines:
        phase_logs(P, args, res)
    phase_memory(P, args, res)


def phase_logs(P, args, res):
    mt = MiniTower(P, "logs")
    try:
        mt.deploy("hello-sh", "job.sh", 'echo "Hello, MiniTower!"')
        b = json.loads(curl("-XPOST", mt.url + "/api/v1/apps/hello-sh/runs", "-H",
                            "Authorization: Bearer " + mt.team, "-d", "{}"))
        rid = b["run_id"]
        rtok = json.loads(curl("-XPOST", mt.url + "/api/v1/runners/register", "-H",
                               "Authorization: Bearer bench-reg", "-d", '{"name":"logs"}'))["token"]
        raw = Raw(mt.url)
        st, data = raw.req("POST", "/api/v1/runs/lease", rtok, "{}")
        lease = json.loads(data)
        P.stop(mt.srv)
        import sqlite3
        con = sqlite3.connect(mt.dir + "/mt.db")
        aid = con.execute("SELECT id FROM run_attempts WHERE run_id=?", (rid,)).fetchone()[0]
        con.close()
        seed_logs(mt.dir + "/mt.db", aid, args.log_lines)
        mt.start()
        raw = Raw(mt.url)
        last_seq = args.log_lines + 1000

        def first_page():
            u = urllib.parse.urlparse(mt.url)
            c = rl.http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            c.request("GET", "/api/v1/runs/%d/logs" % rid, headers={"Authorization": "Bearer " + mt.team})
            r = c.getresponse()
            got = 0
            while got < 100000:     # the first 1,000 rows are about 100 kB
                d = r.read1(65536)
                if not d:
                    break
                got += len(d)
            c.close()

        fp = timed(first_page, args.scale_n)
        lp = timed(lambda: raw.req("GET", "/api/v1/runs/%d/logs?after_seq=%d" % (rid, last_seq - 1000), mt.team),
                   args.scale_n)
        res["logs"] = {"first": (pct(fp, 50), pct(fp, 99)), "last": (pct(lp, 50), pct(lp, 99))}
        say("  logs %d lines: first page p50 %.2f ms, last page p50 %.2f ms" % (args.log_lines, pct(fp, 50), pct(lp, 50)))
        del lease
    finally:
        mt.close()


def phase_memory(P, args, res):
    """Peak RSS: minitowerd idle and after load, the runner idle and after jobs, the CLI deploying 50 MB."""
    mt = MiniTower.__new__(MiniTower)
    mt.P, mt.dir, mt.runners = P, os.path.join(P.tmp, "memory"), []
    os.makedirs(mt.dir)
    mt.env = dict(os.environ, MINITOWER_LISTEN_ADDR="127.0.0.1:0", MINITOWER_DB_PATH=mt.dir + "/mt.db",
                  MINITOWER_OBJECTS_DIR=mt.dir + "/objects", MINITOWER_RUNNER_REGISTRATION_TOKEN="bench-reg",
                  MINITOWER_ACCESS_LOG="false", MINITOWER_DB_SYNCHRONOUS="full", MINITOWER_SIGNUPS_PER_MINUTE="0")
    mt.start()
    try:
        time.sleep(0.5)
        m = {"srv_idle": rss_kb(mt.srv.pid, "VmRSS"), "srv_idle_anon": rss_kb(mt.srv.pid, "RssAnon")}
        mt.team = json.loads(curl("-XPOST", mt.url + "/api/v1/teams/signup",
                                  "-d", '{"slug":"bench","name":"Bench","password":"bench-pw"}'))["token"]
        mt.deploy("hello-sh", "job.sh", 'echo "Hello, MiniTower!"')
        r = mt.runner("mem")
        time.sleep(0.5)
        m["runner_idle"] = rss_kb(r.pid, "VmRSS")
        m["runner_idle_anon"] = rss_kb(r.pid, "RssAnon")
        run_client(P, [PY, os.path.join(HERE, "peer_client.py"), "mt", mt.url, mt.team, "hello-sh", "100"],
                   None, mt.dir + "/client.log")
        m["runner_busy"] = rss_kb(r.pid)
        m["srv_load"] = rss_kb(mt.srv.pid)
        # The CLI deploying a 50 MB project (incompressible).
        proj = os.path.join(mt.dir, "big")
        os.makedirs(proj)
        with open(proj + "/Towerfile", "w") as f:
            f.write('[app]\nname = "big"\nscript = "job.sh"\n')
        with open(proj + "/job.sh", "w") as f:
            f.write("echo hi\n")
        with open(proj + "/blob.bin", "wb") as f:
            f.write(os.urandom(50 * 1024 * 1024))
        env = dict(os.environ, MINITOWER_SERVER_URL=mt.url, MINITOWER_API_TOKEN=mt.team, HOME=mt.dir)
        cli = subprocess.Popen([os.path.join(TOP, "bin", "minitower-cli"), "deploy", "--dir", proj],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        _, status, ru = os.wait4(cli.pid, 0)
        cli.returncode = os.waitstatus_to_exitcode(status)
        m["cli_deploy"] = ru.ru_maxrss if cli.returncode == 0 else float("nan")
        m["srv_upload"] = rss_kb(mt.srv.pid)
        res.setdefault("mem", []).append(m)
        say("  memory (KiB): %s" % m)
    finally:
        mt.close()


# ---- phase 3: control plane and the disk ----

def fsync_ceiling(d, secs=2.0):
    path = os.path.join(d, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    buf = os.urandom(4096)
    n, t0 = 0, time.time()
    try:
        while time.time() - t0 < secs:
            os.pwrite(fd, buf, 0)
            os.fdatasync(fd)
            n += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return n / (time.time() - t0)


def run_sh(P, sync, args):
    log = os.path.join(P.tmp, "run-%s-%d.log" % (sync, len(os.listdir(P.tmp))))
    env = dict(os.environ, TMPDIR=P.tmp)
    p = P.spawn(["sh", os.path.join(HERE, "run.sh"), sync, str(args.cp_samples), str(args.cp_lifecycles), "8"],
                log, env=env, cwd=TOP)
    p.wait()
    P.live.remove(p)
    txt = open(log, errors="replace").read()
    m1 = re.search(r"p50 ([\d.]+) ms  p99 ([\d.]+) ms", txt)
    m2 = re.search(r"= (\d+) runs/s", txt)
    m3 = re.search(r"sqlite single-row commits.*?: (\d+) commits/s", txt)
    m4 = re.search(r"minitowerd peak RSS: (\d+) kB", txt)
    if p.returncode != 0 or not (m1 and m2):
        raise RuntimeError("bench/run.sh %s failed:\n%s" % (sync, txt[-3000:]))
    return {"disp_p50": float(m1.group(1)), "disp_p99": float(m1.group(2)), "lc": float(m2.group(1)),
            "commits": float(m3.group(1)) if m3 else float("nan"), "rss": int(m4.group(1)) if m4 else None}


def phase_control(P, args, res):
    order = ["normal", "full"]
    for rep in range(args.repeats):
        for sync in order:
            m = run_sh(P, sync, args)
            res.setdefault(("cp", sync), []).append(m)
            say("  control rep %d %s: %.0f lifecycles/s, dispatch p50 %.2f ms" % (rep + 1, sync, m["lc"], m["disp_p50"]))
        f = fsync_ceiling(P.tmp)
        res.setdefault("fsync", []).append(f)
        say("  fsync ceiling rep %d: %.0f fdatasync/s" % (rep + 1, f))
        order.reverse()


# ---- the table ----

def mmm(xs, fmt="%.1f"):
    xs = [x for x in xs if x == x]
    if not xs:
        return "n/a"
    med = statistics.median(xs)
    if len(xs) == 1:
        return fmt % med
    return (fmt + " (" + fmt + "–" + fmt + ")") % (med, min(xs), max(xs))


def versions():
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"
    rv = out(["redis-server", "--version"])
    m = re.search(r"v=(\S+)", rv)
    pv = out([PY, "-c", "import celery, rq, kombu, redis; print(celery.__version__, rq.__version__, "
              "kombu.__version__, redis.__version__)"]).split()
    while len(pv) < 4:
        pv.append("?")
    sq = out(["sqlite3", "--version"]).split(" ")[0]
    git = out(["git", "-C", TOP, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", TOP, "diff", "--quiet", "HEAD", "--", "src"]).returncode != 0
    return ("MiniTower %s%s (SQLite %s); Redis %s; Celery %s (kombu %s); RQ %s; redis-py %s; Python %s" %
            (git, " + uncommitted src/" if dirty else "", sq, m.group(1) if m else "?", pv[0], pv[2], pv[1],
             pv[3], platform.python_version()))


def table(res, args, t_start, t_end, load0, load1):
    cpu = "?"
    for ln in open("/proc/cpuinfo"):
        if ln.startswith("model name"):
            cpu = ln.split(":", 1)[1].strip()
            break
    L = []
    L.append("Machine: %d cores, %s, %s; %.1f GiB RAM. Date: %s UTC, %.0f s. Load average before / after: %s / %s." %
             (os.cpu_count(), cpu, platform.platform(terse=True),
              os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
              time.strftime("%Y-%m-%d %H:%M", time.gmtime(t_start)), t_end - t_start, load0, load1))
    L.append("Versions: %s." % versions())
    L.append("Command: `%s` (%d repeats; each figure: median (min–max) of the repeats)." %
             (args.command, args.repeats))
    L.append("")
    if any(k[0] == "peers" for k in res if isinstance(k, tuple)):
        L.append("**Peers** — %d jobs enqueued back to back per measurement; the job: `/bin/sh` on a one-line script "
                 "in a fresh process, output captured. Latency: enqueue sent → result recorded (MiniTower "
                 "`finished_at`, durable; Celery `date_done`; RQ `ended_at`). CPU: every process of the system "
                 "(servers, workers, reaped children, the client). MiniTower's concurrency N: %s." %
                 (args.jobs, "one runner with MINITOWER_RUNNER_SLOTS=N" if args.slots else "N runner processes"))
        L.append("")
        L.append("| system | workers | jobs/s | p50 ms | p99 ms | CPU ms/job |")
        L.append("|---|---|---|---|---|---|")
        for conc in args.conc:
            for s in SYSTEMS:
                v = res.get(("peers", s, conc))
                if not v:
                    continue
                L.append("| %s | %d | %s | %s | %s | %s |" % (
                    s, conc, mmm([x["jobs_s"] for x in v]), mmm([x["p50"] for x in v]),
                    mmm([x["p99"] for x in v]), mmm([x["cpu_ms"] for x in v])))
        L.append("")
        L.append("Durability: " + "; ".join("%s: %s" % (s, DURABILITY[s]) for s in SYSTEMS) + ".")
        L.append("")
        L.extend(targets(res, args))
    if any(isinstance(k, tuple) and k[0] == "lat" for k in res):
        L.append("**One runner** (`full`; runs one after the other; end to end = create sent → `completed` seen, "
                 "polled every 1 ms; steps from the runner's log lines):")
        L.append("")
        L.append("| | p50 ms | p99 ms |")
        L.append("|---|---|---|")
        names = (("e2e", "end to end"), ("disp", "dispatch (create sent → lease received)"),
                 ("prep", "  start, download, unpack"), ("job", "  venv lookup, spawn, job, reap"),
                 ("tail", "  log flush, result, client poll"))
        for vname, _ in variants(args.variants):
            for app in ("hello-sh", "hello-py"):
                v = res.get(("lat", app, vname), [])
                for k, name in names:
                    xs = [x[k] for x in v if k in x]
                    label = "&nbsp;&nbsp;" + name.strip() if name.startswith("  ") else name
                    if xs:
                        L.append("| %s%s %s | %s | %s |" % (app, " (%s)" % vname if vname else "", label,
                                                           mmm([x[0] for x in xs], "%.2f"),
                                                           mmm([x[1] for x in xs], "%.2f")))
        v = res.get(("lat", "cancel"), [])
        if v:
            L.append("| cancel API call → SIGTERM seen by the job | %s | %s |" % (
                mmm([x["cancel"][0] for x in v], "%.2f"), mmm([x["cancel"][1] for x in v], "%.2f")))
        if res.get("py_bare"):
            L.append("| bare `%s -c pass` | %s | |" % (PY, mmm(res["py_bare"], "%.2f")))
        L.append("")
    if ("cp", "full") in res:
        L.append("**Control plane** (`bench/run.sh SYNC %d %d 8`) and the disk:" % (args.cp_samples, args.cp_lifecycles))
        L.append("")
        L.append("| | lifecycles/s | dispatch p50 ms | dispatch p99 ms | SQLite single-row commits/s |")
        L.append("|---|---|---|---|---|")
        for sync in ("normal", "full"):
            v = res.get(("cp", sync), [])
            L.append("| `%s` | %s | %s | %s | %s |" % (sync, mmm([x["lc"] for x in v], "%.0f"),
                     mmm([x["disp_p50"] for x in v], "%.2f"), mmm([x["disp_p99"] for x in v], "%.2f"),
                     mmm([x["commits"] for x in v], "%.0f")))
        L.append("")
        L.append("Disk fsync ceiling (4 KiB `pwrite` + `fdatasync` in a loop, same disk): %s/s." %
                 mmm(res.get("fsync", []), "%.0f"))
        L.append("")
    L.extend(scale_table(res, args))
    return L


def scale_table(res, args):
    L = []
    ks = [k for k in args.scale if ("scale", k) in res]
    if ks:
        L.append("**Scale** (`full`; %d samples each; lease = `POST /api/v1/runs/lease` then `release`, so the queue "
                 "keeps its size; list = `GET /api/v1/runs?limit=50` and `?status=queued&limit=50`; runs seeded "
                 "with sqlite3 into the stopped server's database):" % args.scale_n)
        L.append("")
        L.append("| queued runs | list p50 ms | list p99 ms | lease+release p50 ms | lease+release p99 ms |")
        L.append("|---|---|---|---|---|")
        for k in ks:
            v = res[("scale", k)]
            L.append("| %d | %.2f | %.2f | %.2f | %.2f |" % (k, v["list"][0], v["list"][1], v["lease"][0], v["lease"][1]))
        L.append("")
        a, b = res[("scale", ks[0])]["lease"][0], res[("scale", ks[-1])]["lease"][0]
        L.append("* Lease with %d queued within 1.5× of %d queued: %.2f× — **%s**." %
                 (ks[-1], ks[0], b / a, "met" if b <= 1.5 * a else "not met"))
    if "logs" in res:
        v = res["logs"]
        L.append("* `GET /api/v1/runs/{run}/logs` of a run with %d lines: first page (the first ~100 kB of the "
                 "stream, 1,000 rows) p50 %.2f / p99 %.2f ms; last page (`after_seq` = last − 1,000) p50 %.2f / "
                 "p99 %.2f ms." % (args.log_lines, v["first"][0], v["first"][1], v["last"][0], v["last"][1]))
    if L:
        L.append("")
    m = res.get("mem")
    if m:
        g = lambda k: mmm([x[k] / 1024.0 for x in m], "%.1f")  # noqa: E731
        srv, run = statistics.median([x["srv_idle"] for x in m]) / 1024, statistics.median([x["runner_idle"] for x in m]) / 1024
        L.append("**Memory** (MiB; RSS from /proc/PID/status, peaks are VmHWM; the CLI's from wait4):")
        L.append("")
        L.append("| | MiB | target |")
        L.append("|---|---|---|")
        L.append("| minitowerd idle (RSS after start) | %s | ≤ 8: **%s** |" % (g("srv_idle"), "met" if srv <= 8 else "not met"))
        L.append("| &nbsp;&nbsp;of which anonymous (heap, stacks; the rest is shared library pages) | %s | |" % g("srv_idle_anon"))
        L.append("| minitowerd peak after signup, deploy, 100 runs | %s | |" % g("srv_load"))
        L.append("| minitowerd peak after a 50 MB upload | %s | |" % g("srv_upload"))
        L.append("| runner idle (RSS after start) | %s | ≤ 4: **%s** |" % (g("runner_idle"), "met" if run <= 4 else "not met"))
        L.append("| &nbsp;&nbsp;of which anonymous | %s | |" % g("runner_idle_anon"))
        L.append("| runner peak after 100 runs (one slot; 4 slots need the slots branch) | %s | |" % g("runner_busy"))
        L.append("| minitower-cli deploying a 50 MB project (peak) | %s | |" % g("cli_deploy"))
        cp = [x.get("rss") for x in res.get(("cp", "full"), []) + res.get(("cp", "normal"), []) if x.get("rss")]
        if cp:
            L.append("| minitowerd peak in the control-plane phase (bench/run.sh) | %s | |" % mmm([x / 1024.0 for x in cp]))
        L.append("")
    return L


def targets(res, args):
    """Issue 13's peer targets, per concurrency: met or not met."""
    L = []
    for conc in args.conc:
        mt = res.get(("peers", "minitower", conc))
        peers = [(s, res.get(("peers", s, conc))) for s in SYSTEMS[1:]]
        peers = [(s, v) for s, v in peers if v]
        if not mt or not peers:
            continue
        med = lambda v, k: statistics.median([x[k] for x in v])  # noqa: E731
        best = max(peers, key=lambda sv: med(sv[1], "jobs_s"))
        ratio = med(mt, "jobs_s") / med(best[1], "jobs_s")
        p50 = med(mt, "p50") < min(med(v, "p50") for _, v in peers)
        p99 = med(mt, "p99") < min(med(v, "p99") for _, v in peers)
        L.append("* %d workers: MiniTower %.2f× the jobs/s of the faster peer (%s) — target ≥ 3×: **%s**; "
                 "p50 %s and p99 %s than every peer: **%s**." %
                 (conc, ratio, best[0], "met" if ratio >= 3 else "not met", "lower" if p50 else "not lower",
                  "lower" if p99 else "not lower", "met" if p50 and p99 else "not met"))
    if L:
        L.append("")
    return L


def write_doc(lines):
    path = os.path.join(TOP, "docs", "performance.md")
    with open(path) as f:
        doc = f.read()
    b, e = "<!-- bench:begin -->", "<!-- bench:end -->"
    block = b + "\n" + "\n".join(lines).rstrip() + "\n" + e
    if b in doc and e in doc:
        doc = doc[:doc.index(b)] + block + doc[doc.index(e) + len(e):]
    else:
        doc = doc.rstrip() + "\n\n## `make bench`: MiniTower and its peers\n\n" + block + "\n"
    with open(path + ".tmp", "w") as f:
        f.write(doc)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--conc", default="1,2,4")
    ap.add_argument("--slots", action="store_true")
    ap.add_argument("--lat-n", type=int, default=100)
    ap.add_argument("--cancel-n", type=int, default=15)
    ap.add_argument("--variants", default="",
                    help='runner A/B in the latency phase: "name:VAR=VAL;VAR=VAL,name2:" (VAL "" unsets)')
    ap.add_argument("--cp-samples", type=int, default=500)
    ap.add_argument("--cp-lifecycles", type=int, default=4000)
    ap.add_argument("--only", default="peers,latency,control,scale")
    ap.add_argument("--scale", default="1000,10000,100000", help="queued runs of the scale phase")
    ap.add_argument("--scale-n", type=int, default=50, help="samples per scale figure")
    ap.add_argument("--log-lines", type=int, default=1000000)
    ap.add_argument("--quick", action="store_true", help="small N, for debugging")
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    args.conc = [int(x) for x in args.conc.split(",")]
    args.scale = [int(x) for x in args.scale.split(",") if x]
    args.command = "make bench" if os.environ.get("MAKELEVEL") else "bench/bench.py " + " ".join(sys.argv[1:])
    if args.quick:
        args.jobs, args.repeats, args.lat_n, args.cancel_n = 30, 1, 20, 3
        args.cp_samples, args.cp_lifecycles = 100, 500
        args.scale, args.scale_n, args.log_lines = [1000, 10000], 10, 20000
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(s, on_signal)
    P = Procs()
    rc = 0
    try:
        # Private copies of the binaries: a build during the benchmark cannot mix them.
        P.bin = os.path.join(P.tmp, "bin")
        os.makedirs(P.bin)
        for b in ("minitowerd", "minitower-runner", "minitower-jobinit"):
            shutil.copy2(os.path.join(TOP, "bin", b), P.bin)
        res = {}
        t0, load0 = time.time(), " ".join(open("/proc/loadavg").read().split()[:3])
        phases = args.only.split(",")
        for name, fn in (("peers", phase_peers), ("latency", phase_latency), ("control", phase_control),
                         ("scale", phase_scale)):
            if name in phases:
                say("phase %s" % name)
                fn(P, args, res)
        t1, load1 = time.time(), " ".join(open("/proc/loadavg").read().split()[:3])
        lines = table(res, args, t0, t1, load0, load1)
        print("\n".join(lines), flush=True)
        if not args.no_doc and not args.quick:
            write_doc(lines)
            say("wrote docs/performance.md")
    except Stop as e:
        say("stopped: %s" % e)
        rc = 130
    except BrokenPipeError:
        rc = 141
    finally:
        P.cleanup()
        try:
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            except OSError:
                pass
    return rc


if __name__ == "__main__":
    sys.exit(main())
