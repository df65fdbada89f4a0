"""Shared helpers of the run API tests (test_runs, test_runner_protocol,
test_reaper, test_concurrency): start a real minitowerd on 127.0.0.1 with a
temporary database and objects directory, talk to it with http.client, build
app artifacts, and print TAP. Standard library only."""

import http.client
import io
import json
import os
import shutil
import signal
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
BUILD = os.environ.get("MT_BUILD") or os.path.join(ROOT, "build", "plain")
FAULTS_BIN = os.path.join(BUILD, "faults", "bin")	# -DMT_FAULTS test builds
REG_TOKEN = "test-registration-token"


class Server:
    """A minitowerd process; env overrides MINITOWER_* settings."""

    def __init__(self, env=None, bindir=None):
        self.dir = tempfile.mkdtemp(prefix="mt-runs-")
        e = {k: v for k, v in os.environ.items() if not k.startswith("MINITOWER_")}
        e.update({
            "MINITOWER_LISTEN_ADDR": "127.0.0.1:0",
            "MINITOWER_DB_PATH": os.path.join(self.dir, "mt.db"),
            "MINITOWER_OBJECTS_DIR": os.path.join(self.dir, "objects"),
            "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN,
            "MINITOWER_ACCESS_LOG": "false",
            "MINITOWER_SIGNUPS_PER_MINUTE": "0",
        })
        e.update(env or {})
        self.lines = []
        self.proc = subprocess.Popen([os.path.join(bindir or BIN, "minitowerd")], env=e, cwd=self.dir,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline:
            raw = self.proc.stdout.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("msg") == "minitower listening":
                self.port = int(obj["addr"].rsplit(":", 1)[1])
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("minitowerd did not start: " + "".join(self.lines))
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace"))

    def logs(self, msg=None):
        out = []
        for line in list(self.lines):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if msg is None or obj.get("msg") == msg:
                out.append(obj)
        return out

    def client(self):
        return Client(self.port)

    def stop(self):
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = -9
        else:
            rc = self.proc.returncode
        self.reader.join(5)
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


class Resp:
    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data

    @property
    def json(self):
        return json.loads(self.data) if self.data else None

    @property
    def text(self):
        return self.data.decode("utf-8", "replace")

    def header(self, name):
        return self.headers.get(name.lower())

    def error(self):
        try:
            e = self.json["error"]
            return (self.status, e["code"], e["message"])
        except Exception:
            return (self.status, None, self.text)

    def __repr__(self):
        return "Resp(%d, %r)" % (self.status, self.data[:300])


class Client:
    """One keep-alive connection (reconnects when the server closed it)."""

    def __init__(self, port, timeout=90):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def call(self, method, path, body=None, token=None, headers=None, lease=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if lease is not None:
            h["X-Lease-Token"] = lease
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return Resp(r.status, hdrs, data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def artifact(towerfile, files=None):
    """A .tar.gz holding Towerfile and files (name -> text)."""
    files = dict(files or {})
    files.setdefault("main.py", "print('hello')\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in [("Towerfile", towerfile)] + sorted(files.items()):
            data = text.encode("utf-8")
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def multipart(field, filename, data):
    boundary = "mtboundary" + uuid.uuid4().hex
    body = (("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
             "Content-Type: application/gzip\r\n\r\n") % (boundary, field, filename)).encode()
    body += data + ("\r\n--%s--\r\n" % boundary).encode()
    return body, "multipart/form-data; boundary=" + boundary


class World:
    """A team with an app and a version on a server, plus helpers."""

    def __init__(self, server, slug=None, towerfile=None, files=None):
        self.s = server
        self.c = server.client()
        self.slug = slug or ("t" + uuid.uuid4().hex[:10])
        r = self.c.call("POST", "/api/v1/teams/signup",
                        {"slug": self.slug, "name": "Team", "password": "pw-" + self.slug})
        assert r.status == 201, r
        self.token = r.json["token"]
        self.app = "app" + uuid.uuid4().hex[:8]
        r = self.c.call("POST", "/api/v1/apps", {"slug": self.app}, token=self.token)
        assert r.status == 201, r
        self.app_id = r.json["app_id"]
        self.upload(towerfile, files)

    def upload(self, towerfile=None, files=None):
        tf = towerfile or ('[app]\nname = "%s"\nscript = "main.py"\n' % self.app)
        body, ctype = multipart("artifact", "artifact.tar.gz", artifact(tf, files))
        r = self.c.call("POST", "/api/v1/apps/%s/versions" % self.app, body, token=self.token,
                        headers={"Content-Type": ctype})
        assert r.status == 201, r
        return r.json

    def create(self, body=None, headers=None, client=None):
        c = client or self.c
        return c.call("POST", "/api/v1/apps/%s/runs" % self.app, body if body is not None else {},
                      token=self.token, headers=headers)

    def run(self, run_id, client=None):
        return (client or self.c).call("GET", "/api/v1/runs/%d" % run_id, token=self.token)

    def cancel(self, run_id):
        return self.c.call("POST", "/api/v1/runs/%d/cancel" % run_id, token=self.token)

    def logs(self, run_id, query=""):
        return self.c.call("GET", "/api/v1/runs/%d/logs%s" % (run_id, query), token=self.token)


class Runner:
    """A registered runner with its own connection."""

    def __init__(self, server, name=None, env=None):
        self.c = server.client()
        self.name = name or ("r-" + uuid.uuid4().hex[:10])
        body = {"name": self.name}
        if env is not None:
            body["environment"] = env
        r = self.c.call("POST", "/api/v1/runners/register", body, token=REG_TOKEN)
        assert r.status in (200, 201), r
        self.id = r.json["runner_id"]
        self.token = r.json["token"]

    def lease(self, wait=None):
        q = "" if wait is None else "?wait=%s" % wait
        return self.c.call("POST", "/api/v1/runs/lease" + q, token=self.token)

    def call(self, action, run_id, lease, body=None, method="POST", query=""):
        return self.c.call(method, "/api/v1/runs/%d/%s%s" % (run_id, action, query), body,
                           token=self.token, lease=lease)

    def start(self, run_id, lease):
        return self.call("start", run_id, lease)

    def heartbeat(self, run_id, lease, wait=None):
        return self.call("heartbeat", run_id, lease, query="" if wait is None else "?wait=%s" % wait)

    def log(self, run_id, lease, entries):
        return self.call("logs", run_id, lease, {"logs": entries})

    def result(self, run_id, lease, status="completed", exit_code=0, **extra):
        body = {"status": status}
        if exit_code is not None:
            body["exit_code"] = exit_code
        body.update(extra)
        return self.call("result", run_id, lease, body)

    def release(self, run_id, lease):
        return self.call("release", run_id, lease)

    def artifact(self, run_id, lease):
        return self.call("artifact", run_id, lease, method="GET")


def line(seq, text, stream="stdout"):
    return {"seq": seq, "stream": stream, "line": text, "logged_at": "2026-11-27T03:04:05.123Z"}


def wait_for(pred, timeout=15.0, step=0.02):
    """Polls pred until true or timeout (a bound, not a timing assertion)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Tap:
    """Collects test functions and prints TAP; exit status 1 on failure."""

    def __init__(self):
        self.tests = []

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def main(self, *args):
        n = fail = 0
        for fn in self.tests:
            n += 1
            name = fn.__name__
            try:
                fn(*args)
                print("ok %d - %s" % (n, name), flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure as TAP
                fail += 1
                print("not ok %d - %s: %s" % (n, name, e), flush=True)
                for tl in traceback.format_exc().splitlines():
                    print("# " + tl)
        print("1..%d" % n, flush=True)
        return fail


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (msg, a, b) if msg else "%r != %r" % (a, b))


def run_suite(tap, env=None):
    """Starts one server, runs every test of tap against it, stops it."""
    server = Server(env)
    try:
        fail = tap.main(server)
    finally:
        rc = server.stop()
    if rc not in (0, None):
        print("not ok - minitowerd exited with status %s" % rc)
        print("".join("# " + l for l in server.lines[-40:]))
        fail += 1
    sys.exit(1 if fail else 0)
