"""The runner crash matrix (issue 19, docs/crash-matrix.md): the -DMT_FAULTS
runner is SIGKILLed at each boundary of a run (MT_CRASH_AT: lease,
download, unpack, venv, run, result, logs), and then either restarted (a
normal runner with the same name and data directory) or not (its lease
expires, a second runner takes the retry). Through the real binaries: a
real minitowerd, real bubblewrap jobs, a real Python venv built offline.

After each case: the run ends in exactly one terminal state, the one the
retry policy says (a restart releases without using a retry: max_retries =
0 still completes; an expired lease uses one: max_retries = 1 completes on
the second runner, max_retries = 0 ends dead); attempt numbers only grow;
the dead attempt's lease token gets 410 on result, logs and heartbeat and
changes nothing; no process of the first attempt is left; and a sampler
scanning /proc every 30 ms never saw processes of two attempts alive at
once, nor the first attempt's after the second's began. Processes are told
apart by MINITOWER_RUN_ID and MINITOWER_ATTEMPT_NO in /proc/<pid>/environ
(jobs and venv/pip builds carry both, and a HOME under this test's TMPDIR),
and the job's marker command line.

MT_CRASH_CASES=point[/r|/n],... runs a subset."""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_runner_e2e as e2e  # noqa: E402
from mtserver import FAULTS_BIN, Server  # noqa: E402

TTL = "4s"
POINTS = ["lease", "download", "unpack", "venv", "run", "result", "logs"]
LINES = 250     # job lines: more than two log batches of 100
TAG = "%d" % os.getpid()
WORK = {"dir": None}    # the runners' TMPDIR

JOB_SH = r"""echo "start $MINITOWER_ATTEMPT_NO"
i=0
while [ $i -lt %d ]; do echo "line $i"; i=$((i + 1)); done
/usr/bin/python3 -c 'import time; time.sleep(1.5)' "cm-$tag-a$MINITOWER_ATTEMPT_NO"
echo end
""" % LINES

MAIN_PY = r"""import os, subprocess, sys
att = os.environ["MINITOWER_ATTEMPT_NO"]
print("start " + att, flush=True)
subprocess.run([sys.executable, "-c", "import time; time.sleep(1.5)",
                "cm-%s-a%s" % (os.environ["tag"], att)], check=True)
print("end")
"""


def runner_id(name):
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def run_dirs(tmpdir, name, rid):
    prefix = "minitower-run-%d-%s-" % (rid, runner_id(name))
    return [os.path.join(tmpdir, d) for d in os.listdir(tmpdir) if d.startswith(prefix)]


def attempts_alive(rid):
    """The attempt numbers of run rid that have a live process now. Other
    servers on this host have runs of the same id: a process is ours when
    its HOME is a workspace under our TMPDIR."""
    key = b"\0MINITOWER_RUN_ID=%d\0" % rid
    home = b"\0HOME=" + WORK["dir"].encode() + b"/minitower-run-%d-" % rid
    found = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = b"\0" + f.read()
        except OSError:
            continue
        if key not in env or home not in env:
            continue
        m = re.search(rb"\0MINITOWER_ATTEMPT_NO=(\d+)\0", env)
        if m and e2e.pid_alive(int(d)):
            found.add(int(m.group(1)))
    return found


class Sampler(threading.Thread):
    """Samples which attempts of a run have processes, every 30 ms."""

    def __init__(self, rid):
        super().__init__(daemon=True)
        self.rid, self.samples, self.done = rid, [], threading.Event()
        self.start()

    def run(self):
        while not self.done.is_set():
            self.samples.append((time.time(), attempts_alive(self.rid)))
            time.sleep(0.03)

    def stop(self):
        self.done.set()
        self.join()
        return self.samples


def check_samples(samples):
    both = [(t, a) for t, a in samples if len(a) > 1]
    assert not both, "two attempts alive at once: %r" % both[:3]
    seen = [max(a) for _, a in samples if a]
    assert seen == sorted(seen), "an earlier attempt ran after a later one: %r" % seen
    return "%d samples, attempts seen alive %s" % (len(samples), sorted(set(seen)))


def filler_files():
    """1 MiB that does not compress (several download chunks) and 1500 small
    files (an extraction that outlasts the runner's 20 ms poll)."""
    rnd = random.Random(19)
    files = {"blob.bin": rnd.randbytes(1 << 20)}
    for i in range(1500):
        files["many/f%04d.txt" % i] = "file %d\n" % i * 20
    return files


def deploy_apps(s):
    files = filler_files()
    files["job.sh"] = JOB_SH
    e2e.deploy(s, "cmsh", files, e2e.towerfile("cmsh", "job.sh"))
    # pip with --no-index reinstalls nothing offline: the cached venv build
    # runs venv, then pip, with no network.
    e2e.deploy(s, "cmpy", {"main.py": MAIN_PY, "requirements.txt": "--no-index\npip\n"},
               e2e.towerfile("cmpy", "main.py"))


def stale_calls(s, rid, token, lease):
    """The statuses of a result, a log batch and a heartbeat sent with a
    dead attempt's lease token."""
    h = {"X-Lease-Token": lease}
    out = []
    for path, body in (("result", {"status": "completed", "exit_code": 0}),
                       ("logs", {"logs": [{"seq": 100000, "stream": "stdout", "line": "stale-line",
                                           "logged_at": "2026-01-01T00:00:00Z"}]}),
                       ("heartbeat", None)):
        st, _, _ = s.req("POST", "/api/v1/runs/%d/%s" % (rid, path), body, token=token, headers=h)
        out.append(st)
    return out


def job_file(r):
    d = os.path.join(r.data, "runners")
    names = [f for f in os.listdir(d) if f.endswith(".job.json")]
    assert names, "no job file in %s" % d
    with open(os.path.join(d, names[0])) as f:
        return json.load(f)


def mid_step(s, a, point, rid, left):
    """Checks that the kill landed in the middle of its step, from what the
    killed runner left; returns a note for the summary."""
    if point == "download":
        size = os.path.getsize(os.path.join(left[0], "artifact.tar.gz"))
        assert 0 < size < 1 << 20, "a partial artifact: %d bytes" % size
        return ", %d bytes downloaded" % size
    if point == "unpack":
        many = os.path.join(left[0], "work", "many")
        n = len(os.listdir(many)) if os.path.isdir(many) else 0
        assert n < 1500, "extraction was over: %d files" % n
        return ", %d of 1500 files unpacked" % n
    if point == "venv":
        venvs = os.path.join(a.data, "venvs")
        built = [d for d in os.listdir(venvs) if os.path.isdir(os.path.join(venvs, d))]
        assert len(built) == 1 and os.path.isfile(os.path.join(venvs, built[0], "bin", "python")), built
        assert not os.path.exists(os.path.join(venvs, built[0], ".complete")), "published"
        return ", venv created, not published"
    if point in ("logs", "result"):
        got = e2e.logs(s, rid, 1)
        job = [l for l in got if l["line"].startswith("line ")]
        if point == "logs":
            assert len(got) >= 100 and 0 < len(job) < LINES, "a cut flush: %d, %d" % (len(got), len(job))
        else:
            assert len(job) == LINES and "end" in [l["line"] for l in got], len(job)
        return ", %d of %d job lines shipped" % (len(job), LINES)
    return ""


def crash(s, point, mode, max_retries):
    """One case; returns a one-line summary."""
    t0 = time.time()
    name = "cm-%s-%s-%d" % (point, mode, max_retries)
    tag = "%s-%s" % (TAG, name)
    app = "cmpy" if point == "venv" else "cmsh"
    a = e2e.Runner(s, name, faults=True, MT_CRASH_AT=point).start()
    rid = e2e.create_run(s, app, {"tag": tag}, max_retries=max_retries)
    sampler = Sampler(rid)
    try:
        assert a.proc.wait(timeout=90) == -signal.SIGKILL, a.proc.returncode
        at = [m.get("at") for m in a.msgs() if m.get("msg") == "crash point"]
        assert at == [point], at
        token, lease = a.token(), job_file(a)["lease_token"]
        assert job_file(a)["run_id"] == rid
        # The job, the venv build, and the unpacking child (a fork of the
        # runner, hence its command line) die with the runner.
        runner_bin = os.path.join(FAULTS_BIN, "minitower-runner")
        e2e.wait_for(lambda: 1 not in attempts_alive(rid) and not e2e.procs_with("cm-%s-a1" % tag)
                     and not e2e.procs_with(runner_bin), 2, "attempt 1 to die with its runner")
        tmp = a.env["TMPDIR"]
        left = run_dirs(tmp, name, rid)
        assert len(left) == (0 if point == "lease" else 1), left
        where = mid_step(s, a, point, rid, left)
        if mode == "r":
            other = e2e.Runner(s, name).start()
            assert other.has("released run left by a previous process"), other.lines
            for d in left:
                assert not os.path.exists(d), d
                assert [m for m in other.msgs() if m.get("msg") == "stale workspace removed"
                        and m.get("path") == d and m.get("run_id") == rid], other.lines
        else:
            other = e2e.Runner(s, name + "-b")
        # The dead attempt is over (released, or expired by the reaper)
        # before the retry is leased: its token is refused at once.
        e2e.wait_for(lambda: e2e.attempts(s, rid)[0]["status"] == "expired", 15, "attempt 1 to end")
        assert stale_calls(s, rid, token, lease) == [410, 410, 410]
        if mode == "n":
            other.start()
        want = "dead" if mode == "n" and max_retries == 0 else "completed"
        r = e2e.wait_status(s, rid, ("completed", "failed", "cancelled", "dead"), 90)
        ats = e2e.attempts(s, rid)
        assert r["status"] == want, (r, ats, e2e.lines_of(s, rid))
        nos = [x["attempt_no"] for x in ats]
        assert nos == sorted(set(nos)) and nos[0] == 1, nos
        statuses = [x["status"] for x in ats]
        assert statuses == (["expired"] if want == "dead" else ["expired", "completed"]), ats
        assert r["retry_count"] == (0 if mode == "r" else 1 if want == "completed" else 0), r
        if mode == "r":
            assert ats[0]["error_message"] == "released", ats
        if want == "completed":
            assert "end" in e2e.lines_of(s, rid, 2) and "start 2" in e2e.lines_of(s, rid, 2)
        # The late calls change nothing (410, or 401 once the dead runner
        # was marked offline after 2 TTLs).
        before = (len(e2e.logs(s, rid, 1)), [x["status"] for x in ats])
        assert set(stale_calls(s, rid, token, lease)) <= {410, 401}
        time.sleep(0.3)
        after = (len(e2e.logs(s, rid, 1)), [x["status"] for x in e2e.attempts(s, rid)])
        assert after == before and e2e.get_run(s, rid)["status"] == want, (before, after)
        assert "stale-line" not in e2e.lines_of(s, rid, 1)
        e2e.wait_for(lambda: not attempts_alive(rid), 10, "every process of the run to end")
        assert not e2e.procs_with("cm-%s-" % tag)
        n = check_samples(sampler.stop())
        if mode == "n":
            # nobody sweeps a runner's directory but its own
            assert all(os.path.isdir(d) for d in left), left
            for d in left:
                shutil.rmtree(d)
        other.stop()
        return "%s/%s max_retries=%d: %s %s, %s%s, %.1fs" % (
            point, mode, max_retries, r["status"], statuses, n, where, time.time() - t0)
    finally:
        sampler.done.set()


def cases():
    out = []
    for p in POINTS:
        out.append((p, "r", 0))     # a restart never uses a retry
        out.append((p, "n", 1))     # the expiry uses one
    out.append(("run", "n", 0))     # and with none left the run is dead
    only = os.environ.get("MT_CRASH_CASES")
    if only:
        want = only.split(",")
        out = [c for c in out if c[0] in want or "%s/%s" % c[:2] in want]
    return out


def main():
    if not os.path.exists(os.path.join(FAULTS_BIN, "minitower-runner")):
        print("1..0 # SKIP no MT_FAULTS runner build (make build-tests)")
        return
    todo = cases()
    env = {"MINITOWER_LEASE_TTL": TTL, "MINITOWER_EXPIRY_CHECK_INTERVAL": "100ms"}
    print("1..%d" % (len(todo) + 1))
    failed = 0
    t_all = time.time()
    with Server(env=env) as s:
        e2e.STATE["token"] = s.bootstrap()
        WORK["dir"] = os.path.join(s.tmp, "work")
        deploy_apps(s)
        for i, (point, mode, retries) in enumerate(todo, 1):
            first = len(e2e.ALL_RUNNERS)
            label = "crash_%s_%s_max_retries_%d" % (point, "restarted" if mode == "r" else "not_restarted",
                                                    retries)
            try:
                summary = crash(s, point, mode, retries)
                print("ok %d - %s" % (i, label))
                print("# " + summary)
            except Exception:
                import traceback
                failed += 1
                print("not ok %d - %s" % (i, label))
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
        bad = [l for r in e2e.ALL_RUNNERS for l in r.lines if "Sanitizer" in l or "runtime error:" in l]
        n = len(todo) + 1
        if bad:
            failed += 1
            print("not ok %d - no_sanitizer_reports" % n)
            for l in bad[:20]:
                print("# " + l.rstrip())
        else:
            print("ok %d - no_sanitizer_reports" % n)
        # cached venvs are read-only: open them up so the server's
        # temporary directory can be removed
        for dirpath, dirs, _ in os.walk(s.tmp):
            for d in dirs:
                os.chmod(os.path.join(dirpath, d), 0o755)
    print("# %d cases in %.1fs" % (len(todo), time.time() - t_all))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
