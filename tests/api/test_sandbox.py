"""Containment of jobs (issue 12, docs/sandbox.md) with real processes, real
bubblewrap, real cgroups and a real minitowerd: a job never runs twice at
once when its runner is SIGKILLed (also during venv creation), runs of two
teams on two runners with the same job user cannot reach each other, a job
sees neither the runner's files nor other runs, network off means no
connect(), memory, pids, cpus and disk_mb limits hold and say why a run
ended, and a double-forked daemon never outlives its run.

Every test runs once per sandbox mode: bwrap (the default here) and none,
where the documented weaker guarantees are asserted instead."""
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_runner_e2e as e2e  # noqa: E402
from mtserver import Server  # noqa: E402

PY = e2e.PY
TESTS = []
MODE = {"name": None}


def test(fn):
    TESTS.append(fn)
    return fn


class Skip(Exception):
    pass


class Ticks:
    """A TCP collector on 127.0.0.1: jobs send lines "<attempt> <seq>" and
    the collector stamps them with its own clock, so the ticks of two
    attempts are compared on one clock that no dying runner can stop."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.ticks = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        buf = b""
        while True:
            try:
                d = c.recv(4096)
            except OSError:
                d = b""
            if not d:
                return
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with self.lock:
                    self.ticks.append((time.time(), line.decode()))

    def of(self, attempt):
        with self.lock:
            return [t for t, l in self.ticks if l.split()[0] == str(attempt)]

    def close(self):
        self.sock.close()


WORKER = r"""import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
att = os.environ["MINITOWER_ATTEMPT_NO"]
n = int(sys.argv[2])
tick_file = sys.argv[3] if len(sys.argv) > 3 else None
for i in range(n):
    s.sendall(("%s %d\n" % (att, i)).encode())
    if tick_file:
        with open(tick_file, "a") as f:
            f.write("%s %.6f\n" % (att, time.time()))
    time.sleep(0.05)
print("worker done")
"""


def file_ticks(path, attempt):
    try:
        with open(path) as f:
            return [float(l.split()[1]) for l in f if l.split()[0] == str(attempt)]
    except OSError:
        return []


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def runner(s, name, **env):
    env.setdefault("MINITOWER_SANDBOX", MODE["name"])
    return e2e.Runner(s, name, **env).start()


def team_token(s, slug):
    if slug not in e2e.STATE:
        e2e.STATE[slug] = s.signup(slug)
    return e2e.STATE[slug]


def deploy_as(s, token, app, files, tf):
    st, _, b = s.req("POST", "/api/v1/apps", {"slug": app}, token=token)
    assert st == 201, (st, b)
    files = dict(files)
    files["Towerfile"] = tf
    st, _, b = s.upload(token, app, files)
    assert st in (200, 201), (st, b)


def run_as(s, token, app, inp=None, **kw):
    body = dict(kw)
    if inp is not None:
        body["input"] = inp
    st, _, b = s.req("POST", "/api/v1/apps/%s/runs" % app, body, token=token)
    assert st == 201, (st, b)
    return b["run_id"]


def run_of(s, token, rid):
    st, _, b = s.req("GET", "/api/v1/runs/%d" % rid, token=token)
    assert st == 200, (st, b)
    return b


def lines_as(s, token, rid):
    st, _, b = s.req("GET", "/api/v1/runs/%d/logs" % rid, token=token)
    assert st == 200, (st, b)
    return [l["line"] for l in b["logs"]]


def wait_done(s, rid, timeout=120, token=None):
    token = token or e2e.STATE["token"]
    return e2e.wait_for(lambda: (lambda r: r if r["status"] in ("completed", "failed", "cancelled", "dead")
                                 else None)(run_of(s, token, rid)), timeout, "run %d to end" % rid)


def uniq(tag):
    return "%s-%d-%d" % (tag, os.getpid(), int(time.time() * 1000) % 10000000)


def unique_app(tag):
    return ("%s%s" % (tag, uniq(""))).replace("-", "")[:40]


# --- 1. never two live attempts ----------------------------------------------

@test
def runner_sigkill_never_two_attempts(s):
    ticks = Ticks()
    app = unique_app("twice")
    outdir = os.path.join(s.tmp, "ticks-" + MODE["name"])
    os.makedirs(outdir, exist_ok=True)
    tick_file = os.path.join(outdir, "ticks.txt")
    e2e.deploy(s, app, {"job.sh": "%s worker.py %d 80 %s\necho shell-done\n" % (PY, ticks.port, tick_file),
                        "worker.py": WORKER},
               e2e.towerfile(app, "job.sh", '[app.sandbox]\nwritable_paths = ["%s"]\n' % outdir))
    a = runner(s, "tw-a-" + MODE["name"])
    rid = e2e.create_run(s, app, max_retries=1)
    e2e.wait_for(lambda: len(ticks.of(1)) >= 5, 60, "attempt 1 ticking")
    assert e2e.procs_with("worker.py %d" % ticks.port), "the worker runs on the host"
    t_kill = time.time()
    a.stop(signal.SIGKILL)
    # Every process of the job dies within 1 s, long before the lease (4 s).
    e2e.wait_for(lambda: not e2e.procs_with("worker.py %d" % ticks.port), 1.0,
                 "attempt 1 to die with its runner")
    b = runner(s, "tw-b-" + MODE["name"])
    r = wait_done(s, rid, 90)
    assert r["status"] == "completed", r
    one, two = ticks.of(1), ticks.of(2)
    assert one and two, (len(one), len(two))
    assert max(one) < min(two), "attempt 1 ticked %.3f s after attempt 2 began" % (max(one) - min(two))
    assert max(one) < t_kill + 1.0, "attempt 1 ticked %.3f s after the kill" % (max(one) - t_kill)
    # The same on the file outside the workspace, by the jobs' own clock.
    f1, f2 = file_ticks(tick_file, 1), file_ticks(tick_file, 2)
    assert f1 and f2 and max(f1) < min(f2), (len(f1), len(f2))
    b.stop()
    ticks.close()


@test
def runner_sigkill_during_venv_creation(s):
    ticks = Ticks()
    app = unique_app("venvkill")
    files = e2e.pypkg_files()
    files["main.py"] = WORKER.replace("int(sys.argv[1])", str(ticks.port)).replace("int(sys.argv[2])", "20")
    files["requirements.txt"] = "--no-index\n./pypkg\n"
    e2e.deploy(s, app, files, e2e.towerfile(app, "main.py"))
    a = runner(s, "vk-a-" + MODE["name"])
    rid = e2e.create_run(s, app, max_retries=1)
    marker = "minitower-run-%d-" % rid
    # The kill lands while venv runs ensurepip in a child process of its own.
    e2e.wait_for(lambda: [p for p in e2e.procs_with(marker) if "ensurepip" in cmdline(p)], 60,
                 "ensurepip under venv creation")
    a.stop(signal.SIGKILL)
    e2e.wait_for(lambda: not e2e.procs_with(marker), 1.0, "the venv build to die with its runner")
    b = runner(s, "vk-b-" + MODE["name"])
    r = wait_done(s, rid, 120)
    assert r["status"] == "completed", (r, e2e.lines_of(s, rid))
    assert not ticks.of(1) and ticks.of(2)
    b.stop()
    ticks.close()


# --- 2. runs of two teams cannot reach each other -----------------------------

VICTIM = """before=$(cksum < job.sh)
echo "victim ws=$HOME input=$MINITOWER_INPUT_FILE"
echo secret-of-b > "$HOME/secret.txt"
sleep 12.5
[ "$(cksum < job.sh)" = "$before" ] || echo "victim-was-tampered"
echo victim-end
"""

ATTACKER = r"""import json, os, signal, subprocess
inp = json.load(open(os.environ["MINITOWER_INPUT_FILE"]))
ws, infile = inp["ws"], inp["input"]
def tryit(name, fn):
    try:
        fn()
        print("REACHED " + name)
    except Exception as e:
        print("blocked %s %s" % (name, e.__class__.__name__))
tryit("read-input", lambda: open(infile).read())
tryit("read-secret", lambda: open(os.path.join(ws, "secret.txt")).read())
tryit("list-workspace", lambda: os.listdir(ws))
tryit("append-script", lambda: open(os.path.join(ws, "job.sh"), "a").write("echo PWNED\n"))
mine = os.path.basename(os.path.dirname(os.environ["HOME"]))
tryit("list-tmp-runs", lambda: [d for d in os.listdir(os.path.dirname(os.path.dirname(ws)))
                                 if d.startswith("minitower-run-") and d != mine] or 1 / 0)
victims = []
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            if b"sleep\0" + b"12.5" in open("/proc/%s/cmdline" % d, "rb").read():
                victims.append(int(d))
        except OSError:
            pass
print("victims-visible=%d" % len(victims))
for p in victims:
    tryit("signal-%d" % p, lambda: os.kill(p, signal.SIGTERM))
print("attacker-end")
"""


@test
def two_teams_same_job_user_cannot_reach_each_other(s):
    import pwd
    if os.geteuid() != 0:
        raise Skip("needs root for a job user")
    nobody = pwd.getpwnam("nobody")
    work = os.path.join(s.tmp, "iso-" + MODE["name"])
    os.makedirs(work, exist_ok=True)
    os.chmod(s.tmp, 0o711)
    os.chmod(work, 0o711)
    ta, tb = team_token(s, "team-a"), team_token(s, "team-b")
    app_a, app_b = unique_app("atk"), unique_app("vic")
    deploy_as(s, tb, app_b, {"job.sh": VICTIM}, e2e.towerfile(app_b, "job.sh"))
    deploy_as(s, ta, app_a, {"main.py": ATTACKER}, e2e.towerfile(app_a, "main.py"))
    ra = runner(s, "iso-a-" + MODE["name"], MINITOWER_JOB_USER="nobody", TMPDIR=work)
    rb = runner(s, "iso-b-" + MODE["name"], MINITOWER_JOB_USER="nobody", TMPDIR=work)
    rid_b = run_as(s, tb, app_b)
    line = e2e.wait_for(lambda: next((l for l in lines_as(s, tb, rid_b) if l.startswith("victim ws=")), None),
                        60, "the victim to start")
    ws = line.split("ws=")[1].split(" ")[0]
    infile = line.split("input=")[1]
    assert e2e.procs_with("sleep 12.5"), "the victim runs"
    rid_a = run_as(s, ta, app_a, {"ws": ws, "input": infile})
    r = wait_done(s, rid_a, 120, ta)
    out = lines_as(s, ta, rid_a)
    assert r["status"] == "completed", (r, out)
    assert "attacker-end" in out, out
    reached = [l for l in out if l.startswith("REACHED")]
    assert not reached, (MODE["name"], reached, out)
    if MODE["name"] == "bwrap":
        assert "victims-visible=0" in out, out   # its own /proc
    rb_run = wait_done(s, rid_b, 60, tb)
    out_b = lines_as(s, tb, rid_b)
    assert rb_run["status"] == "completed" and "victim-end" in out_b, (rb_run, out_b)
    assert "victim-was-tampered" not in out_b, out_b
    for rr in (ra, rb):
        rr.stop()
    del nobody
    shutil.rmtree(work, ignore_errors=True)


# --- 3. what a job sees -------------------------------------------------------

PEEK = """idfile=$1; datadir=$2; other=$3; outside=$4
cat "$idfile" >/dev/null 2>&1 && echo "REACHED identity"
ls "$datadir" >/dev/null 2>&1 && echo "REACHED datadir"
cat "$other/secret" >/dev/null 2>&1 && echo "REACHED other-run"
echo x > "$outside/written" 2>/dev/null && echo "REACHED write-outside"
echo x > "$HOME/mine" && echo "wrote workspace"
echo x > /tmp/mine && echo "wrote tmp"
echo x > "$TMPDIR/mine2" && echo "wrote tmpdir"
env | grep -q MINITOWER_RUNNER_REGISTRATION_TOKEN && echo "REACHED regtoken"
kill -0 $PPID 2>/dev/null; ps -e -o comm= 2>/dev/null | grep -q minitower-runn && echo "REACHED runner-process"
echo peek-end
"""


@test
def job_sees_neither_runner_nor_other_runs(s):
    app = unique_app("peek")
    r = runner(s, "peek-" + MODE["name"])
    idfile = [os.path.join(r.data, "runners", f) for f in os.listdir(os.path.join(r.data, "runners"))
              if f.endswith(".json")][0]
    other = os.path.join(r.env["TMPDIR"], "minitower-run-999999-other")
    os.makedirs(other, exist_ok=True)
    with open(os.path.join(other, "secret"), "w") as f:
        f.write("x")
    outside = os.path.join(s.tmp, "outside-" + MODE["name"])
    os.makedirs(outside, exist_ok=True)
    # Arguments through a wrapper: the entrypoint takes none.
    e2e.deploy(s, app + "w", {"peek.sh": PEEK, "run.sh": "sh ./peek.sh %s %s %s %s\n" % (idfile, r.data, other, outside)},
               e2e.towerfile(app + "w", "run.sh"))
    ls = e2e.completed_lines(s, app + "w")
    assert "peek-end" in ls and "wrote workspace" in ls and "wrote tmp" in ls and "wrote tmpdir" in ls, ls
    reached = sorted(l for l in ls if l.startswith("REACHED"))
    if MODE["name"] == "bwrap":
        assert not reached, reached
    else:
        # none, runner as root, no job user: documented in docs/sandbox.md
        assert "REACHED identity" in reached and "REACHED write-outside" in reached, reached
    assert "REACHED regtoken" not in reached
    assert not os.path.exists(os.path.join(outside, "written")) or MODE["name"] == "none"
    shutil.rmtree(other, ignore_errors=True)
    r.stop()


# --- 4. limits ----------------------------------------------------------------

@test
def memory_hog_is_oom_killed_runner_survives(s):
    app = unique_app("hog")
    hog = "x = []\nwhile True:\n    x.append(bytearray(8 * 1024 * 1024))\n"
    e2e.deploy(s, app, {"hog.sh": "%s -c '%s'\n" % (PY, hog.replace("'", "'\\''"))},
               e2e.towerfile(app, "hog.sh"))
    r = runner(s, "hog-" + MODE["name"], MINITOWER_DEFAULT_MEMORY_MB="64")
    rid = e2e.create_run(s, app)
    run = wait_done(s, rid, 120)
    ls = e2e.lines_of(s, rid)
    assert run["status"] == "failed", (run, ls)
    assert any(l.startswith("run failed: out of memory") for l in ls), ls
    at = e2e.attempts(s, rid)[-1]
    assert at.get("error_message", "").startswith("out of memory"), at
    assert r.proc.poll() is None, "the runner survived"
    r.stop()


@test
def fork_bomb_is_contained_by_pids(s):
    app = unique_app("forks")
    bomb = ("import os, signal, time\nkids, refused = [], 0\n"
            "for i in range(300):\n"
            "    try:\n"
            "        p = os.fork()\n"
            "    except OSError:\n"
            "        refused += 1\n"
            "        continue\n"
            "    if p == 0:\n"
            "        time.sleep(20.9)\n"
            "        os._exit(0)\n"
            "    kids.append(p)\n"
            "print('forked=%d refused=%d' % (len(kids), refused))\n"
            "time.sleep(1)\n"
            "for p in kids:\n"
            "    os.kill(p, signal.SIGKILL)\n"
            "print('forks-end')\n")
    e2e.deploy(s, app, {"f.sh": "%s bomb20.py\n" % PY, "bomb20.py": bomb}, e2e.towerfile(app, "f.sh"))
    r = runner(s, "forks-" + MODE["name"], MINITOWER_DEFAULT_PIDS="40")
    rid = e2e.create_run(s, app)
    e2e.wait_line(s, rid, "forked=")
    alive = e2e.procs_with("bomb20.py")
    assert len(alive) <= 40, len(alive)
    run = wait_done(s, rid, 120)
    ls = e2e.lines_of(s, rid)
    assert run["status"] == "completed" and "forks-end" in ls, (run, ls)
    forked = int([l for l in ls if l.startswith("forked=")][0].split()[0][7:])
    assert 0 < forked < 40, ls
    e2e.wait_for(lambda: not e2e.procs_with("bomb20.py"), 10, "the children to be gone")
    r.stop()


@test
def cpus_half_a_core(s):
    app = unique_app("cpu")
    busy = ("import time\nt0 = time.time(); c0 = time.process_time()\n"
            "while time.time() - t0 < 4: pass\n"
            "print('ratio=%.3f' % ((time.process_time() - c0) / (time.time() - t0)))\n"
            "print('wall=%.3f' % (time.time() - float(open('t0').read())))\n")
    e2e.deploy(s, app, {"busy.sh": "date +%%s.%%N > t0\n%s busy.py\n" % PY, "busy.py": busy},
               e2e.towerfile(app, "busy.sh"))
    r = runner(s, "cpu-" + MODE["name"], MINITOWER_DEFAULT_CPUS="0.5")
    rid = e2e.create_run(s, app)
    assert wait_done(s, rid, 120)["status"] == "completed"
    ls = e2e.lines_of(s, rid)
    ratio = float([l for l in ls if l.startswith("ratio=")][0][6:])
    wall = float([l for l in ls if l.startswith("wall=")][0][5:])
    # The same from the cgroup, over the job's whole life.
    at = e2e.attempts(s, rid)[-1]
    cg = (at["cpu_user_ms"] + at["cpu_system_ms"]) / 1000.0 / wall
    print("# cpus=0.5 busy loop: %.2f of a core (the process), %.2f (the cgroup over %.2f s)"
          % (ratio, cg, wall))
    assert 0.35 <= ratio <= 0.65, ratio
    assert 0.35 <= cg <= 0.65, (cg, wall, at)
    r.stop()


@test
def disk_limit_stops_a_filling_job(s):
    if os.geteuid() != 0:
        raise Skip("disk_mb needs a root runner")
    app = unique_app("fill")
    e2e.deploy(s, app, {"fill.sh": "while :; do head -c 1048576 /dev/zero >> big || sleep 0.1; done\n"},
               e2e.towerfile(app, "fill.sh"))
    r = runner(s, "fill-" + MODE["name"], MINITOWER_DEFAULT_DISK_MB="16")
    rid = e2e.create_run(s, app)
    run = wait_done(s, rid, 60)
    at = e2e.attempts(s, rid)[-1]
    assert run["status"] == "failed", run
    assert at.get("error_message", "").startswith("disk limit reached"), at
    assert at.get("reason") == "disk_limit", at
    r.stop()


CONNECT = r"""import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
    print("connect-ok")
except OSError as e:
    print("connect-failed %s" % e.__class__.__name__)
"""


@test
def network_off_means_no_connect(s):
    ticks = Ticks()
    r = runner(s, "net-" + MODE["name"])
    app_on, app_off = unique_app("neton"), unique_app("netoff")
    files = {"c.sh": "%s c.py %d\n" % (PY, ticks.port), "c.py": CONNECT}
    e2e.deploy(s, app_on, files, e2e.towerfile(app_on, "c.sh"))
    e2e.deploy(s, app_off, files, e2e.towerfile(app_off, "c.sh", "[app.sandbox]\nnetwork = false\n"))
    assert "connect-ok" in e2e.completed_lines(s, app_on)
    ls = e2e.completed_lines(s, app_off)
    assert any(l.startswith("connect-failed") for l in ls), ls
    assert any("network off" in l for l in ls), ls
    r.stop()
    ticks.close()


@test
def towerfile_limits_reasons_and_usage(s):
    r = runner(s, "lim-" + MODE["name"], MINITOWER_MAX_MEMORY_MB="256")
    hog = "x = []\nwhile True:\n    x.append(bytearray(8 * 1024 * 1024))\n"
    app = unique_app("tfhog")
    e2e.deploy(s, app, {"hog.py": hog}, e2e.towerfile(app, "hog.py", "[app.resources]\nmemory_mb = 64\n"))
    rid = e2e.create_run(s, app)
    assert wait_done(s, rid, 120)["status"] == "failed"
    at = e2e.attempts(s, rid)[-1]
    assert at.get("reason") == "oom_killed", at
    assert 32 * 2 ** 20 <= at.get("peak_memory_bytes", 0) <= 80 * 2 ** 20, at
    assert "cpu_user_ms" in at and "cpu_system_ms" in at, at
    # More than the runner's ceiling: refused with the reason, never run.
    big = unique_app("tfbig")
    e2e.deploy(s, big, {"j.sh": "echo RAN\n"}, e2e.towerfile(big, "j.sh", "[app.resources]\nmemory_mb = 512\n"))
    rid = e2e.create_run(s, big)
    assert wait_done(s, rid, 60)["status"] == "failed"
    at = e2e.attempts(s, rid)[-1]
    assert at.get("reason") == "setup_failed", at
    assert "memory_mb = 512 > MINITOWER_MAX_MEMORY_MB = 256" in at.get("error_message", ""), at
    assert "RAN" not in e2e.lines_of(s, rid)
    # A completed run reports its CPU time; the runner reports its sandbox.
    ok = unique_app("tfok")
    e2e.deploy(s, ok, {"j.sh": "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done\n"},
               e2e.towerfile(ok, "j.sh", "[app.resources]\ncpus = 1\npids = 64\nopen_files = 256\n"))
    rid = e2e.create_run(s, ok)
    assert wait_done(s, rid, 60)["status"] == "completed"
    at = e2e.attempts(s, rid)[-1]
    assert at.get("reason") == "completed" and at.get("cpu_user_ms", -1) >= 0, at
    st, _, b = e2e.api(s, "GET", "/api/v1/admin/runners")
    me = [x for x in b["runners"] if x["name"] == r.name][0]
    assert me.get("sandbox") == MODE["name"] and me.get("limits") == "cgroup-v1", me
    r.stop()


@test
def rlimit_fallback_without_cgroups(s):
    r = runner(s, "rl-" + MODE["name"], MINITOWER_CGROUP="off")
    assert any(m.get("limits") == "rlimit" for m in r.msgs()), r.lines
    app = unique_app("rlnofile")
    e2e.deploy(s, app, {"n.py": "import resource\nprint('nofile=%d' % resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"},
               e2e.towerfile(app, "n.py", "[app.resources]\nopen_files = 100\n"))
    assert "nofile=100" in e2e.completed_lines(s, app)
    # cpus cannot be enforced without a cgroup: refused, never run unlimited.
    app2 = unique_app("rlcpu")
    e2e.deploy(s, app2, {"j.sh": "echo RAN\n"}, e2e.towerfile(app2, "j.sh", "[app.resources]\ncpus = 0.5\n"))
    rid = e2e.create_run(s, app2)
    assert wait_done(s, rid, 60)["status"] == "failed"
    at = e2e.attempts(s, rid)[-1]
    assert "cpus cannot be enforced" in at.get("error_message", ""), at
    r.stop()


# --- 5. nothing left behind ---------------------------------------------------

DAEMON = "setsid sh -c 'sleep %s &' &\necho spawned\nsleep %s\necho main-end\n"


def daemon_marker(n):
    """A sleep no other test run (nor a leftover of one) has."""
    return "1000.%d%d" % (n, os.getpid())


@test
def double_fork_daemon_gone_after_completion_cancel_and_crash(s):
    app = unique_app("daemon")
    m1, m2, m3 = (daemon_marker(i) for i in (1, 2, 3))
    e2e.deploy(s, app, {"d.sh": DAEMON % (m1, "1")}, e2e.towerfile(app, "d.sh"))
    r = runner(s, "dmn-" + MODE["name"])
    rid = e2e.create_run(s, app)
    assert wait_done(s, rid)["status"] == "completed"
    e2e.wait_for(lambda: not e2e.procs_with("sleep " + m1), 5, "the daemon gone after completion")
    app2 = unique_app("daemonc")
    e2e.deploy(s, app2, {"d.sh": DAEMON % (m2, "60")}, e2e.towerfile(app2, "d.sh"))
    rid = e2e.create_run(s, app2)
    e2e.wait_line(s, rid, "spawned")
    e2e.wait_for(lambda: e2e.procs_with("sleep " + m2), 10, "the daemon")
    st, _, b = e2e.api(s, "POST", "/api/v1/runs/%d/cancel" % rid)
    assert st == 200, b
    assert wait_done(s, rid)["status"] == "cancelled"
    e2e.wait_for(lambda: not e2e.procs_with("sleep " + m2), 5, "the daemon gone after cancel")
    app3 = unique_app("daemonk")
    e2e.deploy(s, app3, {"d.sh": DAEMON % (m3, "60")}, e2e.towerfile(app3, "d.sh"))
    rid = e2e.create_run(s, app3)
    e2e.wait_line(s, rid, "spawned")
    e2e.wait_for(lambda: e2e.procs_with("sleep " + m3), 10, "the daemon")
    r.stop(signal.SIGKILL)
    e2e.wait_for(lambda: not e2e.procs_with("sleep " + m3), 1.0, "the daemon gone with its runner")
    r2 = runner(s, "dmn-" + MODE["name"])
    e2e.wait_for(lambda: r2.has("released run left by a previous process"), 10, "recovery")
    r2.stop()


def own_cgroup_dirs():
    """This process's cgroup v1 directory per controller (the runner, a
    child, starts in the same groups), or None without v1."""
    dirs = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(","):
                if c in ("memory", "pids", "cpu", "cpuacct", "freezer"):
                    dirs[c] = "/sys/fs/cgroup/%s%s" % (c, path)
    return dirs if len(dirs) == 5 and all(os.path.isdir(d) for d in dirs.values()) else None


@test
def restart_kills_what_a_killed_runner_left_in_its_cgroups(s):
    import hashlib
    import subprocess
    dirs = own_cgroup_dirs()
    if dirs is None or os.geteuid() != 0:
        raise Skip("needs writable cgroup v1 hierarchies")
    name = "recov-%s-%d" % (MODE["name"], os.getpid())
    rid = hashlib.sha256(name.encode()).hexdigest()[:16]
    left = [os.path.join(d, "minitower-" + rid, "run-999-1") for d in dirs.values()]
    for d in left:
        os.makedirs(d, exist_ok=True)
    # A process a killed runner's job could have left (had it escaped).
    marker = "77.%d" % os.getpid()
    p = subprocess.Popen(["sleep", marker], start_new_session=True)
    for d in left:
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write(str(p.pid))
    r = runner(s, name)
    assert r.has("killed processes left by a previous process"), r.lines
    assert p.wait(timeout=5) == -signal.SIGKILL
    assert not any(os.path.exists(d) for d in left), left
    r.stop()


SETUP_PY = """import os, sys
from setuptools import setup
d = os.environ.get("PEEK_DIR", "")
try:
    os.listdir(%r)
    print("SETUP-REACHED-DATADIR", file=sys.stderr)
    sys.exit("reached the runner's data directory")
except OSError:
    pass
setup(name="peekpkg", version="1.0", py_modules=["peekpkg"])
"""


@test
def pip_setup_py_cannot_read_the_data_dir(s):
    r = runner(s, "pip-" + MODE["name"])
    app = unique_app("setup")
    files = {"main.py": "import peekpkg\nprint('imported')\n",
             "requirements.txt": "--no-index\n./peekpkg\n",
             "peekpkg/setup.py": SETUP_PY % os.path.join(r.data, "runners"),
             "peekpkg/peekpkg.py": "X = 1\n"}
    e2e.deploy(s, app, files, e2e.towerfile(app, "main.py"))
    rid = e2e.create_run(s, app)
    run = wait_done(s, rid, 180)
    ls = e2e.lines_of(s, rid)
    if MODE["name"] == "bwrap":
        assert run["status"] == "completed" and "imported" in ls, (run, ls)
    else:
        assert run["status"] == "failed", (run, ls)   # none as root: documented
    r.stop()


def main():
    env = {"MINITOWER_LEASE_TTL": "4s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "250ms"}
    modes = os.environ.get("MT_SANDBOX_MODES", "bwrap,none").split(",")
    if not shutil.which("bwrap"):
        modes = [m for m in modes if m != "bwrap"]
    only = os.environ.get("MT_SANDBOX_TESTS")
    tests = [f for f in TESTS if not only or f.__name__ in only.split(",")]
    print("1..%d" % (len(tests) * len(modes)))
    n = failed = 0
    with Server(env=env) as s:
        e2e.STATE["token"] = s.bootstrap()
        for mode in modes:
            MODE["name"] = mode
            for fn in tests:
                n += 1
                first = len(e2e.ALL_RUNNERS)
                name = "%s/%s" % (mode, fn.__name__)
                try:
                    fn(s)
                    print("ok %d - %s" % (n, name))
                except Skip as why:
                    print("ok %d - %s # SKIP %s" % (n, name, why))
                except Exception:
                    import traceback
                    failed += 1
                    print("not ok %d - %s" % (n, name))
                    for line in traceback.format_exc().splitlines():
                        print("# " + line)
                    for r in e2e.ALL_RUNNERS[first:]:
                        print("# --- runner %s ---" % r.name)
                        for line in r.lines[-25:]:
                            print("# " + line.rstrip()[:300])
                finally:
                    for r in e2e.ALL_RUNNERS[first:]:
                        r.stop()
                sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
