"""API test of crash leftovers (issue 19 item 6): minitowerd is killed with
SIGKILL while an artifact upload is held half-sent (the multipart body goes
out slowly over a raw socket), which leaves its objects/.upload-<hex>.tmp
behind; a restarted server removes it, and a planted one, before it serves,
logs each by name, and leaves every other entry of the objects directory
alone. Prints TAP."""

import glob
import os
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import Server, Tap, World, artifact, check, eq, multipart, wait_for  # noqa: E402

tap = Tap()
test = tap.test


def hold_upload(s, w):
    """Starts an upload and sends only part of its body; returns the socket."""
    tf = '[app]\nname = "%s"\nscript = "main.py"\n' % w.app
    body, ctype = multipart("artifact", "artifact.tar.gz",
                            artifact(tf, {"pad.bin": os.urandom(256 * 1024).hex()}))
    head = ("POST /api/v1/apps/%s/versions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Authorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (w.app, w.token, ctype, len(body))).encode()
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sk.sendall(head + body[:len(body) // 2])
    return sk


@test
def kill_during_upload_leaves_nothing_after_restart(_):
    d = tempfile.mkdtemp(prefix="mt-leftovers-")
    objects = os.path.join(d, "objects")
    env = {"MINITOWER_DB_PATH": os.path.join(d, "mt.db"), "MINITOWER_OBJECTS_DIR": objects}
    try:
        s1 = Server(env)
        try:
            w = World(s1)
            sk = hold_upload(s1, w)
            left = wait_for(lambda: glob.glob(os.path.join(objects, ".upload-*.tmp")), timeout=15)
            check(left, "the held upload has its temp file")
            planted = os.path.join(objects, ".upload-deadbeef.tmp")
            with open(planted, "wb") as f:
                f.write(b"x" * 10)
            keep = {os.path.join(objects, n): b"mine" for n in
                    ("notes.txt", ".upload-deadbeef", "upload-cafe.tmp", ".upload-.tmp")}
            for p, data in keep.items():
                with open(p, "wb") as f:
                    f.write(data)
            os.mkdir(os.path.join(objects, ".upload-dir.tmp"))
            s1.proc.kill()
            s1.proc.wait(10)
            sk.close()
        finally:
            s1.stop()
        stale = sorted(left + [planted])
        check(all(os.path.exists(p) for p in stale), "the kill left them")
        s2 = Server(env)
        try:
            eq([p for p in stale if os.path.exists(p)], [], "stale temp files after the restart")
            logged = sorted(x.get("file") for x in s2.logs("stale upload removed"))
            eq(logged, sorted(os.path.basename(p) for p in stale), "one log line per file")
            for p, data in keep.items():
                with open(p, "rb") as f:
                    eq(f.read(), data, p)
            check(os.path.isdir(os.path.join(objects, ".upload-dir.tmp")), "a directory stays")
            w.s, w.c = s2, s2.client()
            check(w.upload()["version_no"] >= 1, "uploads work after the restart")
            eq(sorted(os.path.basename(p) for p in glob.glob(os.path.join(objects, ".upload-*.tmp"))),
               [".upload-.tmp", ".upload-dir.tmp"], "the upload left no temp file")
        finally:
            eq(s2.stop(), 0)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def clean_start_logs_nothing(_):
    d = tempfile.mkdtemp(prefix="mt-leftovers-")
    env = {"MINITOWER_DB_PATH": os.path.join(d, "mt.db"),
           "MINITOWER_OBJECTS_DIR": os.path.join(d, "objects")}
    try:
        s = Server(env)
        try:
            eq(s.logs("stale upload removed"), [])
        finally:
            eq(s.stop(), 0)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(1 if tap.main(None) else 0)
