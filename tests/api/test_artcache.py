"""The runner's artifact cache (issue 13, src/runner/artcache.c) through a
real minitowerd and a real minitower-runner: the second run of a version
downloads nothing (no GET .../artifact in the server's access log), its
workspace is still fresh (what the first run's job wrote there is gone), a
job cannot change the cache, a corrupted entry is found by its SHA-256 and
downloaded again, and MINITOWER_ARTIFACT_CACHE=off downloads every time."""
import hashlib
import json
import os
import shutil

from mtserver import Server, Tap
import test_runner_e2e as e2e

t = Tap()
ST = {}
# The job prints what the artifact holds, then changes its workspace and
# tries to change the cache entry it was given as input (CACHE_FILE).
JOB = """cat data.txt
if [ -e left.txt ]; then echo LEFTOVER; fi
echo tampered > data.txt
echo x > left.txt
if [ -n "$CACHE_FILE" ] && (echo evil > "$CACHE_FILE") 2>/dev/null; then echo WROTE; else echo DENIED; fi
"""


ART_ROUTE = "/api/v1/runs/{run}/artifact"


def downloads(s):
    """How many artifact downloads the server's access log shows so far (it
    logs the route, not the run: runs here go one at a time)."""
    n = 0
    for line in list(s.lines):
        try:
            m = json.loads(line)
        except ValueError:
            continue
        n += m.get("msg") == "access" and m.get("path") == ART_ROUTE
    return n


def entry(r):
    """(path, sha256 it is named by) of the runner's only cached artifact."""
    d = os.path.join(r.data, "artifacts")
    names = [n for n in os.listdir(d) if n.endswith(".tar.gz")]
    assert len(names) == 1, names
    return os.path.join(d, names[0]), names[0][:64]


def sha_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(s, cache_file=None):
    """One run of the app: (artifact downloads it made, its log lines)."""
    before = downloads(s)
    rid = e2e.create_run(s, "cached", {"CACHE_FILE": cache_file} if cache_file else None)
    r = e2e.wait_status(s, rid, ("completed", "failed"), 60)
    ls = e2e.lines_of(s, rid)
    assert r["status"] == "completed", (r, ls)
    if "downloading run artifact" in ls:     # its access-log line may still be on its way
        e2e.wait_for(lambda: downloads(s) > before, 10, "access log of the download")
    return downloads(s) - before, ls


@t.test
def second_run_downloads_nothing(s):
    r = ST["r"]
    n1, ls1 = run(s)
    assert "downloading run artifact" in ls1 and "original" in ls1, ls1
    assert n1 == 1, n1
    path, name = entry(r)
    assert sha_of(path) == name, "entry is named by its SHA-256"
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o400, oct(st.st_mode)
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    n2, ls2 = run(s)
    assert "using cached run artifact" in ls2 and "downloading run artifact" not in ls2, ls2
    assert n2 == 0, n2
    # A fresh workspace: what the first job wrote there is gone.
    assert "original" in ls2 and "tampered" not in ls2 and "LEFTOVER" not in ls2, ls2
    assert any(m.get("msg") == "artifact cache hit" for m in r.msgs())


@t.test
def job_cannot_change_the_cache(s):
    r = ST["r"]
    path, name = entry(r)
    _, ls = run(s, path)
    assert "WROTE" in ls or "DENIED" in ls, ls
    # Whatever the job could do, the next run gets the original artifact:
    # without a sandbox a job of the runner's own user can write the entry,
    # and then its SHA-256 no longer matches and it is downloaded again.
    n, ls2 = run(s)
    assert "original" in ls2 and "LEFTOVER" not in ls2, ls2
    if "DENIED" in ls:
        assert n == 0, "an untouched entry is used"
    path2, name2 = entry(r)
    assert name2 == name and sha_of(path2) == name


@t.test
def corrupted_entry_is_downloaded_again(s):
    r = ST["r"]
    path, name = entry(r)
    os.chmod(path, 0o600)
    with open(path, "r+b") as f:       # same size, one byte changed
        b = f.read(1)
        f.seek(0)
        f.write(bytes([b[0] ^ 0xFF]))
    os.chmod(path, 0o400)
    assert sha_of(path) != name
    n, ls = run(s)
    assert "downloading run artifact" in ls and "original" in ls, ls
    assert n == 1, n
    bad = [m for m in r.msgs() if m.get("msg") == "artifact cache entry corrupt"]
    assert bad and bad[-1].get("sha256") == name and bad[-1].get("error") == "sha256 mismatch", bad
    path2, name2 = entry(r)
    assert name2 == name and sha_of(path2) == name, "stored again, intact"
    n, ls = run(s)
    assert "using cached run artifact" in ls and n == 0, ls


@t.test
def cache_off_downloads_every_time(s):
    ST["r"].stop()
    off = e2e.Runner(s, "nocache", MINITOWER_ARTIFACT_CACHE="off").start()
    try:
        for _ in range(2):
            n, ls = run(s)
            assert "downloading run artifact" in ls and n == 1, ls
        assert not os.path.exists(os.path.join(off.data, "artifacts"))
    finally:
        off.stop()


def main():
    with Server(env={"MINITOWER_ACCESS_LOG": "true"}) as s:
        e2e.STATE["token"] = s.bootstrap()
        e2e.deploy(s, "cached", {"job.sh": JOB, "data.txt": "original\n"},
                   e2e.towerfile("cached", "job.sh"))
        ST["r"] = e2e.Runner(s, "cache").start()
        try:
            t.run(s)
        finally:
            for r in e2e.ALL_RUNNERS:
                r.stop()
            shutil.rmtree(os.path.join(s.tmp, "work"), ignore_errors=True)


if __name__ == "__main__":
    main()
