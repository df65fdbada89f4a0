"""Test helpers: start a real minitowerd on 127.0.0.1 with a temporary
database and objects directory, talk HTTP to it, report results as TAP.

    with Server(env={...}) as s:
        st, hdrs, body = s.req("GET", "/health")
"""
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("MT_BIN", os.path.join(ROOT, "bin"))
BUILD = os.environ.get("MT_BUILD", os.path.join(ROOT, "build", "plain"))
# The test builds with the fault seams compiled in (-DMT_FAULTS, Makefile).
FAULTS_BIN = os.path.join(BUILD, "faults", "bin")
REG_TOKEN = "test-registration-token"
BOOT_TOKEN = "test-bootstrap-token"


class Server:
    def __init__(self, env=None, db_path=None, faults=False):
        self.bindir = FAULTS_BIN if faults else BIN
        self.tmp = tempfile.mkdtemp(prefix="mt-test-")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MINITOWER_LISTEN_ADDR": "127.0.0.1:0",
            "MINITOWER_DB_PATH": db_path or os.path.join(self.tmp, "mt.db"),
            "MINITOWER_OBJECTS_DIR": os.path.join(self.tmp, "objects"),
            "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN,
            "MINITOWER_BOOTSTRAP_TOKEN": BOOT_TOKEN,
            "MINITOWER_DB_SYNCHRONOUS": "normal",
            "MINITOWER_SIGNUPS_PER_MINUTE": "0",
            "MINITOWER_LOGIN_FAILURES_PER_MINUTE": "0",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]
        for k, v in (env or {}).items():
            if v is None:
                self.env.pop(k, None)
            else:
                self.env[k] = v
        self.proc = None
        self.port = None
        self.lines = []

    def start(self):
        self.log = open(os.path.join(self.tmp, "server.log"), "w+")
        self.proc = subprocess.Popen([os.path.join(self.bindir, "minitowerd")], env=self.env,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "minitower listening":
                self.port = int(rec["addr"].rsplit(":", 1)[1])
                break
        if self.port is None:
            raise RuntimeError("minitowerd did not start: %r" % self.lines)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        return self

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self, sig=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        # a server started before the with statement is not started twice
        # (a second process would outlive the test)
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if rc not in (0, None) and exc[0] is None:
            raise RuntimeError("minitowerd exited with %r" % rc)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def req(self, method, path, body=None, token=None, headers=None, raw=False, timeout=30):
        """Returns (status, headers dict (lower-case names), body). body is
        parsed JSON when the response is JSON and raw is False."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()
        if not raw and hdrs.get("content-type", "").startswith("application/json") and data:
            return r.status, hdrs, json.loads(data)
        return r.status, hdrs, data

    # convenience --------------------------------------------------------
    def bootstrap(self, slug="acme", password="pw-secret-1"):
        st, _, b = self.req("POST", "/api/v1/bootstrap/team",
                            {"slug": slug, "name": slug, "password": password}, token=BOOT_TOKEN)
        assert st in (200, 201), (st, b)
        return b["token"]

    def signup(self, slug, password="pw-secret-1"):
        st, _, b = self.req("POST", "/api/v1/teams/signup",
                            {"slug": slug, "name": slug, "password": password})
        assert st == 201, (st, b)
        return b["token"]

    def upload(self, token, app, files, filename="artifact.tar.gz"):
        data = make_tgz(files)
        return self.upload_bytes(token, app, data, filename)

    def upload_bytes(self, token, app, data, filename="artifact.tar.gz"):
        boundary = "mtboundary42"
        body = (b"--" + boundary.encode() + b"\r\n"
                b"Content-Disposition: form-data; name=\"artifact\"; filename=\"" +
                filename.encode() + b"\"\r\nContent-Type: application/gzip\r\n\r\n" +
                data + b"\r\n--" + boundary.encode() + b"--\r\n")
        return self.req("POST", "/api/v1/apps/%s/versions" % app, body, token=token,
                        headers={"Content-Type": "multipart/form-data; boundary=" + boundary})


def make_tgz(files):
    """files: {name: bytes|str} → gzip tar bytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, content in files.items():
            if isinstance(content, str):
                content = content.encode()
            ti = tarfile.TarInfo(name)
            ti.size = len(content)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(content))
    return out.getvalue()


HELLO_TOWERFILE = """[app]
name = "hello"
script = "main.py"

[[parameters]]
name = "name"
description = "Who to greet"
default = "World"
"""
HELLO_MAIN = "import os\nprint('Hello, %s!' % os.environ.get('name', 'World'))\n"


class Tap:
    """Collects test functions and prints TAP."""

    def __init__(self):
        self.tests = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def run(self, *args):
        print("1..%d" % len(self.tests))
        failed = 0
        for i, fn in enumerate(self.tests, 1):
            try:
                fn(*args)
                print("ok %d - %s" % (i, fn.__name__))
            except Exception:
                failed += 1
                print("not ok %d - %s" % (i, fn.__name__))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
            sys.stdout.flush()
        sys.exit(1 if failed else 0)
