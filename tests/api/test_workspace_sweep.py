"""Crash leftovers, the runner half (issue 19, item 6): the run directories
of a runner killed with SIGKILL are removed by the runner itself, at its
next start and on its sweep timer, and only its own. Through the real
binaries: a server, two runners on one TMPDIR, a SIGKILL mid-run (with a
disk_mb tmpfs when run as root), a restart, and a timer sweep while a run is
in hand. The run directory is $TMPDIR/minitower-run-<run>-<runner id>-<random>,
the runner id being the first 16 hex of sha256(name)."""
import hashlib
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_runner_e2e as e2e  # noqa: E402
from mtserver import Server, Tap  # noqa: E402

t = Tap()


def test(fn):
    """t.test, printing the logs of the runners of fn when it fails."""
    def wrapper(s):
        first = len(e2e.ALL_RUNNERS)
        try:
            fn(s)
        except Exception:
            for r in e2e.ALL_RUNNERS[first:]:
                print("# --- runner %s ---" % r.name)
                for line in r.lines[-30:]:
                    print("# " + line.rstrip()[:300])
            raise
        finally:
            for r in e2e.ALL_RUNNERS[first:]:
                r.stop()
    wrapper.__name__ = fn.__name__
    return t.test(wrapper)


def runner_id(name):
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def run_dirs(tmpdir, name=None, rid=None):
    """Run directories under tmpdir, of runner name and run rid if given."""
    out = []
    for d in sorted(os.listdir(tmpdir)):
        if not d.startswith("minitower-run-"):
            continue
        parts = d.split("-")     # minitower run <run> <runner id> <random>
        if len(parts) != 5:
            continue
        if name is not None and parts[3] != runner_id(name):
            continue
        if rid is not None and parts[2] != str(rid):
            continue
        out.append(os.path.join(tmpdir, d))
    return out


def mounted(path):
    with open("/proc/self/mounts") as f:
        return any(l.split()[1] == path for l in f)


def swept(r, path):
    return [m for m in r.msgs() if m.get("msg") == "stale workspace removed" and m.get("path") == path]


@test
def restart_removes_own_stale_workspace_not_another_runners(s):
    tag = "%d" % os.getpid()
    root = os.geteuid() == 0
    disk = '\n[app.resources]\ndisk_mb = 16\n' if root else ""
    e2e.deploy(s, "swa", {"job.sh": "echo up\nsleep 31.%s\n" % tag}, e2e.towerfile("swa", "job.sh", disk))
    e2e.deploy(s, "swb", {"job.sh": "echo up\nsleep 6.%s\necho b-done\n" % tag}, e2e.towerfile("swb", "job.sh"))
    a = e2e.Runner(s, "sweep-a").start()
    assert a.has("stale workspaces swept")
    ra = e2e.create_run(s, "swa", max_retries=0)
    e2e.wait_line(s, ra, "up")
    b = e2e.Runner(s, "sweep-b").start()
    rb = e2e.create_run(s, "swb")
    e2e.wait_line(s, rb, "up")
    tmp = a.env["TMPDIR"]
    [dir_a] = run_dirs(tmp, "sweep-a", ra)
    [dir_b] = run_dirs(tmp, "sweep-b", rb)
    assert not root or mounted(dir_a), "disk_mb is a tmpfs on the run directory"
    a.stop(signal.SIGKILL)
    e2e.wait_for(lambda: not e2e.procs_with("sleep 31.%s" % tag), 5, "the job to die with its runner")
    assert os.path.isdir(dir_a), "the killed runner left its workspace"
    a2 = e2e.Runner(s, "sweep-a").start()
    assert not os.path.exists(dir_a) and not mounted(dir_a), dir_a
    [line] = swept(a2, dir_a)
    assert line["run_id"] == ra and line["level"] == "INFO", line
    counts = [m["count"] for m in a2.msgs() if m.get("msg") == "stale workspaces swept"]
    assert counts == [1], counts
    assert a2.msgs().index(line) > [m.get("msg") for m in a2.msgs()].index(
        "released run left by a previous process"), "the sweep follows the recovery"
    # The other runner's live workspace is untouched and its run ends well.
    assert os.path.isdir(dir_b) and os.path.isfile(os.path.join(dir_b, "work", "job.sh")), dir_b
    r = e2e.wait_status(s, rb, ("completed", "failed"), 30)
    assert r["status"] == "completed" and "b-done" in e2e.lines_of(s, rb), r
    assert e2e.get_run(s, ra)["status"] in ("queued", "leased", "running", "completed"), "released"
    e2e.api(s, "POST", "/api/v1/runs/%d/cancel" % ra)
    e2e.wait_status(s, ra, ("cancelled", "completed", "failed"), 30)
    e2e.wait_for(lambda: not run_dirs(tmp, "sweep-b") and not run_dirs(tmp, "sweep-a"), 10,
                 "finished runs to remove their own directories")
    a2.stop()
    b.stop()


@test
def timer_sweep_spares_the_run_in_hand(s):
    tag = "%d" % os.getpid()
    e2e.deploy(s, "swt", {"job.sh": "echo up\nsleep 4.%s\necho t-done\n" % tag}, e2e.towerfile("swt", "job.sh"))
    name = "sweep-timer"
    c = e2e.Runner(s, name, MINITOWER_WORKSPACE_SWEEP_INTERVAL="500ms").start()
    tmp = c.env["TMPDIR"]
    rid = e2e.create_run(s, "swt")
    e2e.wait_line(s, rid, "up")
    [live] = run_dirs(tmp, name, rid)
    # What a killed process of this runner could have left: one of another
    # run and one of the very run in hand (its earlier attempt), and one of
    # another runner.
    other_run = os.path.join(tmp, "minitower-run-999991-%s-abcdef" % runner_id(name))
    same_run = os.path.join(tmp, "minitower-run-%d-%s-ghijkl" % (rid, runner_id(name)))
    foreign = os.path.join(tmp, "minitower-run-999992-%s-mnopqr" % runner_id("someone-else"))
    for d in (other_run, same_run, foreign):
        staging = os.path.join(tmp, "staging")
        os.makedirs(os.path.join(staging, "work", "deep"))
        with open(os.path.join(staging, "work", "deep", "f"), "w") as f:
            f.write("x")
        os.chmod(os.path.join(staging, "work", "deep"), 0o500)
        os.rename(staging, d)    # whole, so no sweep sees it half made
    e2e.wait_for(lambda: swept(c, other_run), 5, "the timer sweep")
    assert not os.path.exists(other_run)
    assert os.path.isdir(live) and os.path.isdir(same_run), "a held run's directories stay"
    assert os.path.isdir(foreign), "another runner's directory stays"
    r = e2e.wait_status(s, rid, ("completed", "failed"), 30)
    assert r["status"] == "completed" and "t-done" in e2e.lines_of(s, rid), r
    e2e.wait_for(lambda: not os.path.exists(same_run) and not os.path.exists(live), 5,
                 "the next sweep after the run")
    assert [m["count"] for m in c.msgs() if m.get("msg") == "stale workspaces swept"][1:] == [1, 1]
    assert os.path.isdir(foreign)
    shutil.rmtree(foreign)
    c.stop()
    assert not any("Sanitizer" in l or "runtime error:" in l for l in c.lines)


def main():
    env = {"MINITOWER_LEASE_TTL": "4s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "250ms"}
    with Server(env=env) as s:
        e2e.STATE["token"] = s.bootstrap()
        try:
            t.run(s)
        finally:
            for r in e2e.ALL_RUNNERS:
                r.stop()


if __name__ == "__main__":
    main()
