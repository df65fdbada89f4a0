#!/usr/bin/env python3
"""Soak test of MiniTower (issue 19): `make soak`, not part of `make check`.

Starts a real minitowerd (short lease TTL, 1 s reaper) on a temporary SQLite
database and objects directory, and three real minitower-runners, then for
SOAK_MINUTES (default 30) drives mixed traffic from a handful of client
threads (deploys, creates with and without Idempotency-Key, replays, retries,
cancels, list/log/attempt reads, SSE log streams, /health and /ready) while
the main thread SIGKILLs a runner every 60-90 s and minitowerd every 3-5 min
and restarts them on the same identity directory, database, objects
directory and port. Invariants are checked continuously and once more at the
end after draining (docs/soak.md lists them); every minute one line reports
the counts and RSS, open fds and threads of minitowerd and each runner. The
summary goes to stdout and to build/soak-last.json. Exit status 0 when no
invariant was violated, 1 otherwise, 130 on Ctrl-C.

Environment: SOAK_MINUTES (default 30), SOAK_RUNNERS (3), SOAK_CLIENTS (3
creator threads), SOAK_SANDBOX (runner MINITOWER_SANDBOX, default auto),
SOAK_KEEP=1 keeps the temporary directory (kept anyway on a violation),
SOAK_SEED for a reproducible schedule, SOAK_RUNNER_KILL_EVERY and
SOAK_SERVER_KILL_EVERY ("lo,hi" seconds, default 60,90 and 180,300), MT_BIN
for the binaries.
Standard library only."""

import http.client
import io
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MT_BIN") or os.path.join(ROOT, "bin")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
REG_TOKEN = "soak-registration-token"
BOOT_TOKEN = "soak-bootstrap-token"
MINUTES = float(os.environ.get("SOAK_MINUTES", "30"))
N_RUNNERS = int(os.environ.get("SOAK_RUNNERS", "3"))
N_CLIENTS = int(os.environ.get("SOAK_CLIENTS", "3"))
SANDBOX = os.environ.get("SOAK_SANDBOX", "auto")
SEED = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
LEASE_TTL_S = 5
TERMINAL = {"completed", "failed", "cancelled", "dead"}
ACTIVE_ATTEMPT = {"leased", "running", "cancelling"}


def _range(name, default):
    v = os.environ.get(name)
    return tuple(float(x) for x in v.split(",")) if v else default


RUNNER_KILL_EVERY = _range("SOAK_RUNNER_KILL_EVERY", (60, 90))     # seconds, lo,hi
SERVER_KILL_EVERY = _range("SOAK_SERVER_KILL_EVERY", (180, 300))
SERVER_DOWN_S = (0.2, 8.0)      # past the fence time (TTL - TTL/4) runners self-fence
DRAIN_TIMEOUT_S = 300
SETPRIV = shutil.which("setpriv")

STOP = threading.Event()        # traffic stops
rng = random.Random(SEED)
rng_mu = threading.Lock()


def rand():
    with rng_mu:
        return rng.random()


def randint(a, b):
    with rng_mu:
        return rng.randint(a, b)


def choice(seq):
    with rng_mu:
        return rng.choice(seq)


def uniform(a, b):
    with rng_mu:
        return rng.uniform(a, b)


def now():
    return time.time()


def where():
    """file:line of the innermost frame of the exception being handled."""
    tb = traceback.extract_tb(sys.exc_info()[2])
    return "at " + " < ".join("%s:%d" % (f.name, f.lineno) for f in reversed(tb[-3:]))


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- processes

def spawn(argv, env, logf):
    """A child with SIGKILL as parent-death signal (setpriv), so nothing
    outlives the soak even if it is killed itself. Always called from the
    main thread: the death signal follows the thread that forked."""
    pre = [SETPRIV, "--pdeathsig", "KILL", "--"] if SETPRIV else []
    return subprocess.Popen(pre + argv, env=env, stdout=logf, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def proc_stats(pid):
    """(rss_kib, fds, threads) of a live pid, or None."""
    try:
        rss = thr = None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    thr = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return (rss, fds, thr)
    except (OSError, ValueError):
        return None


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2:].split()[0] != "Z"
    except (OSError, ValueError):
        return False


class ServerProc:
    def __init__(self, d):
        self.dir = d
        self.port = None
        self.proc = None
        self.starts = 0
        self.logpath = os.path.join(d, "server.log")
        self.logf = open(self.logpath, "ab", buffering=0)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MINITOWER_DB_PATH": os.path.join(d, "mt.db"),
            "MINITOWER_OBJECTS_DIR": os.path.join(d, "objects"),
            "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN,
            "MINITOWER_BOOTSTRAP_TOKEN": BOOT_TOKEN,
            "MINITOWER_LEASE_TTL": "%ds" % LEASE_TTL_S,
            "MINITOWER_EXPIRY_CHECK_INTERVAL": "1s",
            "MINITOWER_SIGNUPS_PER_MINUTE": "0",
            "MINITOWER_LOGIN_FAILURES_PER_MINUTE": "0",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]

    def start(self):
        if self.port is None:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()
        env = dict(self.env, MINITOWER_LISTEN_ADDR="127.0.0.1:%d" % self.port)
        for attempt in range(20):
            self.logf.write(("=== soak: start %d at %.3f ===\n" % (self.starts + 1, now())).encode())
            self.proc = spawn([os.path.join(BIN, "minitowerd")], env, self.logf)
            deadline = now() + 20
            while now() < deadline and self.proc.poll() is None:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    c.request("GET", "/health")
                    r = c.getresponse()
                    r.read()
                    c.close()
                    if r.status == 200:
                        self.starts += 1
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            time.sleep(0.5)     # e.g. the port is not free yet
        raise RuntimeError("minitowerd does not start (see %s)" % self.logpath)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "timeout"

    @property
    def pid(self):
        return self.proc.pid if self.proc and self.proc.poll() is None else None


class RunnerProc:
    def __init__(self, d, name, port):
        self.name = name
        self.data = os.path.join(d, "runner-" + name)
        self.logpath = os.path.join(d, "runner-%s.log" % name)
        self.logf = open(self.logpath, "ab", buffering=0)
        self.proc = None
        self.starts = 0
        work = os.path.join(d, "work")
        os.makedirs(work, exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": d,
            "TMPDIR": work,
            "MINITOWER_SERVER_URL": "http://127.0.0.1:%d" % port,
            "MINITOWER_RUNNER_NAME": name,
            "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN,
            "MINITOWER_DATA_DIR": self.data,
            "MINITOWER_PYTHON_BIN": PY,
            "MINITOWER_SANDBOX": SANDBOX,
            "MINITOWER_LEASE_WAIT": "2s",
            "MINITOWER_POLL_INTERVAL": "200ms",
            "MINITOWER_KILL_GRACE_PERIOD": "1s",
            "MINITOWER_DRAIN_TIMEOUT": "1s",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]

    def start(self):
        self.logf.write(("=== soak: start %d at %.3f ===\n" % (self.starts + 1, now())).encode())
        self.proc = spawn([os.path.join(BIN, "minitower-runner")], self.env, self.logf)
        self.starts += 1

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)   # a second signal skips the wait
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "timeout"

    @property
    def pid(self):
        return self.proc.pid if self.proc and self.proc.poll() is None else None


# ---------------------------------------------------------------- HTTP

class Unavailable(Exception):
    """The server could not be reached or answered 503 until the deadline."""


class Api:
    def __init__(self, port):
        self.port = port
        self.token = None
        self.mu = threading.Lock()
        self.counts = {"requests": 0, "conn_errors": 0, "http_503": 0, "http_5xx": 0}

    def count(self, k):
        with self.mu:
            self.counts[k] = self.counts.get(k, 0) + 1

    def once(self, method, path, body=None, headers=None, token=True, timeout=30):
        h = dict(headers or {})
        tok = self.token if token is True else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, sort_keys=True)
            h.setdefault("Content-Type", "application/json")
        self.count("requests")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()
        js = None
        if hdrs.get("content-type", "").startswith("application/json") and data:
            try:
                js = json.loads(data)
            except ValueError:
                js = None
        if r.status == 503:
            self.count("http_503")
        elif r.status >= 500:
            self.count("http_5xx")
        return r.status, hdrs, js, data

    def call(self, method, path, body=None, headers=None, token=True, retry_for=60.0, timeout=30):
        """once() retried with backoff on connection errors and 503 (a
        restart in progress) for up to retry_for seconds."""
        deadline = now() + retry_for
        pause = 0.1
        while True:
            try:
                st, hdrs, js, data = self.once(method, path, body, headers, token, timeout)
                if st != 503:
                    return st, hdrs, js, data
            except (OSError, http.client.HTTPException):
                self.count("conn_errors")
            if now() + pause > deadline or (STOP.is_set() and method == "GET" and not FINAL.is_set()):
                raise Unavailable("%s %s" % (method, path))
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


FINAL = threading.Event()       # the final checks are running: keep retrying


def make_tgz(files):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, content in sorted(files.items()):
            data = content.encode()
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def multipart(data):
    boundary = "soak" + uuid.uuid4().hex
    body = (("--%s\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"a.tar.gz\"\r\n"
             "Content-Type: application/gzip\r\n\r\n") % boundary).encode()
    body += data + ("\r\n--%s--\r\n" % boundary).encode()
    return body, "multipart/form-data; boundary=" + boundary


# Each job prints "begin", `lines` numbered lines, sleeps `secs`, prints
# "end" and exits with `code`. Its input, and so its environment, carries
# soak_tag: the /proc scan finds every process of a job by it.
SH_JOB = """echo "begin $soak_tag attempt $MINITOWER_ATTEMPT_NO v%d"
if [ "${lines:-0}" -gt 0 ]; then seq -f 'line %%g' 1 "$lines"; fi
if [ -n "$secs" ] && [ "$secs" != 0 ]; then sleep "$secs"; fi
echo "end $soak_tag"
exit "${code:-0}"
"""
PY_JOB = """import os, sys, time
e = os.environ
print("begin %%s attempt %%s v%d" %% (e["soak_tag"], e["MINITOWER_ATTEMPT_NO"]))
for i in range(1, int(e.get("lines", "0")) + 1):
    print("line %%d" %% i)
if float(e.get("secs", "0")) > 0:
    time.sleep(float(e["secs"]))
print("end %%s" %% e["soak_tag"])
sys.exit(int(e.get("code", "0")))
"""
APPS = {"soak-sh": "job.sh", "soak-py": "main.py"}


# ---------------------------------------------------------------- state

class State:
    def __init__(self):
        self.mu = threading.Lock()
        self.t0 = now()
        self.runs = {}          # run id -> Run
        self.tags = {}          # tag -> create record
        self.keys = {}          # idempotency key -> run id
        self.violations = []
        self.kills = {"runner": 0, "server": 0}
        self.counts = {}        # traffic counters
        self.deploys = 0
        self.samples = []       # per-minute lines as dicts
        self.res = {}           # name -> list of (t, rss, fds, threads)

    def count(self, k, n=1):
        with self.mu:
            self.counts[k] = self.counts.get(k, 0) + n

    def violate(self, kind, detail):
        with self.mu:
            self.violations.append({"t": round(now() - self.t0, 3), "kind": kind, "detail": detail})
        log("VIOLATION %s: %s" % (kind, detail))


class Run:
    def __init__(self, rid, tag, app, body, key, acked_at):
        self.id = rid
        self.tag = tag
        self.app = app
        self.body = body
        self.key = key
        self.acked_at = acked_at
        self.obs = []           # (sent, received, status, source)
        self.terminal = None    # (status, received at)
        self.attempts = {}      # attempt no -> last status seen
        self.attempts_final = False
        self.cancel_sent = False
        self.logs_checked = False


S = State()


def observe(rid, status, sent, source):
    """Records one observation of a run's status, made by a request sent at
    `sent`. A terminal status seen by an earlier-answered request must be
    the status of every request sent afterwards."""
    rcv = now()
    with S.mu:
        r = S.runs.get(rid)
        if r is None:
            return
        if len(r.obs) < 200 and (not r.obs or r.obs[-1][2] != status):
            r.obs.append((round(sent - S.t0, 3), round(rcv - S.t0, 3), status, source))
        term = r.terminal
        if status in TERMINAL and term is None:
            r.terminal = (status, rcv)
            hist = list(r.obs)
            code = r.body["input"].get("code", 0)
    if status in TERMINAL and term is None:
        if any(o[2] == "cancelling" for o in hist) and status != "cancelled":
            S.violate("cancel_lost", "run %d was cancelling, then %s; history %r" % (rid, status, hist))
        if (status == "completed" and code != 0) or (status == "failed" and code == 0):
            S.violate("wrong_outcome", "run %d (%s) exits with %d but is %s; history %r"
                      % (rid, r.tag, code, status, hist))
        return
    if term is not None and sent > term[1] and status != term[0]:
        S.violate("terminal_left" if status not in TERMINAL else "two_terminal_states",
                  "run %d was %s (seen at %.3f), then %s in a request sent at %.3f (%s); history %r"
                  % (rid, term[0], term[1] - S.t0, status, sent - S.t0, source, r.obs))


# ---------------------------------------------------------------- traffic

def setup(api):
    st, _, js, _ = api.call("POST", "/api/v1/bootstrap/team",
                            {"slug": "soak", "name": "Soak", "password": "soak-password-1"},
                            token=BOOT_TOKEN)
    assert st in (200, 201), (st, js)
    api.token = js["token"]
    for app in APPS:
        st, _, js, _ = api.call("POST", "/api/v1/apps", {"slug": app})
        assert st in (201, 409), (st, js)
        deploy(api, app)


DEPLOY_NO = [0]


def deploy(api, app):
    DEPLOY_NO[0] += 1
    n = DEPLOY_NO[0]
    script = APPS[app]
    src = (SH_JOB if script.endswith(".sh") else PY_JOB) % n
    tf = '[app]\nname = "%s"\nscript = "%s"\n' % (app, script)
    body, ctype = multipart(make_tgz({"Towerfile": tf, script: src}))
    st, _, js, _ = api.call("POST", "/api/v1/apps/%s/versions" % app, body,
                            headers={"Content-Type": ctype}, retry_for=60)
    if st != 201:
        S.count("deploy_errors")
        log("deploy %s answered %d %r" % (app, st, js))
    else:
        with S.mu:
            S.deploys += 1


def job_input(tag):
    k = rand()
    inp = {"soak_tag": tag, "code": 1 if rand() < 0.15 else 0}
    if k < 0.55:
        pass                                    # short
    elif k < 0.80:
        inp["secs"] = "%.1f" % uniform(1, 4)    # sleeping
    elif k < 0.95:
        inp["lines"] = randint(200, 3000)       # many lines
    else:
        inp["lines"] = randint(5000, 15000)
        inp["secs"] = "0.5"
    return inp


def create_one(api, cid, n):
    app = "soak-py" if rand() < 0.2 else "soak-sh"
    tag = "c%d-%d" % (cid, n)
    body = {"input": job_input(tag)}
    if rand() < 0.5:
        body["max_retries"] = randint(1, 3)
    keyed = rand() < 0.75
    key = ("soak-%s-%s" % (tag, uuid.uuid4().hex[:8])) if keyed else None
    with S.mu:
        S.tags[tag] = {"app": app, "key": key, "outcome": "pending"}
    path = "/api/v1/apps/%s/runs" % app
    hdrs = {"Idempotency-Key": key} if key else {}
    sent = now()
    twin = None
    if key and rand() < 0.07:
        # the same keyed create twice at once: both must name one run
        twin = {}

        def send_twin():
            try:
                a = Api(api.port)
                a.token = api.token
                twin["resp"] = a.call("POST", path, body, headers=hdrs, retry_for=120)
            except Exception as e:  # noqa: BLE001
                twin["error"] = e
        twin["thread"] = threading.Thread(target=send_twin, daemon=True)
        twin["thread"].start()
    try:
        if key:
            # a retried create carries the same key: an acknowledged one is
            # never doubled
            st, h, js, _ = api.call("POST", path, body, headers=hdrs, retry_for=120)
        else:
            st, h, js, _ = api.once("POST", path, body)
    except (Unavailable, OSError, http.client.HTTPException):
        with S.mu:
            S.tags[tag]["outcome"] = "unknown"      # may or may not exist
        S.count("creates_unanswered")
        return None
    if st == 503 or (st not in (200, 201)):
        with S.mu:
            S.tags[tag]["outcome"] = "refused %d" % st
        S.count("creates_refused")
        if st not in (503,):
            S.violate("create_error", "create %s answered %d %r" % (tag, st, js))
        return None
    if st == 200 and h.get("idempotent-replayed") != "true":
        S.violate("create_error", "create %s answered 200 without Idempotent-Replayed" % tag)
    rid = js["run_id"]
    if twin is not None:
        twin["thread"].join(130)
        S.count("creates_concurrent_twins")
        tr = twin.get("resp")
        if tr is not None and tr[0] in (200, 201):
            if tr[2]["run_id"] != rid or (st, tr[0]) == (201, 201):
                S.violate("doubled_create", "key %s sent twice at once: %d run %d and %d run %d"
                          % (key, st, rid, tr[0], tr[2]["run_id"]))
        elif tr is not None and tr[0] != 503:
            S.violate("create_error", "twin create %s answered %d %r" % (tag, tr[0], tr[2]))
    with S.mu:
        S.tags[tag]["outcome"] = "acked"
        S.tags[tag]["run_id"] = rid
        if rid in S.runs:
            S.violate("run_id_reused", "create %s got run %d of %s" % (tag, rid, S.runs[rid].tag))
            return None
        S.runs[rid] = Run(rid, tag, app, body, key, now())
        if key:
            S.keys[key] = rid
    S.count("creates_acked")
    if st == 200:
        S.count("creates_acked_on_retry_replay")
    observe(rid, js["status"], sent, "create")
    if key and rand() < 0.15:
        replay(api, key)
    return rid


def replay(api, key):
    with S.mu:
        rid = S.keys[key]
        r = S.runs[rid]
    sent = now()
    try:
        st, h, js, _ = api.call("POST", "/api/v1/apps/%s/runs" % r.app, r.body,
                                headers={"Idempotency-Key": key}, retry_for=30)
    except Unavailable:
        return
    S.count("replays")
    if st != 200 or js.get("run_id") != rid or h.get("idempotent-replayed") != "true":
        S.violate("idempotency", "replay of key %s (run %d) answered %d %r replayed=%r"
                  % (key, rid, st, js, h.get("idempotent-replayed")))
        return
    observe(rid, js["status"], sent, "replay")


def creator(api, cid):
    n = 0
    while not STOP.is_set():
        n += 1
        try:
            create_one(api, cid, n)
        except Exception as e:  # noqa: BLE001 - a client bug must not end the soak quietly
            S.violate("client_error", "creator %d: %r %s" % (cid, e, where()))
        # back-pressure: keep the queue short on the shared machine
        with S.mu:
            open_runs = sum(1 for r in S.runs.values() if r.terminal is None)
        STOP.wait(uniform(0.6, 1.6) + (2.0 if open_runs > 25 else 0.0))


def misc_client(api):
    """Replays old keys, cancels, deploys, reads runs, logs and streams."""
    last_deploy = now()
    while not STOP.is_set():
        try:
            k = rand()
            with S.mu:
                open_ids = [r.id for r in S.runs.values() if r.terminal is None]
                keys = list(S.keys)
                done = [r.id for r in S.runs.values() if r.terminal is not None and not r.logs_checked]
            if now() - last_deploy > 30:
                deploy(api, choice(list(APPS)))
                last_deploy = now()
            elif k < 0.25 and open_ids:
                rid = choice(open_ids)
                with S.mu:
                    S.runs[rid].cancel_sent = True
                sent = now()
                st, _, js, _ = api.call("POST", "/api/v1/runs/%d/cancel" % rid, retry_for=30)
                S.count("cancels")
                if st == 200:
                    observe(rid, js["status"], sent, "cancel")
                else:
                    S.violate("cancel_error", "cancel %d answered %d %r" % (rid, st, js))
            elif k < 0.40 and keys:
                replay(api, choice(keys))
            elif k < 0.60 and done:
                check_logs(api, choice(done))
            elif k < 0.70 and open_ids:
                stream(api, choice(open_ids))
            else:
                sent = now()
                st, _, js, _ = api.call("GET", "/api/v1/runs?limit=50", retry_for=30)
                S.count("lists")
                if st == 200:
                    for ro in js["runs"]:
                        observe(ro["run_id"], ro["status"], sent, "list")
        except Unavailable:
            pass
        except Exception as e:  # noqa: BLE001
            S.violate("client_error", "misc: %r %s" % (e, where()))
        STOP.wait(uniform(0.5, 1.5))


def check_logs(api, rid):
    """A completed run has every line its job printed, in one attempt,
    seq contiguous from 1."""
    with S.mu:
        r = S.runs[rid]
        status = r.terminal[0]
        inp = r.body["input"]
    st, _, js, _ = api.call("GET", "/api/v1/runs/%d/logs" % rid, retry_for=30)
    S.count("log_reads")
    if st != 200:
        S.violate("logs_error", "logs of %d answered %d" % (rid, st))
        return
    with S.mu:
        r.logs_checked = True
    if status != "completed":
        return
    lines = js["logs"]
    seqs = [x["seq"] for x in lines]
    out = [x["line"] for x in lines if x["stream"] == "stdout"]
    want = ["line %d" % i for i in range(1, int(inp.get("lines", 0)) + 1)]
    got = [x for x in out if x.startswith("line ")]
    ok = (seqs == list(range(1, len(seqs) + 1)) and got == want and
          any(x.startswith("begin " + r.tag + " ") for x in out) and ("end " + r.tag) in out)
    if not ok:
        S.violate("logs_incomplete", "completed run %d (%s): %d lines, seq %s..%s, %d of %d numbered lines"
                  % (rid, r.tag, len(lines), seqs[:1], seqs[-1:], len(got), len(want)))


def stream(api, rid):
    """Follows a run's SSE log stream to its end event (or 60 s): seqs
    strictly increase within an attempt; the statuses are observations."""
    c = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    sent = now()
    try:
        c.request("GET", "/api/v1/runs/%d/logs/stream" % rid,
                  headers={"Authorization": "Bearer " + api.token, "Accept": "text/event-stream"})
        r = c.getresponse()
        if r.status != 200:
            r.read()
            return
        S.count("streams")
        ev, data, last_seq, seen, deadline = None, [], 0, set(), now() + 60
        attempt = None
        while now() < deadline:
            line = r.readline()     # de-chunked (r.fp would show the chunk framing)
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("event: "):
                ev = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and ev:
                d = json.loads("\n".join(data)) if data else {}
                if ev == "log" and "seq" not in d:
                    S.violate("stream_event", "stream of run %d: log event %r" % (rid, data))
                elif ev == "log":
                    if d["seq"] <= last_seq or (attempt, d["seq"]) in seen:
                        S.violate("stream_order", "stream of run %d: seq %d after %d (attempt %r)"
                                  % (rid, d["seq"], last_seq, attempt))
                    seen.add((attempt, d["seq"]))
                    last_seq = d["seq"]
                elif ev == "attempt":
                    attempt, last_seq = d["attempt_no"], 0
                elif ev == "status":
                    observe(rid, d["status"], sent, "stream")
                elif ev == "end":
                    if d.get("status") not in TERMINAL:
                        S.violate("stream_end", "end event of run %d with status %r" % (rid, d.get("status")))
                    observe(rid, d["status"], sent, "stream-end")
                    break
                ev, data = None, []
    except (OSError, http.client.HTTPException, ValueError):
        pass
    finally:
        c.close()


def health_poller(api):
    while not STOP.is_set():
        for path in ("/health", "/ready"):
            try:
                st, _, _, _ = api.once("GET", path, token=False, timeout=5)
                S.count("%s_%d" % (path[1:], st))
            except (OSError, http.client.HTTPException):
                S.count("%s_unreachable" % path[1:])
        STOP.wait(2)


# ---------------------------------------------------------------- invariants

def sweep(api, final=False):
    """Lists every run of each app (newest first; runs created meanwhile
    push older ones down the pages, so none is missed) and checks that
    every run acknowledged before the sweep began is there."""
    began = now()
    seen = {}
    for app in APPS:
        off = 0
        while True:
            sent = now()
            st, _, js, _ = api.call("GET", "/api/v1/apps/%s/runs?limit=100&offset=%d" % (app, off),
                                    retry_for=1e9 if final else 60)
            if st != 200:
                raise Unavailable("list %d" % st)
            for ro in js["runs"]:
                seen[ro["run_id"]] = ro
                observe(ro["run_id"], ro["status"], sent, "sweep")
            if len(js["runs"]) < 100:
                break
            off += 100
    with S.mu:
        expected = [r for r in S.runs.values() if r.acked_at < began]
        tags = dict(S.tags)
    for r in expected:
        if r.id not in seen:
            S.violate("lost_run", "run %d (%s, acknowledged at %.3f) missing from the list"
                      % (r.id, r.tag, r.acked_at - S.t0))
    # every run the server has belongs to a create we sent, one per tag
    per_tag = {}
    for rid, ro in seen.items():
        tag = (ro.get("input") or {}).get("soak_tag")
        per_tag.setdefault(tag, []).append(rid)
    for tag, rids in per_tag.items():
        if tag not in tags:
            S.violate("unexpected_run", "runs %r with tag %r were never requested" % (rids, tag))
        elif len(rids) > 1:
            S.violate("doubled_create", "tag %s (key %r) has runs %r" % (tag, tags[tag]["key"], rids))
        elif tags[tag].get("run_id") not in (None, rids[0]):
            S.violate("doubled_create", "tag %s acknowledged as run %d but listed as %d"
                      % (tag, tags[tag]["run_id"], rids[0]))
    S.count("sweeps")
    return seen


def check_attempts(api, rid, final=False):
    sent = now()
    st, _, js, _ = api.call("GET", "/api/v1/runs/%d/attempts" % rid, retry_for=1e9 if final else 60)
    if st != 200:
        S.violate("attempts_error", "attempts of %d answered %d" % (rid, st))
        return
    ats = js["attempts"]
    nos = [a["attempt_no"] for a in ats]
    with S.mu:
        r = S.runs[rid]
        term = r.terminal
        before = dict(r.attempts)
    if nos != sorted(set(nos)) or (nos and nos[0] != 1):
        S.violate("attempt_numbers", "run %d attempts %r" % (rid, nos))
    active = [a for a in ats if a["status"] in ACTIVE_ATTEMPT or "finished_at" not in a]
    if len(active) > 1:
        S.violate("two_active_attempts", "run %d: %r" % (rid, ats))
    for no, old in before.items():
        cur = [a["status"] for a in ats if a["attempt_no"] == no]
        if not cur:
            S.violate("attempt_lost", "run %d attempt %d (%s) vanished: %r" % (rid, no, old, ats))
        elif old not in ACTIVE_ATTEMPT and cur[0] != old:
            S.violate("attempt_changed", "run %d attempt %d was %s, now %s" % (rid, no, old, cur[0]))
    if term is not None and sent > term[1]:
        if active:
            S.violate("active_attempt_of_terminal_run", "run %d is %s: %r" % (rid, term[0], ats))
        done = [a for a in ats if a["status"] == "completed"]
        if len(done) > 1 or (term[0] == "completed" and (not ats or ats[-1]["status"] != "completed")):
            S.violate("attempt_outcome", "run %d is %s: %r" % (rid, term[0], ats))
    with S.mu:
        for a in ats:
            r.attempts[a["attempt_no"]] = a["status"]
        if term is not None and sent > term[1]:
            r.attempts_final = True
    S.count("attempt_checks")


def checker(api):
    """Every ~10 s: a full sweep (lost, doubled, unexpected runs and the
    status history), then the attempts of every open run and, once, of
    every run that became terminal."""
    while not STOP.wait(10):
        try:
            sweep(api)
            with S.mu:
                todo = [r.id for r in S.runs.values() if not r.attempts_final]
            for rid in todo:
                if STOP.is_set():
                    break
                check_attempts(api, rid)
        except Unavailable:
            S.count("checks_skipped")
        except Exception as e:  # noqa: BLE001
            S.violate("client_error", "checker: %r %s" % (e, where()))


HOST_NS = os.readlink("/proc/self/ns/pid")


def job_procs():
    """{tag: {attempt no: [(pid, pid namespace)]}} of live processes whose
    environment carries soak_tag (every process of a job inherits it)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read()
            if b"soak_tag=" not in env:
                continue
            kv = dict(x.split(b"=", 1) for x in env.split(b"\0") if b"=" in x)
            ns = os.readlink("/proc/%d/ns/pid" % pid)
        except (OSError, ValueError):
            continue
        if not pid_alive(pid):
            continue
        tag = kv.get(b"soak_tag", b"").decode()
        no = kv.get(b"MINITOWER_ATTEMPT_NO", b"?").decode()
        out.setdefault(tag, {}).setdefault(no, []).append((pid, ns))
    return out


def scan_once():
    """At most one attempt of a run has processes alive, in one PID
    namespace (besides the host's, where bwrap itself runs)."""
    procs = job_procs()
    S.count("proc_scans")
    S.count("proc_scan_jobs_seen", len(procs))
    if procs and "proc_scan_example" not in S.counts:
        tag, by_no = next(iter(procs.items()))
        S.counts["proc_scan_example"] = "%s: %s" % (tag, {
            no: "%d processes, %d outside the host PID namespace"
            % (len(ps), sum(1 for _, ns in ps if ns != HOST_NS)) for no, ps in by_no.items()})
    for tag, by_no in procs.items():
        # re-check liveness after the scan: a scan is not atomic
        live = {no: [p for p in ps if pid_alive(p[0])] for no, ps in by_no.items()}
        live = {no: ps for no, ps in live.items() if ps}
        nss = {ns for ps in live.values() for _, ns in ps if ns != HOST_NS}
        if len(live) > 1 or len(nss) > 1:
            with S.mu:
                rid = S.tags.get(tag, {}).get("run_id")
            S.violate("two_live_attempts", "run %r (%s): processes of attempts %r alive at once"
                      % (rid, tag, live))


def proc_scanner():
    while not STOP.wait(2):
        try:
            scan_once()
        except Exception as e:  # noqa: BLE001
            S.violate("client_error", "proc scan: %r" % (e,))


# ---------------------------------------------------------------- reporting

def minute_line(srv, runners):
    with S.mu:
        total = len(S.runs)
        by = {}
        for r in S.runs.values():
            k = r.terminal[0] if r.terminal else "open"
            by[k] = by.get(k, 0) + 1
        kills = dict(S.kills)
    el = now() - S.t0
    parts = ["[%5.1f min] runs %d terminal %d %s kills runner %d server %d |" % (
        el / 60, total, total - by.get("open", 0),
        " ".join("%s=%d" % kv for kv in sorted(by.items())), kills["runner"], kills["server"])]
    res = {}
    for name, pid in [("minitowerd", srv.pid)] + [(r.name, r.pid) for r in runners]:
        st = proc_stats(pid) if pid else None
        if st:
            res[name] = {"rss_kib": st[0], "fds": st[1], "threads": st[2]}
            parts.append("%s rss %.1fM fds %d thr %d" % (name, st[0] / 1024.0, st[1], st[2]))
        else:
            parts.append("%s down" % name)
    rec = {"elapsed_s": round(el, 1), "runs": total, "by_status": by, "kills": kills, "procs": res}
    with S.mu:
        S.samples.append(rec)
    log(" ".join(parts))


# ---------------------------------------------------------------- main

def drain(api):
    """Waits (bounded) until every acknowledged run is terminal."""
    deadline = now() + DRAIN_TIMEOUT_S
    while now() < deadline:
        with S.mu:
            open_ids = [r.id for r in S.runs.values() if r.terminal is None]
        if not open_ids:
            return True
        for rid in open_ids:
            sent = now()
            try:
                st, _, js, _ = api.call("GET", "/api/v1/runs/%d" % rid, retry_for=30)
            except Unavailable:
                continue
            if st == 200:
                observe(rid, js["status"], sent, "drain")
        time.sleep(1)
    return False


def final_checks(api, d, srv, runners):
    FINAL.set()
    ok = drain(api)
    with S.mu:
        open_runs = [(r.id, r.tag, r.obs[-3:]) for r in S.runs.values() if r.terminal is None]
    if not ok:
        S.violate("not_terminal", "%d runs still not terminal after %d s: %r"
                  % (len(open_runs), DRAIN_TIMEOUT_S, open_runs[:20]))
    sweep(api, final=True)
    with S.mu:
        ids = sorted(S.runs)
    for rid in ids:
        check_attempts(api, rid, final=True)
    # replay every acknowledged key once more
    with S.mu:
        keys = list(S.keys)
    for key in keys:
        replay(api, key)
    time.sleep(1)
    left = job_procs()
    if left:
        S.violate("job_processes_left", "after draining: %r" % left)
    rcs = {r.name: r.stop() for r in runners}
    rc = srv.stop()
    for name, code in rcs.items():
        if code != 0:
            S.violate("runner_exit", "%s exited with %r on SIGTERM" % (name, code))
    if rc != 0:
        S.violate("server_exit", "minitowerd exited with %r on SIGTERM" % (rc,))
    left = job_procs()
    if left:
        S.violate("job_processes_left", "after stopping the runners: %r" % left)
    db_checks(os.path.join(d, "mt.db"))


def db_checks(path):
    db = sqlite3.connect(path, timeout=30)
    try:
        ic = db.execute("PRAGMA integrity_check").fetchall()
        if ic != [("ok",)]:
            S.violate("integrity_check", repr(ic[:10]))
        fk = db.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            S.violate("foreign_key_check", repr(fk[:10]))
        dup = db.execute("SELECT team_id, app_id, idempotency_key, COUNT(*) FROM run_idempotency_keys "
                         "GROUP BY 1, 2, 3 HAVING COUNT(*) > 1").fetchall()
        if dup:
            S.violate("doubled_create", "idempotency keys with several rows: %r" % dup[:10])
        keys = dict(db.execute("SELECT idempotency_key, run_id FROM run_idempotency_keys"))
        with S.mu:
            mine = dict(S.keys)
        for k, rid in mine.items():
            if keys.get(k) != rid:
                S.violate("idempotency", "key %s: acknowledged run %d, database %r" % (k, rid, keys.get(k)))
        act = db.execute("SELECT run_id, COUNT(*) FROM run_attempts WHERE status IN "
                         "('leased','running','cancelling') GROUP BY run_id").fetchall()
        if act:
            S.violate("active_attempt_left", repr(act[:10]))
        st = dict(db.execute("SELECT id, status FROM runs"))
        with S.mu:
            for rid, r in S.runs.items():
                if rid not in st:
                    S.violate("lost_run", "run %d not in the database" % rid)
                elif r.terminal and st[rid] != r.terminal[0]:
                    S.violate("terminal_left", "run %d: %s seen, %s in the database" % (rid, r.terminal[0], st[rid]))
        S.counts["db_runs"] = len(st)
    finally:
        db.close()


def schedule(lo_hi):
    return now() + uniform(*lo_hi)


def main():
    if not os.path.exists(os.path.join(BIN, "minitowerd")):
        log("no %s/minitowerd: run make first" % BIN)
        return 2
    d = tempfile.mkdtemp(prefix="mt-soak-")
    log("soak: %.1f min, %d runners, %d creators, sandbox %s, seed %d, dir %s"
        % (MINUTES, N_RUNNERS, N_CLIENTS, SANDBOX, SEED, d))
    srv = ServerProc(d)
    runners = []
    interrupted = False
    threads = []

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        srv.start()
        api = Api(srv.port)
        setup(api)
        runners = [RunnerProc(d, "soak-r%d" % i, srv.port) for i in range(1, N_RUNNERS + 1)]
        for r in runners:
            r.start()
        for i in range(N_CLIENTS):
            a = Api(srv.port)
            a.token = api.token
            threads.append(threading.Thread(target=creator, args=(a, i + 1), daemon=True))
        for fn in (misc_client, checker, health_poller):
            a = Api(srv.port)
            a.token = api.token
            threads.append(threading.Thread(target=fn, args=(a,), daemon=True))
        threads.append(threading.Thread(target=proc_scanner, daemon=True))
        for t in threads:
            t.start()
        end = S.t0 + MINUTES * 60
        next_minute = S.t0 + 60
        next_runner = schedule(RUNNER_KILL_EVERY)
        next_server = schedule(SERVER_KILL_EVERY)
        dead_runners = []       # (restart at, runner)
        while now() < end:
            time.sleep(0.2)
            t = now()
            for rt, r in list(dead_runners):
                if t >= rt:
                    r.start()
                    dead_runners.remove((rt, r))
            up = [x for x in runners if x.pid]
            if t >= next_runner and up:
                r = choice(up)
                r.kill()
                with S.mu:
                    S.kills["runner"] += 1
                log("[%5.1f min] SIGKILL runner %s" % ((t - S.t0) / 60, r.name))
                # back within the TTL: the restart releases the run; later:
                # the reaper expires the lease and retries the run (or ends it dead)
                dead_runners.append((t + uniform(0, 10), r))
                next_runner = schedule(RUNNER_KILL_EVERY)
            if t >= next_server:
                srv.kill()
                with S.mu:
                    S.kills["server"] += 1
                down = uniform(*SERVER_DOWN_S)
                log("[%5.1f min] SIGKILL minitowerd, down for %.1f s" % ((t - S.t0) / 60, down))
                time.sleep(down)
                srv.start()
                next_server = schedule(SERVER_KILL_EVERY)
            if t >= next_minute:
                minute_line(srv, runners)
                next_minute += 60
        for _, r in dead_runners:
            r.start()
        STOP.set()
        for t in threads:
            t.join(90)
        log("[%5.1f min] traffic stopped, draining" % ((now() - S.t0) / 60))
        minute_line(srv, runners)
        final_checks(api, d, srv, runners)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted")
    finally:
        STOP.set()
        for r in runners:
            if r.pid:
                r.proc.kill()
                r.proc.wait()
        if srv.pid:
            srv.proc.kill()
            srv.proc.wait()
        for tag, by_no in job_procs().items():
            for ps in by_no.values():
                for pid, _ in ps:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
    return report(d, srv, runners, interrupted)


def report(d, srv, runners, interrupted):
    with S.mu:
        by = {}
        for r in S.runs.values():
            k = r.terminal[0] if r.terminal else "open"
            by[k] = by.get(k, 0) + 1
        retried = sum(1 for r in S.runs.values() if len(r.attempts) > 1)
        summary = {
            "minutes": MINUTES, "seed": SEED, "interrupted": interrupted,
            "elapsed_s": round(now() - S.t0, 1), "runners": N_RUNNERS, "creators": N_CLIENTS,
            "sandbox": SANDBOX, "runs_acknowledged": len(S.runs), "runs_by_status": by,
            "runs_with_several_attempts": retried, "deploys": S.deploys,
            "kills": dict(S.kills), "server_starts": srv.starts,
            "runner_starts": {r.name: r.starts for r in runners},
            "traffic": dict(sorted(S.counts.items())),
            "violations": len(S.violations), "violation_list": S.violations[:200],
            "samples": S.samples,
        }
    summary["resources"] = resource_summary(S.samples)
    log("")
    log("=== soak summary ===")
    for k in ("minutes", "elapsed_s", "seed", "interrupted", "runs_acknowledged", "runs_by_status",
              "runs_with_several_attempts", "deploys", "kills", "server_starts", "runner_starts"):
        log("%-28s %s" % (k, summary[k]))
    log("%-28s %s" % ("traffic", json.dumps(summary["traffic"])))
    for name, v in summary["resources"].items():
        log("%-28s %s" % (name, json.dumps(v)))
    log("%-28s %d" % ("violations", summary["violations"]))
    for v in S.violations[:30]:
        log("  %s" % json.dumps(v)[:600])
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "soak-last.json"), "w") as f:
        json.dump(summary, f, indent=1)
    log("written to build/soak-last.json")
    keep = S.violations or interrupted or os.environ.get("SOAK_KEEP")
    if keep:
        log("kept %s (server.log, runner-*.log, mt.db)" % d)
    else:
        shutil.rmtree(d, ignore_errors=True)
    if interrupted:
        return 130
    return 1 if S.violations else 0


def resource_summary(samples):
    """first, last and max of RSS (MiB), fds and threads per process."""
    out = {}
    for s in samples:
        for name, v in s["procs"].items():
            o = out.setdefault(name, {"rss_mib": [], "fds": [], "threads": []})
            o["rss_mib"].append(round(v["rss_kib"] / 1024.0, 1))
            o["fds"].append(v["fds"])
            o["threads"].append(v["threads"])
    res = {}
    for name, o in out.items():
        res[name] = {k: {"first": xs[0], "last": xs[-1], "max": max(xs)} for k, xs in o.items()}
    return res


if __name__ == "__main__":
    sys.exit(main())
