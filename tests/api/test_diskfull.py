#!/usr/bin/env python3
"""A full disk (issue 19): minitowerd's database and objects on a small
tmpfs that a filler file fills. An upload answers 503 with Retry-After (not
500) and leaves no temp file; creates answer 201 or 503, never 500; /ready
says "low disk space"; once the filler is gone everything works again.
Needs root (mount); skipped otherwise. TAP output."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import Server, World, artifact, check, eq, multipart  # noqa: E402


def fill(path):
    """Writes until the file system is full (unbuffered, down to 512 bytes)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def upload(w, size):
    data = os.urandom(size)     # incompressible: the artifact really needs the space
    body, ctype = multipart("artifact", "a.tar.gz", artifact(
        '[app]\nname = "%s"\nscript = "main.py"\n' % w.app, {"main.py": "# x\n", "blob.txt": data.hex()}))
    return w.c.call("POST", "/api/v1/apps/%s/versions" % w.app, body, token=w.token,
                    headers={"Content-Type": ctype})


def main():
    mnt = tempfile.mkdtemp(prefix="mt-full-")
    if subprocess.call(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt],
                       stderr=subprocess.DEVNULL) != 0:
        print("1..1\nok 1 - disk full # SKIP cannot mount a tmpfs (not root?)")
        return 0
    fail = 0
    s = None
    try:
        s = Server({"MINITOWER_DB_PATH": os.path.join(mnt, "mt.db"),
                    "MINITOWER_OBJECTS_DIR": os.path.join(mnt, "objects"),
                    "MINITOWER_MIN_FREE_MB": "2"})
        w = World(s)
        eq(s.client().call("GET", "/ready").status, 200, "ready before")
        filler = os.path.join(mnt, "filler")
        fill(filler)
        r = upload(w, 1 << 20)
        eq(r.status, 503, "upload on a full disk: %s" % r.text)
        eq(r.json["error"]["code"], "unavailable")
        check(r.header("Retry-After") is not None, "Retry-After")
        left = [n for n in os.listdir(os.path.join(mnt, "objects")) if n.startswith(".upload-")]
        eq(left, [], "temp files left")
        statuses = [w.create({}).status for _ in range(50)]
        check(all(st in (201, 503) for st in statuses), "creates on a full disk: %r" % statuses)
        r = s.client().call("GET", "/ready")
        eq(r.status, 503, "ready on a full disk")
        check("low disk space" in r.json["error"]["message"] or
              "not writable" in r.json["error"]["message"], r.json)
        os.unlink(filler)
        eq(upload(w, 1 << 20).status, 201, "upload after space came back")
        eq(w.create({}).status, 201, "create after space came back")
        eq(s.client().call("GET", "/ready").status, 200, "ready after")
        print("1..1\nok 1 - disk_full_answers_503_and_recovers")
    except Exception as e:  # noqa: BLE001
        fail = 1
        print("1..1\nnot ok 1 - disk_full_answers_503_and_recovers: %r" % e)
        import traceback
        print("".join("# " + l for l in traceback.format_exc().splitlines(True)))
    finally:
        if s is not None:
            rc = s.stop()
            if rc not in (0, None):
                print("not ok - minitowerd exited with %s" % rc)
                fail = 1
        subprocess.call(["umount", mnt])
        os.rmdir(mnt)
    return fail


if __name__ == "__main__":
    sys.exit(main())
