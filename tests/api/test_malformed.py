"""Malformed-input test (issue 2: "no input, however malformed, yields a 5xx,
a crash or a partial write"). One real minitowerd gets a deterministic
(fixed seeds), bounded stream of broken bodies, query strings, paths,
headers, multipart uploads and raw-socket garbage on every endpoint of
docs/api-endpoints.md. Every answer must be < 500 and carry the JSON error
envelope (libmicrohttpd's own answers are allowed only where api.md §0.7
says so, on the raw-socket cases; its 505 to a request line naming HTTP/2
is the one 5xx allowed); a request that fails, and every GET,
must leave the database exactly as it was, and a request that succeeds may
only add rows where its endpoint adds them. After each group the process
must be alive and /health must answer; at the end the database passes
integrity_check and foreign_key_check, and the objects directory holds
exactly the artifacts that versions reference. One TAP line per group.

    python3 tests/api/test_malformed.py [group ...]     (MT_BIN=build/address/bin for ASan)"""

import collections
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import REG_TOKEN, Server, Tap, artifact, check, eq, wait_for  # noqa: E402

BOOT = "fuzz-bootstrap-token"
METRICS_TOKEN = "fuzz-metrics-token"
BODY_LIMIT = 1536 * 1024	# MINITOWER_MAX_REQUEST_BODY_SIZE: room for a 1 MiB input
ART_LIMIT = 256 * 1024		# MINITOWER_MAX_ARTIFACT_SIZE
TABLES = ["teams", "team_tokens", "environments", "apps", "app_versions", "runs", "runners",
          "run_attempts", "run_logs", "run_idempotency_keys", "schema_migrations"]
VOLATILE = {"team_tokens": {"last_used_at"}}	# written by any authenticated call (§0.8)
BIG = {"runs": {"input_json"}, "app_versions": {"towerfile_toml", "params_schema_json", "import_paths_json"}}
STATUS_OF = {"invalid_request": 400, "invalid_slug": 400, "no_version": 400, "invalid_artifact": 400,
             "TOWERFILE_MISSING": 400, "TOWERFILE_INVALID": 400, "unauthorized": 401,
             "forbidden": 403, "not_found": 404, "method_not_allowed": 405, "slug_taken": 409,
             "team_exists": 409, "conflict": 409, "idempotency_conflict": 409, "gone": 410,
             "payload_too_large": 413, "too_many_requests": 429}
MHD_STATUSES = {400, 413, 414, 431, 505}	# api.md §0.7: libmicrohttpd's own answers
# rows a successful request may add, by operation; any other success adds none
GROW = {"signup": {"teams": 1, "team_tokens": 1}, "login": {"team_tokens": 1},
        "bootstrap": {"teams": 1, "team_tokens": 1}, "token_create": {"team_tokens": 1},
        "app_create": {"apps": 1}, "upload": {"app_versions": 1},
        "run_create": {"runs": 1, "environments": 1, "run_idempotency_keys": 1},
        "register": {"runners": 1}, "lease": {"run_attempts": 1}, "logs_post": {"run_logs": 100}}
TOWERFILE = """[app]
name = "fzapp"
script = "main.py"

[[parameters]]
name = "name"
default = "World"

[[parameters]]
name = "count"
type = "integer"
default = 1

[[parameters]]
name = "ratio"
type = "number"

[[parameters]]
name = "flag"
type = "boolean"
"""

tap = Tap()
group = tap.test


# ---- the harness -----------------------------------------------------------

class RawResp:
    def __init__(self, status, headers, data):
        self.status, self.headers, self.data = status, headers, data

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "RawResp(%d, %r)" % (self.status, self.data[:300])


def read_response(sock):
    """Reads one HTTP response from sock (skipping 1xx answers); None when
    the server closed the connection without answering. A hang raises
    socket.timeout."""
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            try:
                d = sock.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                if data:
                    raise AssertionError("truncated response head %r" % data[:200])
                return None
            data += d
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        check(parts[0].startswith(b"HTTP/1.") and len(parts) >= 2, "status line %r" % lines[0])
        status = int(parts[1])
        if status >= 200:
            break
        data = rest
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")

    def more():
        d = sock.recv(65536)
        if not d:
            raise AssertionError("response body cut short")
        return d
    if status in (204, 304):
        body = b""
    elif "content-length" in hdrs:
        n = int(hdrs["content-length"])
        while len(rest) < n:
            rest += more()
        body = rest[:n]
    elif hdrs.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += more()
            size_line, rest = rest.split(b"\r\n", 1)
            n = int(size_line.split(b";")[0], 16)
            while len(rest) < n + 2:
                rest += more()
            body += rest[:n]
            rest = rest[n + 2:]
            if n == 0:
                break
    else:
        body = rest
        while True:
            try:
                d = sock.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                break
            body += d
    return RawResp(status, hdrs, body)


class Fuzz:
    """One server, its database (read-only) and the checks every request gets."""

    def __init__(self, server, uidir):
        self.s = server
        self.uidir = uidir
        self.c = server.client()
        self.c.timeout = 30	# a hang shows up as a timeout, not as a stuck test
        self.objects = os.path.join(server.dir, "objects")
        self.db = sqlite3.connect("file:%s?mode=ro" % os.path.join(server.dir, "mt.db"), uri=True,
                                  isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout=5000")
        self.cols = {}
        for t in TABLES:
            cols = [r[1] for r in self.db.execute("PRAGMA table_info(%s)" % t)]
            self.cols[t] = [c for c in cols if c not in VOLATILE.get(t, ())]
        self.n = 0
        self.stats = collections.Counter()
        self.dv = self.data_version()
        self.snap = self.snapshot()
        self.t0 = time.time()

    # database snapshots
    def snapshot(self):
        """Every table's row count and a digest of its rows. The large
        write-once values (inputs, Towerfiles, schemas) enter only as
        present or NULL, which keeps a snapshot cheap."""
        snap = {}
        for t in TABLES:
            cols = ",".join("(%s IS NULL)" % c if c in BIG.get(t, ()) else c for c in self.cols[t])
            h = hashlib.sha256()
            n = 0
            for row in self.db.execute("SELECT %s FROM %s ORDER BY rowid" % (cols, t)):
                h.update(repr(row).encode())
                n += 1
            snap[t] = (n, h.hexdigest())
        return snap

    def data_version(self):
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def rows(self, sql, *args):
        return self.db.execute(sql, args).fetchall()

    # one request through every check
    def req(self, method, path, body=None, token=None, lease=None, headers=None, op=None,
            expect=None):
        before = self.snap
        try:
            r = self.c.call(method, path, body, token=token, headers=headers, lease=lease)
        except Exception as e:
            self.c.close()
            raise AssertionError("%s %s: no answer (%s: %s)" % (method, path[:200], type(e).__name__, e))
        self.verify(r, method, path, before, op)
        if expect is not None:
            exp = expect if isinstance(expect, (tuple, list, set)) else (expect,)
            check(r.status in exp, "%s %s: status %d, expected %r: %r" % (method, path[:120], r.status,
                                                                         expect, r.data[:300]))
        return r

    def verify(self, r, method, path, before, op, mhd_ok=False):
        """The checks of every answer: status, envelope, database effect.
        The one 5xx allowed is libmicrohttpd's 505 to a request line that
        names an HTTP version other than 1.x (api.md §0.7)."""
        self.n += 1
        self.stats[r.status] += 1
        where = "%s %s" % (method, path[:160])
        check(r.status < 500 or mhd_ok == 505 and r.status == 505 and r.header("X-Request-Id") is None,
              "%s: status %d: %r" % (where, r.status, r.data[:300]))
        if r.status >= 400:
            if mhd_ok and r.header("X-Request-Id") is None:
                check(r.status in MHD_STATUSES or r.status == mhd_ok, "%s: libmicrohttpd status %d" % (where, r.status))
            elif method == "HEAD":
                check(r.header("X-Request-Id") is not None, "%s: no X-Request-Id: %r" % (where, r))
            else:
                self.envelope(r, where)
        elif r.data and (r.header("Content-Type") or "").startswith("application/json"):
            json.loads(r.data)
        self.check_db(before, r.status, method, op, where)

    def envelope(self, r, where):
        check(r.header("X-Request-Id") is not None, "%s: no X-Request-Id: %r" % (where, r))
        check((r.header("Content-Type") or "") == "application/json", "%s: content type %r" %
              (where, r.header("Content-Type")))
        check(r.data.endswith(b"}\n"), "%s: body %r" % (where, r.data[:300]))
        j = json.loads(r.data)
        check(list(j.keys()) == ["error"] and list(j["error"].keys()) == ["code", "message"],
              "%s: envelope %r" % (where, r.data[:300]))
        code, msg = j["error"]["code"], j["error"]["message"]
        check(isinstance(msg, str) and msg != "", "%s: message %r" % (where, msg))
        eq(STATUS_OF.get(code), r.status, "%s: code %r with status" % (where, code))

    def check_db(self, before, status, method, op, where):
        """before is the snapshot after the previous checked request, so a
        write by anything in between (a request closed early) shows too."""
        dv = self.data_version()
        if dv == self.dv:	# nothing committed since the last look
            return
        after = self.snap = self.snapshot()
        self.dv = dv
        if status >= 300 or method in ("GET", "HEAD"):
            bad = [t for t in TABLES if before[t] != after[t]]
            check(not bad, "%s: status %d changed tables %r" % (where, status, bad))
            return
        for t in TABLES:
            grow = after[t][0] - before[t][0]
            check(0 <= grow <= GROW.get(op, {}).get(t, 0),
                  "%s: status %d (op %s) added %d rows to %s" % (where, status, op, grow, t))

    # raw sockets
    def sock(self):
        so = socket.create_connection(("127.0.0.1", self.s.port), timeout=30)
        so.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return so

    def raw(self, data, op=None, shut=False, mhd_ok=True, what=None):
        """Sends raw bytes, reads one answer (or none); the same checks."""
        before = self.snap
        so = self.sock()
        try:
            try:
                so.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            if shut:
                so.shutdown(socket.SHUT_WR)
            try:
                r = read_response(so)
            except socket.timeout:
                raise AssertionError("raw %r: no answer within 30 s" % (what or data[:80]))
        finally:
            so.close()
        if r is not None:
            self.verify(r, "RAW", repr(what or data[:80]), before, op, mhd_ok=mhd_ok)
        else:
            self.n += 1
            self.stats["closed"] += 1
            self.check_db(before, 499, "RAW", op, repr(what or data[:80]))
        return r

    def raw_batch(self, cases, wait=2.0):
        """Sends every (bytes, mhd_ok) case on its own connection at once and
        half-closes it, then reads the answers. libmicrohttpd may keep a
        connection whose bytes never form a request until its 30 s timeout
        (api.md §0.1), so a case without an answer by the shared deadline
        counts as unanswered; the server must still serve everyone else."""
        socks = []
        for data, mhd_ok in cases:
            so = self.sock()
            try:
                so.sendall(data)
                so.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            socks.append((so, data, mhd_ok))
        deadline = time.time() + wait
        for so, data, mhd_ok in socks:
            so.settimeout(max(0.05, deadline - time.time()))
            try:
                r = read_response(so)
            except socket.timeout:
                r = "waiting"
            finally:
                so.close()
            self.n += 1
            if r is None or r == "waiting":
                self.stats["closed" if r is None else "waiting"] += 1
            else:
                self.verify(r, "RAW", repr(data[:80]), self.snap, None, mhd_ok=mhd_ok)
        self.check_db(self.snap, 499, "RAW", None, "raw batch")

    # the invariants checked after every group
    def alive(self):
        check(self.s.proc.poll() is None, "minitowerd died: exit %r; log tail:\n%s" %
              (self.s.proc.poll(), "".join(self.s.lines[-30:])))
        r = self.c.call("GET", "/health")
        eq((r.status, r.data), (200, b'{"status":"ok"}\n'), "health")
        panics = [ln for ln in self.s.lines if '"panic"' in ln]
        check(not panics, "failure guard fired: %r" % panics[:3])

    def objects_ok(self, where=""):
        def tmp_files():
            return [f for f in os.listdir(self.objects) if f.startswith(".upload-")]
        check(wait_for(lambda: not tmp_files(), timeout=15.0, step=0.02),
              "temporary upload files left %s: %r" % (where, tmp_files()))
        files = set()
        for root, _, fs in os.walk(self.objects):
            for f in fs:
                files.add(os.path.relpath(os.path.join(root, f), self.objects))
        keys = {k for (k,) in self.rows("SELECT artifact_object_key FROM app_versions")}
        eq(files, keys, "object files versus versions rows")

    def summary(self, name):
        now = time.time()
        print("# %s: %.1f s, %d requests so far, statuses %s" % (name, now - self.t0, self.n, dict(sorted(
            self.stats.items(), key=lambda kv: str(kv[0])))), flush=True)
        self.t0 = now


# ---- inputs ------------------------------------------------------------------

def nested(n, open_=b"[", close=b"]"):
    return open_ * n + close * n


def generic_bodies(rng):
    """Bodies that are broken whatever the endpoint expects (plus a few
    harmless ones: null, {} and trailing garbage are legal, §0.4)."""
    out = [b"", b" ", b"\r\n\t ", b"null", b"true", b"0", b"-1", b"1e999", b'"str"', b"[]",
           b"[{}]", b"{", b"}", b"{{}", b'{"a":}', b'{"a":1,}', b"{'a':1}", b'{"a":1}{"b":2}',
           b'{"a":1} trailing', b"\x00", b"{\x00}", b'{"\x00":1}', b'{"a\\u0000":1}',
           b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"{}", b'{"x":1e999}', b'{"x":-1e999}',
           b'{"x":123456789012345678901234567890}', b'{"x":NaN}', b'{"x":Infinity}',
           b'{"x":"\\ud800"}', b'{"x":"\\udc00\\ud800"}', b'{"x":"\xff"}', b'{"x":"\xc0\x80"}',
           b'{"x":"\xed\xa0\x80"}', b'{"x":"\xf4\x90\x80\x80"}', b'{"x":"\\u12"}', b'{"x":"\t"}',
           b'{"a":1,"a":"x","A":[]}', b'{"' + b"k" * 100000 + b'":1}',
           b'{"x":"' + b"v" * 200000 + b'"}', b"[" + b"1," * 100000 + b"1]",
           b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(5000)) + b"}",
           nested(10000), nested(10000, b'{"a":', b"}"), b"[" * 10000, b'{"a":' * 10000,
           b'{"x":' + nested(511) + b"}", b'{"x":' + nested(512) + b"}", b'{"x":' + nested(600) + b"}",
           b"\x1f\x8b\x08\x00", b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b--"]
    for _ in range(8):
        out.append(rng.randbytes(rng.randint(1, 3000)))
    for _ in range(4):
        out.append(bytes(rng.choice(b'{}[]":,0123456789.eE+-tfnul \\"ax') for _ in range(rng.randint(1, 200))))
    return out


# raw JSON values used to give every field every wrong type
RAW_VALUES = [b"null", b"true", b"false", b"0", b"-1", b"1.5", b"1e3", b"1E400", b"-1e999",
              b"9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
              b"123456789012345678901234567890", b"-0", b'""', b'" "', b'"x"', b'"\\u0000"',
              b'"a\\u0000b"', b'"\xff\xfe"', b'"\xc3"', b'"\\ud800"', b'"\xed\xa0\x80"',
              b'"<script>&\\u2028"', b"[]", b"[1,2]", b"{}", b'{"a":{"b":[null]}}',
              b'"' + b"x" * 70000 + b'"', nested(600), b"01", b"NaN", b"'x'", b"tru"]
TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"null", b"1e999", b"-", b"\\u0000",
          b"\x00", b"\xff", b"\\ud800", b"9" * 25, b" ", b"\n"]


def render(fields):
    return b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in fields) + b"}"


def field_variants(template):
    """template: [(key, raw value)], a valid body. Yields bodies with one
    field replaced by each RAW_VALUE, missing, duplicated or case-folded."""
    for i, (k, _) in enumerate(template):
        for v in RAW_VALUES:
            yield render(template[:i] + [(k, v)] + template[i + 1:])
        yield render(template[:i] + template[i + 1:])
        yield render(template + [(k, b"[]")])
        yield render(template + [(k.upper(), b"17")])


def mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            b.extend(b"{")
            continue
        i = rng.randrange(len(b))
        op = rng.randrange(6)
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i:i + rng.randint(1, 8)]
        elif op == 2:
            b[i:i] = rng.choice(TOKENS)
        elif op == 3:
            del b[i:]
        elif op == 4:
            b[i:i] = b[i:i + rng.randint(1, 16)]
        else:
            b[i:i] = rng.randbytes(rng.randint(1, 4))
    return bytes(b)


def mutations(rng, template, n):
    base = render(template)
    return [mutate(rng, base) for _ in range(n)]


def tgz_entries(entries):
    """entries: [(TarInfo kwargs, data bytes or None)] → .tar.gz bytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        for kw, data in entries:
            ti = tarfile.TarInfo(kw.pop("name"))
            for k, v in kw.items():
                setattr(ti, k, v)
            if data is not None:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
    return out.getvalue()


def part(name, filename, data, ctype="application/gzip"):
    disp = 'form-data; name="%s"' % name
    if filename is not None:
        disp += '; filename="%s"' % filename
    return ("Content-Disposition: %s\r\nContent-Type: %s\r\n\r\n" % (disp, ctype)).encode() + data


def form(parts, boundary="fzb0undary", close=True):
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    if close:
        body += b"--" + boundary.encode() + b"--\r\n"
    return body


# ---- the world the groups work in -------------------------------------------

class World:
    pass


def lease_run(f, w, app_token, app, runner_token, start=False):
    """Creates a run of app and leases it with runner_token; returns (run id, lease)."""
    r = f.req("POST", "/api/v1/apps/%s/runs" % app, {}, token=app_token, op="run_create", expect=201)
    rid = r.json["run_id"]
    l = f.req("POST", "/api/v1/runs/lease", token=runner_token, op="lease", expect=200)
    eq(l.json["run_id"], rid, "leased the run just created")
    if start:
        f.req("POST", "/api/v1/runs/%d/start" % rid, token=runner_token, lease=l.json["lease_token"],
              expect=200)
    return rid, l.json["lease_token"]


def register(f, name):
    r = f.req("POST", "/api/v1/runners/register", {"name": name}, token=REG_TOKEN, op="register",
              expect=201)
    return r.json["token"]


def upload(f, token, app, tgz, expect=201):
    body = form([part("artifact", "artifact.tar.gz", tgz)])
    r = f.req("POST", "/api/v1/apps/%s/versions" % app, body, token=token, op="upload",
              headers={"Content-Type": "multipart/form-data; boundary=fzb0undary"}, expect=expect)
    return r


@group
def setup_world(f):
    w = f.w = World()
    # the victim team comes first: ids 1, 2, ... of tokens and runs are its own
    r = f.req("POST", "/api/v1/bootstrap/team", {"slug": "victim", "name": "Victim", "password": "pw-v"},
              token=BOOT, op="bootstrap", expect=201)
    w.victim = r.json["token"]
    f.req("POST", "/api/v1/apps", {"slug": "vapp"}, token=w.victim, op="app_create", expect=201)
    upload(f, w.victim, "vapp", artifact('[app]\nname = "vapp"\nscript = "main.py"\n'))
    w.r_victim = register(f, "r-victim")
    vrun, vlease = lease_run(f, w, w.victim, "vapp", w.r_victim, start=True)
    f.req("POST", "/api/v1/runs/%d/logs" % vrun, {"logs": [{"seq": 1, "stream": "stdout", "line": "v",
          "logged_at": "2026-01-01T00:00:00Z"}]}, token=w.r_victim, lease=vlease, op="logs_post", expect=200)
    f.req("POST", "/api/v1/runs/%d/result" % vrun, {"status": "completed", "exit_code": 0},
          token=w.r_victim, lease=vlease, expect=200)
    w.victim_run = vrun
    # the fuzzing team: admin, member and a spare token; an app with a typed schema, one without versions
    r = f.req("POST", "/api/v1/teams/signup", {"slug": "fzt", "name": "Fuzz", "password": "pw-fz"},
              op="signup", expect=201)
    w.admin = r.json["token"]
    w.member = f.req("POST", "/api/v1/tokens", {"name": "member"}, token=w.admin, op="token_create",
                     expect=201).json["token"]
    w.spare_id = f.req("POST", "/api/v1/tokens", {"name": "spare"}, token=w.admin, op="token_create",
                       expect=201).json["token_id"]
    f.req("POST", "/api/v1/apps", {"slug": "fzapp", "description": "d"}, token=w.admin, op="app_create",
          expect=201)
    f.req("POST", "/api/v1/apps", {"slug": "noversions"}, token=w.admin, op="app_create", expect=201)
    upload(f, w.admin, "fzapp", artifact(TOWERFILE))
    # a completed run with logs (streams of it end at once), then one lease per runner-side endpoint
    w.r = {}
    for name in ("done", "start", "heartbeat", "logs", "result", "release", "artifact", "cancelling",
                 "hold"):
        w.r[name] = register(f, "r-" + name)
    w.done, lease = lease_run(f, w, w.admin, "fzapp", w.r["done"], start=True)
    f.req("POST", "/api/v1/runs/%d/logs" % w.done, {"logs": [{"seq": i, "stream": "stderr", "line": "l%d" % i,
          "logged_at": "2026-01-01T00:00:00Z"} for i in range(1, 6)]}, token=w.r["done"], lease=lease,
          op="logs_post", expect=200)
    f.req("POST", "/api/v1/runs/%d/result" % w.done, {"status": "failed", "exit_code": 3}, token=w.r["done"],
          lease=lease, expect=200)
    w.run, w.lease = {}, {}
    for name in ("start", "heartbeat", "logs", "result", "release", "artifact", "cancelling", "hold"):
        w.run[name], w.lease[name] = lease_run(f, w, w.admin, "fzapp", w.r[name],
                                               start=name not in ("start", "hold"))
    f.req("POST", "/api/v1/runs/%d/cancel" % w.run["cancelling"], token=w.admin, expect=200)
    # a queued run nobody leases (the hold runner only ever gets its own attempt re-issued)
    w.queued = f.req("POST", "/api/v1/apps/fzapp/runs", {"input": {"name": "q"}}, token=w.admin,
                     op="run_create", expect=201).json["run_id"]
    eq(f.rows("SELECT status FROM runs WHERE id=?", w.run["cancelling"]), [("cancelling",)])
    f.objects_ok()
    # the database check notices a write that a failed request would make, and accepts its undoing
    rw = sqlite3.connect(os.path.join(f.s.dir, "mt.db"), timeout=10)
    rw.execute("UPDATE runs SET priority=priority+1 WHERE id=?", (w.queued,))
    rw.commit()
    try:
        f.check_db(f.snap, 400, "POST", None, "self-test")
        raise RuntimeError("the database check missed a write")
    except AssertionError:
        pass
    rw.execute("UPDATE runs SET priority=priority-1 WHERE id=?", (w.queued,))
    rw.commit()
    rw.close()
    f.check_db(f.snap, 200, "POST", None, "self-test undo")


# ---- bodies -------------------------------------------------------------------

def body_targets(w):
    """(name, method, path, token, lease, op, valid template or None)."""
    s = lambda v: json.dumps(v).encode()
    logs_tpl = [("logs", s([{"seq": 1000, "stream": "stdout", "line": "x", "logged_at": "2026-01-01T00:00:00Z"}]))]
    return [
        ("signup", "POST", "/api/v1/teams/signup", None, None, "signup",
         [("slug", b'"fz-sg"'), ("name", b'"n"'), ("password", b'"p"')]),
        ("login", "POST", "/api/v1/teams/login", None, None, "login",
         [("slug", b'"fzt"'), ("password", b'"wrong"')]),
        ("bootstrap", "POST", "/api/v1/bootstrap/team", BOOT, None, "bootstrap",
         [("slug", b'"victim"'), ("name", b'"v"'), ("password", b'""')]),
        ("token_create", "POST", "/api/v1/tokens", w.member, None, "token_create",
         [("name", b'"t"'), ("role", b'"member"')]),
        ("app_create", "POST", "/api/v1/apps", w.admin, None, "app_create",
         [("slug", b'"fz-app"'), ("description", b'"d"')]),
        ("run_create", "POST", "/api/v1/apps/fzapp/runs", w.admin, None, "run_create",
         [("input", b'{"name":"a","count":2,"ratio":0.5,"flag":true}'), ("version_no", b"1"),
          ("priority", b"-5"), ("max_retries", b"0")]),
        ("run_create_noversions", "POST", "/api/v1/apps/noversions/runs", w.member, None, "run_create", None),
        ("cancel", "POST", "/api/v1/runs/%d/cancel" % w.done, w.member, None, "cancel", None),
        ("register", "POST", "/api/v1/runners/register", REG_TOKEN, None, "register",
         [("name", b'"r-fz"'), ("environment", b'"elsewhere"')]),
        ("lease_hold", "POST", "/api/v1/runs/lease", w.r["hold"], None, "lease", None),
        ("start", "POST", "/api/v1/runs/%d/start" % w.run["start"], w.r["start"], w.lease["start"], "start", None),
        ("heartbeat", "POST", "/api/v1/runs/%d/heartbeat" % w.run["heartbeat"], w.r["heartbeat"],
         w.lease["heartbeat"], "heartbeat", None),
        ("logs", "POST", "/api/v1/runs/%d/logs" % w.run["logs"], w.r["logs"], w.lease["logs"], "logs_post",
         logs_tpl),
        ("logs_cancelling", "POST", "/api/v1/runs/%d/logs" % w.run["cancelling"], w.r["cancelling"],
         w.lease["cancelling"], "logs_post", None),
        ("logs_badlease", "POST", "/api/v1/runs/%d/logs" % w.run["logs"], w.r["logs"], "x" * 43, "logs_post",
         None),
        ("result_cancelling", "POST", "/api/v1/runs/%d/result" % w.run["cancelling"], w.r["cancelling"],
         w.lease["cancelling"], "result",
         [("status", b'"failed"'), ("exit_code", b"1"), ("error_message", b'"boom"')]),
        ("result", "POST", "/api/v1/runs/%d/result" % w.run["result"], w.r["result"], w.lease["result"],
         "result", [("status", b'"bogus"'), ("exit_code", b"0"), ("error_message", b'"e"')]),
        ("result_badlease", "POST", "/api/v1/runs/%d/result" % w.run["result"], w.r["result"], "nope", "result",
         None),
        ("release_badlease", "POST", "/api/v1/runs/%d/release" % w.run["release"], w.r["release"], "",
         "release", None),
        ("release", "POST", "/api/v1/runs/%d/release" % w.run["release"], w.r["release"], w.lease["release"],
         "release", None),
        ("metrics", "POST", "/metrics", METRICS_TOKEN, None, "metrics", None),
    ]


def sub_logs_variants():
    """Every wrong type for every field of a log entry, and batch sizes."""
    entry = [("seq", b"1001"), ("stream", b'"stdout"'), ("line", b'"x"'), ("logged_at", b'"2026-01-01T00:00:00Z"')]
    out = []
    for e in field_variants(entry):
        out.append(b'{"logs":[' + e + b"]}")
    out += [b'{"logs":' + v + b"}" for v in RAW_VALUES]
    line = lambda i, extra=b"": (b'{"seq":%d,"stream":"stdout","line":"l"%s}' % (i, extra))
    out.append(b'{"logs":[' + b",".join(line(2000 + i) for i in range(101)) + b"]}")
    out.append(b'{"logs":[' + line(3000) + b"," + line(0) + b"]}")	# one bad entry rejects all
    out.append(b'{"logs":[' + line(3001) + b',{"seq":3002,"stream":"stdout","line":"' + b"y" * 8193 + b'"}]}')
    out.append(b'{"logs":[' + line(3003, b',"line":"a\\u0000b"') + b"]}")
    out.append(b'{"logs":[{"seq":3004,"stream":"stdout","line":"\xff\xfe"}]}')
    out.append(b'{"logs":[{"seq":3005,"stream":"stdout","line":"ok","logged_at":"not a time \\u0000"}]}')
    for i, at in enumerate([b"9999-12-31T23:59:60.999999999999999999Z", b"0000-01-01T00:00:00+23:59",
                            b"0000-01-01T00:00:00-23:59", b"2026-02-31T00:00:00Z", b"2026-01-01t00:00:00z",
                            b"2026-01-01 00:00:00Z", b"2026-01-01T00:00:00+99:99", b"-001-01-01T00:00:00Z",
                            b"2026-01-01T00:00:00.Z", b"2026-01-01T00:00:00", b"", b"2026", 12345, None, []]):
        v = json.dumps(at.decode() if isinstance(at, bytes) else at).encode()
        out.append(b'{"logs":[{"seq":%d,"stream":"stdout","line":"t","logged_at":%s}]}' % (3100 + i, v))
    return out


@group
def bodies(f):
    rng = random.Random(20261127)
    w = f.w
    generic = generic_bodies(rng)
    for name, method, path, token, lease, op, tpl in body_targets(w):
        cases = list(generic)
        if tpl is not None:
            cases += list(field_variants(tpl)) + mutations(rng, tpl, 25)
        if name == "logs":
            cases += sub_logs_variants()
        if name == "run_create":
            cases += [b'{"input":{"s":"' + b"x" * (1 << 20) + b'"}}',	# input over 1 MiB
                      b'{"input":{"count":"x"}}', b'{"input":{"flag":null}}', b'{"input":[1]}',
                      b'{"input":"s"}', b'{"input":{"a":' + nested(600) + b"}}",
                      b'{"input":{"a":"\\u0000","\\u0000":1}}', b'{"input":{"k":1,"k":2,"K":3}}']
        for body in cases:
            f.req(method, path, body, token=token, lease=lease, op=op)
        if name == "result":	# the recorded result, then every variant as a repeat of it
            done = [("status", b'"completed"'), ("exit_code", b"0"), ("error_message", b'"e"')]
            f.req(method, path, render(done), token=token, lease=lease, op=op, expect=200)
            for body in list(field_variants(done)) + mutations(rng, done, 25):
                f.req(method, path, body, token=token, lease=lease, op=op)
            f.req(method, path, render(done), token=token, lease=lease, op=op, expect=200)
        f.alive()
    # the spec's non-failures still work after all that
    f.req("POST", "/api/v1/runs/%d/heartbeat" % w.run["heartbeat"], token=w.r["heartbeat"],
          lease=w.lease["heartbeat"], expect=200)
    f.req("GET", "/api/v1/runs/%d" % w.done, token=w.member, expect=200)
    f.summary("bodies")


# ---- query strings --------------------------------------------------------------

QVALUES = ["", "0", "1", "-1", "+5", "007", "%205", "5%20", "5x", "1e3", "0x10", "%zz", "%00", "5%00",
           "%", "%2", "%ff", "%c3%bc", "%ef%bc%91", "99999999999999999999", "-99999999999999999999",
           "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
           "+", "-", "--1", "NaN", "1" * 5000, "queued", "%20queued%20", "QUEUED", "bogus", "fzapp",
           "%2Fetc%2Fpasswd", "a%26b%3Dc", "%E2%80%A8"]


@group
def query_strings(f):
    w = f.w
    targets = [
        ("GET", "/api/v1/runs", w.member, None, ["limit", "offset", "status", "app"]),
        ("GET", "/api/v1/apps/fzapp/runs", w.admin, None, ["limit", "offset"]),
        ("GET", "/api/v1/runs/%d/logs" % w.done, w.member, None, ["after_seq", "attempt"]),
        ("GET", "/api/v1/runs/%d/logs/stream" % w.done, w.member, None, ["after_seq", "attempt"]),
        ("POST", "/api/v1/runs/lease", w.r["hold"], None, ["wait"]),
        ("POST", "/api/v1/runs/%d/heartbeat" % w.run["heartbeat"], w.r["heartbeat"], w.lease["heartbeat"],
         ["wait"]),
        ("POST", "/api/v1/runs/%d/heartbeat" % w.run["cancelling"], w.r["cancelling"], w.lease["cancelling"],
         ["wait"]),
        ("POST", "/api/v1/runs/%d/heartbeat" % w.run["heartbeat"], w.r["heartbeat"], "bad-lease", ["wait"]),
    ]
    others = [("GET", "/health", None), ("GET", "/ready", None), ("GET", "/metrics", METRICS_TOKEN),
              ("GET", "/api/v1/auth/options", None), ("GET", "/api/v1/me", w.member),
              ("GET", "/api/v1/tokens", w.admin), ("GET", "/api/v1/apps", w.member),
              ("GET", "/api/v1/apps/fzapp", w.member), ("GET", "/api/v1/apps/fzapp/versions", w.member),
              ("GET", "/api/v1/runs/summary", w.member), ("GET", "/api/v1/runs/%d" % w.done, w.member),
              ("GET", "/api/v1/runs/%d/attempts" % w.done, w.member), ("GET", "/api/v1/admin/runners", w.admin),
              ("GET", "/api/v1/runs/%d/artifact" % w.run["artifact"], w.r["artifact"]),
              ("POST", "/api/v1/runs/%d/start" % w.run["start"], w.r["start"]),
              ("POST", "/api/v1/runs/%d/cancel" % w.done, w.member),
              ("POST", "/api/v1/tokens", w.member), ("GET", "/", None), ("GET", "/assets/app.js", None)]
    shapes = ["?{p}=1&{p}=x", "?{p}=x&{p}=1", "?{p}", "?{p}=", "?{p}=1&{p}", "?{p}%00=1&{p}=2", "?{p}=1;{p}=x"]
    for method, path, token, lease, params in targets:
        op = "lease" if path.endswith("lease") else None
        for p in params:
            for v in QVALUES:
                f.req(method, path + "?%s=%s" % (p, v), token=token, lease=lease, op=op)
            for sh in shapes:
                f.req(method, path + sh.replace("{p}", p), token=token, lease=lease, op=op)
        f.req(method, path + "?" + "&".join("%s=%d" % (params[0], i) for i in range(300)), token=token,
              lease=lease, op=op)
        f.req(method, path + "?" + "&".join("%s=-1" % p for p in params), token=token, lease=lease, op=op)
    junk = ["?", "??", "?&&&", "?=5", "?==", "?a[b]=1", "?%00=1", "?lim%69t=5", "?LIMIT=0", "?x=" + "y" * 20000,
            "?" + "&".join("u%d=%d" % (i, i) for i in range(200)), "?%zz=%zz", "?a=%c3%28", "?;=;"]
    lease_of = {w.r["artifact"]: w.lease["artifact"], w.r["start"]: w.lease["start"]}
    for method, path, token in others:
        for q in junk:
            f.req(method, path + q, token=token, lease=lease_of.get(token),
                  op="token_create" if path == "/api/v1/tokens" else None)
    f.alive()
    f.summary("query strings")


# ---- paths ------------------------------------------------------------------------

RUN_IDS = ["0", "-0", "+0", "-1", "1e3", "0x1", "1.0", "99999999999999999999", "9223372036854775807",
           "-9223372036854775808", "9223372036854775808", "%201", "1%20", "%00", "1%00", "%2F", "..",
           ".", "%2e%2e", "a", "%ff", "%c3%bc", "1" * 600, "x" * 5000, "", "%2F%2F", "1;2", "1%3F"]
RUN_ACTIONS = [("", ["GET", "POST", "DELETE"]), ("/cancel", ["POST", "GET"]), ("/logs", ["GET", "POST", "PUT"]),
               ("/logs/stream", ["GET", "POST"]), ("/attempts", ["GET"]), ("/start", ["POST"]),
               ("/heartbeat", ["POST"]), ("/result", ["POST"]), ("/artifact", ["GET", "POST"]),
               ("/release", ["POST"])]


@group
def paths(f):
    w = f.w
    done = str(w.done)
    ids = RUN_IDS + ["+" + done, "00" + done, done + "/", done + "%2F", done + "%2f..", str(w.victim_run)]
    runner_actions = ("/start", "/heartbeat", "/result", "/artifact", "/release")
    for action, methods in RUN_ACTIONS:
        for rid in ids:
            for m in methods:
                path = "/api/v1/runs/" + rid + action
                if m == "POST" and action == "/logs" or action in runner_actions:
                    tok, lease = w.r["logs"], w.lease["logs"]
                else:
                    tok, lease = w.member, None
                f.req(m, path, b"{}", token=tok, lease=lease, op="cancel" if action == "/cancel" else "logs_post")
                f.req(m, path + "/", token=tok, lease=lease, op="cancel" if action == "/cancel" else "logs_post")
    slugs = ["", "%2F", "..", "%2e%2e", "FZAPP", "fzapp%00", "%00", "%c3%bc", "%ff", "a" * 600, "a" * 5000,
             "fzapp%2Fruns", "fzapp/", "fzapp//versions", "victim", "vapp", "-x", "%20fzapp"]
    for slug in slugs:
        for suffix, methods in [("", ["GET", "POST", "PUT", "DELETE"]), ("/versions", ["GET", "DELETE"]),
                                ("/runs", ["GET", "POST", "PATCH"]), ("/runs/", ["GET"]), ("/bogus", ["GET"]),
                                ("/runs/x", ["GET"]), ("/versions/1", ["GET"])]:
            for m in methods:
                path = "/api/v1/apps/" + slug + suffix
                plain = urllib.parse.unquote(path).rstrip("/")
                f.req(m, path, b"{}", token=w.member, op="run_create" if plain.endswith("/runs") else None)
    tok_ids = ["0", "-1", "+" + str(w.spare_id), "0" + str(w.spare_id), "1", "99999999999999999999", "1e3",
               "x", "%00", "", "%2F", str(w.spare_id) + "/", str(w.spare_id) + "/x", "1" * 600, "%c3%bc"]
    for tid in tok_ids:
        for m in ("DELETE", "GET", "POST"):
            for tok in (w.admin, w.member, None):
                f.req(m, "/api/v1/tokens/" + tid, token=tok, op="token_revoke")
    eq(f.rows("SELECT revoked_at IS NOT NULL FROM team_tokens WHERE id=1"), [(0,)], "victim token revoked")
    generic = ["//", "/api//v1/apps", "/api/v1/apps/../me", "/api/v1/./me", "/./health", "/health/", "/HEALTH",
               "/api/v1/me/", "/api/v1/runs/", "/api/v1/runs//cancel", "/api/v1/runs/1/logs/stream/x",
               "/api", "/api/", "/api/v1", "/api/v1/", "/api/v2/me", "/api/v1/me%00", "/health%00x",
               "/api/v1/%2e%2e/v1/me", "/metrics/", "/metrics%2F", "/api/v1/teams/signup/",
               "/api/v1/runners/register/", "/api/v1/runs/lease/", "/api/v1/runs/summary/",
               "/api/v1/admin/runners/x", "/api/v1/bootstrap/team/", "/" + "z" * 8000, "/a/" * 2000,
               "/%c3%bc%e2%80%a8", "/%ff%fe", "/..", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
               "/assets/../../../etc/passwd", "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/escape",
               "/escdir/passwd", "/assets/", "/assets", "/index.html%00.js", "/assets/app.js/",
               "/%c3%bc.txt", "/assets/app.js?x=1", "/no-such-file.js"]
    for path in generic:
        for m in ("GET", "POST", "DELETE", "OPTIONS", "HEAD", "FOO"):
            for hdrs in ({}, {"Accept": "text/html"}):
                r = f.req(m, path, token=w.member, headers=hdrs)
                if r.status == 200 and m == "GET" and path not in ("/assets/app.js?x=1", "/%c3%bc.txt"):
                    check(r.data in (b"<html>ui</html>\n", b"console.log(1)\n", b'{"status":"ok"}\n') or
                          path.startswith(("/health", "/./health", "/metrics", "/api/")),
                          "%s served %r" % (path, r.data[:100]))
    f.alive()
    f.summary("paths")


@group
def methods_and_streams(f):
    """Every method on every route; event streams opened on a live run and
    dropped; HEAD and OPTIONS everywhere."""
    w = f.w
    runner_paths = {"start", "heartbeat", "logs", "result", "artifact", "release"}
    routes = ["/health", "/ready", "/metrics", "/api/v1/auth/options", "/api/v1/teams/signup", "/api/v1/teams/login",
              "/api/v1/bootstrap/team", "/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/%d" % (w.spare_id + 9999),
              "/api/v1/apps", "/api/v1/apps/fzapp", "/api/v1/apps/fzapp/versions", "/api/v1/apps/fzapp/runs",
              "/api/v1/runs", "/api/v1/runs/summary", "/api/v1/runs/%d" % w.done, "/api/v1/admin/runners",
              "/api/v1/runners/register", "/api/v1/runs/lease", "/", "/assets/app.js", "/nowhere"]
    routes += ["/api/v1/runs/%d/%s" % (w.done, a) for a in ("cancel", "logs", "logs/stream", "attempts")]
    routes += ["/api/v1/runs/%d/%s" % (w.run["cancelling"], a) for a in runner_paths]
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "M-SEARCH", "X" * 100]
    ops = {"/api/v1/tokens": "token_create", "/api/v1/apps": "app_create", "/api/v1/apps/fzapp/runs": "run_create",
           "/api/v1/runs/lease": "lease", "/api/v1/runners/register": "register", "/api/v1/teams/signup": "signup"}
    for path in routes:
        runner = path.rsplit("/", 1)[-1] in runner_paths and "/runs/%d/" % w.run["cancelling"] in path
        tok = w.r["cancelling"] if runner else w.member
        if path.endswith("lease"):
            tok = w.r["hold"]
        for m in methods:
            for hdrs in ({}, {"Origin": "http://ui.example"}, {"Origin": "http://evil.example"}):
                body = None if m in ("GET", "HEAD", "OPTIONS", "TRACE") else b'{"status":"x"}'
                f.req(m, path, body, token=tok, lease=w.lease["cancelling"] if runner else None, headers=hdrs,
                      op=ops.get(path, "logs_post" if runner else None))
    # CORS preflights answered by the CORS layer are not counted (observability.md §1.2)
    m = f.req("GET", "/metrics", token=METRICS_TOKEN, expect=200)
    check(b'method="OPTIONS",path="/api/v1/apps",status="204"' not in m.data, "preflights counted")
    # event streams of a live run: opened, read a little, dropped, and with odd resume points
    for le, q in [("", ""), ("5", ""), ("x", ""), ("", "?attempt=1"), ("", "?after_seq=99999999999999999999"),
                  ("99999", "?attempt=1"), ("", "?attempt=2")]:
        so = f.sock()
        so.sendall(("GET /api/v1/runs/%d/logs/stream%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                    "Last-Event-ID: %s\r\n\r\n" % (w.run["logs"], q, w.member, le)).encode())
        so.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head:
            d = so.recv(4096)
            if not d:
                break
            head += d
        status = int(head.split(b" ", 2)[1]) if head else 0
        check(0 < status < 500, "stream answered %r" % head[:200])
        if status == 200:
            while b"event: status" not in head:
                d = so.recv(4096)
                check(d, "stream closed before its status event")
                head += d
        so.close()
    f.req("POST", "/api/v1/runs/%d/logs" % w.run["logs"], {"logs": [{"seq": 7777, "stream": "stdout", "line": "z"}]},
          token=w.r["logs"], lease=w.lease["logs"], op="logs_post", expect=200)
    # Upgrade requests are not served
    for up in (b"websocket", b"h2c", b"\xff"):
        f.raw(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: " + up + b"\r\n"
              b"Sec-WebSocket-Key: x\r\n\r\n", mhd_ok=False)
    f.alive()
    f.summary("methods and streams")


# ---- headers ------------------------------------------------------------------------

@group
def headers(f):
    w = f.w
    auths = ["", " ", "Bearer", "Bearer ", "Bearer  ", "bearer", "Basic Zm9vOmJhcg==", "Bearer x",
             "Bearer mtk_", "Bearer " + "A" * 47, "Bearer mtk_" + "a" * 43, "Bearer " + "x" * 30000,
             "Bearer\t" + w.member, "bearer " + w.member, "BEARER  %s  " % w.member, "Bearer " + w.member + "x",
             "Bearer " + w.member[:-1], "Bearer " + w.member + "\x01", "Bearer \xff\xfe", "Bearer " + w.r["hold"],
             "Bearer " + REG_TOKEN, "Bearer " + BOOT, "Bearer " + METRICS_TOKEN, "Token " + w.member,
             "Bearer " + w.member + "," + w.admin]
    targets = [("GET", "/api/v1/me", None), ("GET", "/api/v1/tokens", None), ("POST", "/api/v1/tokens", "token_create"),
               ("DELETE", "/api/v1/tokens/%d" % (w.spare_id + 100000), None), ("GET", "/api/v1/apps", None),
               ("POST", "/api/v1/apps/fzapp/runs", "run_create"), ("GET", "/api/v1/runs/summary", None),
               ("GET", "/api/v1/admin/runners", None), ("POST", "/api/v1/runs/lease", "lease"),
               ("POST", "/api/v1/runners/register", "register"), ("POST", "/api/v1/bootstrap/team", "bootstrap"),
               ("GET", "/metrics", None), ("GET", "/api/v1/runs/%d/logs/stream" % w.done, None),
               ("POST", "/api/v1/runs/%d/start" % w.run["start"], "start")]
    for method, path, op in targets:
        for a in auths:
            body = b'{"name":"hdr-runner","slug":"victim"}' if op in ("register", "bootstrap") else None
            f.req(method, path, body, headers={"Authorization": a}, lease=w.lease["start"], op=op)
    # X-Lease-Token on every lease-bound endpoint
    leases = ["", " ", "x", "=" * 43, "A" * 43, w.lease["logs"], " %s " % w.lease["start"], w.lease["start"] + "=",
              "y" * 20000, "\xff" * 43, w.lease["hold"]]
    for action in ("start", "heartbeat", "logs", "result", "artifact", "release"):
        m = "GET" if action == "artifact" else "POST"
        path = "/api/v1/runs/%d/%s" % (w.run["start"], action)
        for lt in leases:
            f.req(m, path, b'{"status":"nope"}', token=w.r["start"], headers={"X-Lease-Token": lt},
                  op="logs_post")
        f.req(m, path, token=w.r["start"], op="logs_post")	# no header at all
    # Idempotency-Key
    keys = ["", "   ", "k", " k ", "a" * 255, "a" * 256, "tab\there", "del\x7f", "ctl\x01", "\xe9t\xe9",
            "x" * 10000, "k\x00z"]
    for k in keys:
        for body in (b'{"input":{"name":"i"}}', b'{"input":{"name":"j"}}', b"{", b'{"priority":1.5}'):
            f.req("POST", "/api/v1/apps/fzapp/runs", body, token=w.member, headers={"Idempotency-Key": k},
                  op="run_create")
    f.req("POST", "/api/v1/apps/noversions/runs", b"{}", token=w.member, headers={"Idempotency-Key": "nv"},
          op="run_create", expect=400)
    f.req("POST", "/api/v1/apps/fzapp/runs", b'{"version_no":99}', token=w.member,
          headers={"Idempotency-Key": "nv"}, op="run_create", expect=404)
    eq(f.rows("SELECT count(*) FROM run_idempotency_keys WHERE idempotency_key='nv'"), [(0,)], "failed key kept")
    # Last-Event-ID
    for le in ["", " ", "0", "-1", "+3", "3", "1e3", "x", "99999999999999999999", "9223372036854775807", "3 ",
               "%00", "\xff", "1" * 5000]:
        for q in ("", "?after_seq=x", "?attempt=1", "?attempt=9"):
            f.req("GET", "/api/v1/runs/%d/logs/stream%s" % (w.done, q), token=w.member,
                  headers={"Last-Event-ID": le, "Accept": "text/event-stream"})
    # Content-Type on JSON endpoints (ignored, §0.4), X-Request-Id, Origin, odd but legal headers
    for ct in ["", "application/json", "text/plain", "multipart/form-data; boundary=x",
               "application/x-www-form-urlencoded", "application/json; charset=latin-1", "\xff/\xfe", "x" * 5000]:
        f.req("POST", "/api/v1/apps", b'{"slug":"ct"}', token=w.member, headers={"Content-Type": ct},
              op="app_create")
    for rid in ["", "x" * 128, "x" * 129, "a\x01b", "\xff", "ok id", "y" * 20000]:
        r = f.req("GET", "/health", headers={"X-Request-Id": rid}, expect=200)
        check(r.header("X-Request-Id") == rid if 1 <= len(rid) <= 128 and rid.isprintable() and rid.isascii()
              else len(r.header("X-Request-Id")) == 32, "request id %r -> %r" % (rid, r.header("X-Request-Id")))
    for origin in ["", "http://ui.example", "http://evil.example", "null", "\xff", "x" * 10000]:
        for m in ("OPTIONS", "GET", "POST"):
            f.req(m, "/api/v1/apps", token=w.member, headers={"Origin": origin}, op="app_create")
    # many headers, big headers: under the limit they reach minitowerd, over it libmicrohttpd answers
    many = {"X-H%d" % i: "v" for i in range(300)}
    f.req("GET", "/api/v1/me", token=w.member, headers=many)
    f.req("GET", "/api/v1/me", token=w.member, headers={"X-Big": "b" * 30000}, expect=200)
    for n in (70000, 200000):
        f.raw(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * n + b"\r\n\r\n", what="header of %d" % n)
    f.alive()
    f.summary("headers")


# ---- multipart uploads ----------------------------------------------------------------

@group
def multipart(f):
    w = f.w
    rng = random.Random(7)
    good = artifact('[app]\nname = "fzapp"\nscript = "main.py"\n')
    mp = "multipart/form-data; boundary=fzb0undary"
    up = lambda body, ctype=mp, token=w.member, app="fzapp", expect=None: f.req(
        "POST", "/api/v1/apps/%s/versions" % app, body, token=token, op="upload",
        headers={} if ctype is None else {"Content-Type": ctype}, expect=expect)
    # Content-Type
    for ct in [None, "", "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
               "multipart/form-data; boundary=other", "multipart/mixed; boundary=fzb0undary", "application/json",
               "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=" + "b" * 300,
               "MULTIPART/FORM-DATA; BOUNDARY=fzb0undary", "multipart/form-data;boundary=\"fzb0undary\"",
               "multipart/form-data; charset=utf-8", "multipart/form-data; boundary=fzb0undary; boundary=x"]:
        up(form([part("artifact", "a.tgz", good)]), ctype=ct)
    up(form([part("artifact", "a.tgz", good)]), app="nope", expect=404)
    up(form([part("artifact", "a.tgz", good)]), token="bad", expect=401)
    # broken multipart framing
    full = form([part("artifact", "a.tgz", good)])
    bodies = [b"", b"--fzb0undary--\r\n", b"--fzb0undary\r\n", b"garbage", b"--fzb0undary\r\n\r\n\r\n--fzb0undary--",
              form([part("artifact", "a.tgz", good)], close=False), full[:len(full) // 2], full[:60],
              b"--fzb0undary\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"a\"",
              b"--fzb0undary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--fzb0undary--\r\n",
              b"--fzb0undary\r\nX: y\r\n\r\nx\r\n--fzb0undary--\r\n",
              form([part("artifact", None, good)]), form([part("artifact", "", good)]),
              form([part("other", "a.tgz", good)]), form([part("ARTIFACT", "a.tgz", good)]),
              form([part("artifact", "a\x00b.tgz", good)]), form([part("artifact", "\xff.tgz".encode("latin-1").decode("latin-1"), good)]),
              full.replace(b"\r\n", b"\n"), full + b"trailing junk" * 100,
              b"preamble\r\n" + full, full.replace(b"form-data;", b"form-data ;;;")]
    bodies += [mutate(rng, full) for _ in range(30)]
    for b in bodies:
        up(b)
    # two artifact parts: the first one counts
    bad = b"not gzip"
    up(form([part("artifact", "a.tgz", bad), part("artifact", "b.tgz", good)]), expect=400)
    up(form([part("artifact", "a.tgz", good), part("artifact", "b.tgz", bad)]), expect=201)
    up(form([part("artifact", "", bad), part("artifact", "b.tgz", good), part("artifact", "c.tgz", good)]),
       expect=201)
    # archive contents
    tf = b'[app]\nname = "fzapp"\nscript = "main.py"\n'
    reg = lambda name, data=b"x", **kw: (dict(name=name, **kw), data)
    archives = [
        b"", b"\x1f\x8b", gzip.compress(b""), gzip.compress(b"not a tar" * 100), gzip.compress(b"\x00" * 10240),
        good[:len(good) // 2], good[:-8], good + b"trailing", gzip.compress(good), rng.randbytes(5000),
        gzip.compress(rng.randbytes(5000)), b"PK\x03\x04" + rng.randbytes(200),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("../evil")]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("/etc/evil")]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("a/../../evil")]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("link", None, type=tarfile.SYMTYPE, linkname="/etc")]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("link", None, type=tarfile.SYMTYPE, linkname="../..")]),
        tgz_entries([reg("Towerfile", tf), reg("link", None, type=tarfile.SYMTYPE, linkname="/tmp"),
                     reg("link/main.py")]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("hard", None, type=tarfile.LNKTYPE, linkname="../x")]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("dev", None, type=tarfile.CHRTYPE, devmajor=1, devminor=3)]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("fifo", None, type=tarfile.FIFOTYPE)]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("n" * 5000)]),
        tgz_entries([reg("Towerfile", tf), reg("main.py"), reg("\xff\xfe.py")]),
        tgz_entries([reg("Towerfile", None, type=tarfile.SYMTYPE, linkname="/etc/passwd"), reg("main.py")]),
        tgz_entries([reg("Towerfile", None, type=tarfile.DIRTYPE), reg("main.py")]),
        tgz_entries([reg("Towerfile", b"\x00\xff\xfe" * 100), reg("main.py")]),
        tgz_entries([reg("Towerfile", b"[app]\nname = \"a\x00\"\nscript = \"main.py\"\n"), reg("main.py")]),
        tgz_entries([reg("Towerfile", b"x" * 262145), reg("main.py")]),
        tgz_entries([reg("Towerfile", b"[app]\n" + b"[" * 10000), reg("main.py")]),
        tgz_entries([reg("Towerfile", b"a = " + b"[" * 10000 + b"]" * 10000), reg("main.py")]),
        tgz_entries([reg("Towerfile", b'[app]\nname = "a"\nscript = "../main.py"\n'), reg("main.py")]),
        tgz_entries([reg("Towerfile", b'[app]\nname = "a"\nscript = "main.py"\n[[parameters]]\nname = ""\n'),
                     reg("main.py")]),
        tgz_entries([reg("Towerfile", b'[app]\nname = "a"\nscript = "main.py"\n[app.timeout]\nseconds = '
                     b"99999999999999999999\n"), reg("main.py")]),
        tgz_entries([reg("Towerfile", tf), reg("Towerfile", b"[app\n"), reg("main.py")]),
        tgz_entries([reg("Towerfile", tf)] + [reg("f%d" % i, b"") for i in range(3000)] + [reg("main.py")]),
    ]
    for a in archives:
        up(form([part("artifact", "a.tgz", a)]))
    hdr = bytearray(tgz_entries([reg("Towerfile", tf), reg("main.py")]))
    raw_tar = gzip.decompress(bytes(hdr))
    for off, val in [(124, b"77777777777\x00"), (148, b"0000000\x00"), (156, b"Z"), (0, b"\x00" * 100)]:
        t = bytearray(raw_tar)
        t[off:off + len(val)] = val
        up(form([part("artifact", "a.tgz", gzip.compress(bytes(t)))]))
    for _ in range(20):
        up(form([part("artifact", "a.tgz", gzip.compress(mutate(rng, raw_tar)))]))
    f.objects_ok()
    f.alive()
    f.summary("multipart")


# ---- Towerfiles, parameter schemas and run input -----------------------------------------

TF_SEED = b"""[app]
name = "tfapp"
script = "main.py"
source = ["./*.py", "./lib/**"]
import_paths = ["./lib", "vendor"]

[app.timeout]
seconds = 30

[[parameters]]
name = "who"
description = "Who \\u00e9 <&> 'q'"
default = "World"

[[parameters]]
name = "n"
type = "integer"
default = 3

[[parameters]]
name = "x"
type = "number"
default = 1.5e3

[[parameters]]
name = "b"
type = "boolean"
default = true
"""
TF_HEAD = b'[app]\nname = "tfapp"\nscript = "main.py"\n'


def nasty_towerfiles():
    p = lambda body: TF_HEAD + b"[[parameters]]\n" + body + b"\n"
    t = lambda v: TF_HEAD + b"[app.timeout]\nseconds = " + v + b"\n"
    out = [t(v) for v in (b"9223372036854775807", b"9223372036854775808", b"-1", b"0", b"1.5", b'"5"', b"0x10",
                          b"1_000", b"+5", b"1e3", b"inf", b"nan", b"true", b"[]", b"{}")]
    for typ, vals in ((b"number", (b"1e400", b"inf", b"-inf", b"nan", b"+nan", b"1.7976931348623157e308", b"5e-324")),
                      (b"integer", (b"9223372036854775808", b"-9223372036854775809", b"0b101", b"0o777", b"1.0", b"--1")),
                      (b"boolean", (b"1", b'"true"', b"True")), (b"string", (b"5", b'"\\u0000"', b"[1]", b"{a=1}")),
                      (b"object", (b"{}",)), (b"", (b"1",))):
        for v in vals:
            out.append(p(b'name = "v"\ntype = "' + typ + b'"\ndefault = ' + v))
    out += [p(b'name = "d"') + b'[[parameters]]\nname = "d"\n', p(b'name = ""'), p(b'name = "\\u0000"'),
            p(b'name = "\\u00fc\\U0001F600"'), p(b'name = 5'), p(b'description = "no name"'),
            TF_HEAD + b"".join(b'[[parameters]]\nname = "p%d"\ntype = "integer"\ndefault = %d\n' % (i, i)
                               for i in range(1000)),
            p(b'name = "long"\ndescription = "' + b"d" * 200000 + b'"')]
    for script in (b"main.sh", b"MAIN.PY", b"./main.py", b"main.py\\n", b"lib/../main.py", b"/main.py", b"",
                   b"main.py\\u0000.sh", b"main.rb", b"lib", b"\\u00fcber.py", b"a\\tb.py", b"main.py "):
        out.append(b'[app]\nname = "tfapp"\nscript = "' + script + b'"\n')
    for ip in (b'["../x"]', b'["/abs"]', b'[""]', b'["\\u0001"]',
               b"[" + b",".join(b'"d%d"' % i for i in range(1000)) + b"]",
               b'"./lib"', b'[1, "x"]', b'[["x"]]', b"[]"):
        out.append(TF_HEAD + b"import_paths = " + ip + b"\n")
        out.append(b'[app]\nname = "tfapp"\nscript = "main.py"\nsource = ' + ip + b"\n")
    out += [b'app = {name = "tfapp", script = "main.py"}\nparameters = [{name = "n", default = 1}]\n',
            b'app.name = "tfapp"\napp.script = "main.py"\napp.timeout.seconds = 5\n',
            TF_HEAD + b'[app]\nname = "again"\n', TF_HEAD + b'name = "twice"\n',
            b"[App]\nName = 'tfapp'\nScript = 'main.py'\n",
            TF_HEAD + b"parameters = []\n[[parameters]]\nname = 'x'\n", TF_HEAD + b"[parameters]\nname = 'x'\n",
            TF_HEAD + b"x = " + b"[" * 100000 + b"]" * 100000 + b"\n", TF_HEAD + b"x = " + b"[" * 100000 + b"\n",
            TF_HEAD + b"x = " + b"{a=" * 50000 + b"1" + b"}" * 50000 + b"\n", TF_HEAD + b"x" + b".x" * 50000 + b" = 1\n",
            TF_HEAD + b'x = """unterminated\n', TF_HEAD + b"x = '" + b"''lit\n",
            TF_HEAD + b'x = "\\U0010FFFF\\UFFFFFFFF"\n', TF_HEAD + b'x = "\\uD800"\n', TF_HEAD + b'x = "\\x41"\n',
            TF_HEAD + b'x = "\\\n',
            TF_HEAD + b"d1 = 1979-05-27T07:32:00Z\nd2 = 1979-05-27T07:32:00.999999999-07:00\nd3 = 07:32:00\n"
                      b"d4 = 1979-13-45\n",
            TF_HEAD + b'"quoted key" = 1\n\'lit\' = 2\nbare-key_1 = 3\n"" = 4\n', TF_HEAD + b"= 1\n",
            TF_HEAD + b"# comment \x01\x7f\n", TF_HEAD + b"x = 1\r", TF_HEAD + b"x = 1\rname = 'y'\n",
            b"\xef\xbb\xbf" + TF_HEAD, TF_HEAD + b"x = 'a\x00b'\n", TF_HEAD + b"x = '\xff\xfe'\n",
            TF_HEAD + b"# \xc0\x80\n", TF_HEAD + b"\x00", TF_HEAD + b"n = " + b"1" * 250000 + b"\n",
            TF_HEAD + b"x = 1\nx = 2\n", TF_HEAD + b"[a]\n[a]\n", TF_HEAD + b"[[a]]\n[a]\n", TF_HEAD + b"a = 1\n[a]\n",
            TF_HEAD + b"[a.b]\n[a]\nb = 1\n", b'[app]\nname = "tfapp"\nscript = "main.py"\n[app.timeout]\n', b"",
            b"\n\n\n", b"[", b"]", b"[[]]", b"[app", b'[app]\nname = "tfapp"']
    return out


TF_INPUTS = [b"{}", b"null", b'{"input":null}', b'{"input":{}}', b'{"input":{"who":5}}', b'{"input":{"n":"3"}}',
             b'{"input":{"n":3.0}}', b'{"input":{"n":3.5}}', b'{"input":{"n":1e308}}',
             b'{"input":{"n":-9223372036854775809}}', b'{"input":{"x":"1"}}', b'{"input":{"b":null}}',
             b'{"input":{"b":1}}', b'{"input":{"v":[1,{"a":null}]}}', b'{"input":{"who":"\\u0000","n":-0,"x":-0.0,"b":false}}',
             b'{"input":{"p5":"x","p999":1.5,"v":{}}}', b'{"input":{"WHO":"case","who":"w"}}',
             b'{"input":{"\\u00fc":"\\ud83d\\ude00"}}']


def tf_artifact(towerfile):
    files = {"main.py": b"print(1)\n", "main.sh": b"echo 1\n", "lib/x.py": b"", "MAIN.PY": b"", "\u00fcber.py": b""}
    return tgz_entries([(dict(name="Towerfile"), towerfile)] + [(dict(name=k), v) for k, v in files.items()])


@group
def towerfiles_and_schemas(f):
    w = f.w
    rng = random.Random(4242)
    f.req("POST", "/api/v1/apps", {"slug": "tfapp"}, token=w.member, op="app_create", expect=201)
    cases = nasty_towerfiles() + [mutate(rng, TF_SEED) for _ in range(120)] + [TF_SEED]
    mp = "multipart/form-data; boundary=fzb0undary"
    versions = 0
    for tf in cases:
        body = form([part("artifact", "a.tgz", tf_artifact(tf))])
        r = f.req("POST", "/api/v1/apps/tfapp/versions", body, token=w.member, op="upload",
                  headers={"Content-Type": mp})
        if r.status == 400:
            check(r.json["error"]["code"] in ("TOWERFILE_INVALID", "TOWERFILE_MISSING"), r)
            continue
        eq(r.status, 201, r)
        versions += 1
        if versions > 12:
            continue
        f.req("GET", "/api/v1/apps/tfapp/versions", token=w.member, expect=200)
        for inp in TF_INPUTS:
            if inp.startswith(b'{"input"'):
                inp = inp[:-1] + b',"version_no":%d}' % r.json["version_no"]
            f.req("POST", "/api/v1/apps/tfapp/runs", inp, token=w.member, op="run_create")
    check(versions >= 5, "only %d Towerfiles were accepted" % versions)
    f.req("GET", "/api/v1/apps/tfapp/runs?limit=100", token=w.member, expect=200)
    f.req("GET", "/api/v1/runs?limit=100&app=tfapp", token=w.member, expect=200)
    f.objects_ok("after Towerfiles")
    f.alive()
    f.summary("towerfiles")


# ---- body size limits -----------------------------------------------------------------

def chunked(f, path, token, payload, op, ctype=None, chunk=65536):
    """Sends payload with chunked transfer encoding over a raw socket."""
    head = "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n" % (path, token)
    if ctype:
        head += "Content-Type: %s\r\n" % ctype
    data = head.encode() + b"\r\n"
    for i in range(0, len(payload), chunk):
        c = payload[i:i + chunk]
        data += b"%x\r\n%s\r\n" % (len(c), c)
    data += b"0\r\n\r\n"
    return f.raw(data, op=op, mhd_ok=False, what="chunked %d bytes to %s" % (len(payload), path))


@group
def size_limits(f):
    w = f.w

    def padded(n, prefix=b'{"slug":"lim'):
        base = prefix + b'","pad":"'
        return base + b"p" * (n - len(base) - 2) + b'"}'
    for n, status in [(BODY_LIMIT - 1, (201, 409)), (BODY_LIMIT, (201, 409)), (BODY_LIMIT + 1, 413),
                      (BODY_LIMIT + 4096, 413)]:
        body = padded(n)
        eq(len(body), n)
        if status == 413:	# answered before the body, then closed: send what fits, then read
            r = f.raw(("POST /api/v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Content-Length: %d\r\n\r\n" % (w.member, n)).encode() + body[:1000], mhd_ok=False,
                      what="%d-byte body" % n)
            check(r is not None and r.status == 413 and r.header("Connection") == "close", r)
        else:
            f.req("POST", "/api/v1/apps", body, token=w.member, op="app_create", expect=status)
        r = chunked(f, "/api/v1/apps", w.member, padded(n, b'{"slug":"limc'), "app_create")
        check(r is not None and (r.status in status if isinstance(status, tuple) else r.status == status), r)
    # an over-limit Content-Length is refused before authentication and before the body
    for path in ("/api/v1/apps", "/api/v1/runs/lease", "/api/v1/teams/signup", "/metrics",
                 "/api/v1/runs/%d/logs" % w.run["logs"], "/api/v1/apps/fzapp/versions"):
        lim = ART_LIMIT if path.endswith("versions") else BODY_LIMIT
        r = f.raw(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (path, lim + 1)).encode() + b"{",
                  mhd_ok=False, what="CL over limit " + path)
        eq(r.status, 413, path)
    # input of exactly 1 MiB passes, one byte more does not (api.md §1.6.1)
    inp = lambda n: b'{"input":{"s":"' + b"i" * (n - 8) + b'"}}'	# compact input is n bytes
    f.req("POST", "/api/v1/apps/fzapp/runs", inp(1 << 20), token=w.member, op="run_create", expect=201)
    f.req("POST", "/api/v1/apps/fzapp/runs", inp((1 << 20) + 1), token=w.member, op="run_create", expect=400)
    # artifacts just under and over their limit (padding in a plain field before the file part)
    good = artifact('[app]\nname = "fzapp"\nscript = "main.py"\n')
    mp = "multipart/form-data; boundary=fzb0undary"
    for total, status in [(ART_LIMIT, 201), (ART_LIMIT + 1, 413)]:
        filler = form([part("pad", None, b""), part("artifact", "a.tgz", good)])
        pad = total - len(filler)
        body = form([part("pad", None, b"z" * pad), part("artifact", "a.tgz", good)])
        eq(len(body), total)
        f.req("POST", "/api/v1/apps/fzapp/versions", body, token=w.member, headers={"Content-Type": mp},
              op="upload", expect=status)
        r = chunked(f, "/api/v1/apps/fzapp/versions", w.member, body, "upload", ctype=mp)
        check(r is not None and r.status == status, r)
    f.objects_ok()
    f.alive()
    f.summary("size limits")


# ---- raw sockets ------------------------------------------------------------------------

@group
def raw_socket(f):
    w = f.w
    rng = random.Random(99)
    auth = ("Authorization: Bearer %s\r\n" % w.member).encode()
    garbage = [b"GARBAGE\r\n\r\n", b"\r\n\r\n", b"GET\r\n\r\n", b"GET /health\r\n\r\n", b"GET  /health  HTTP/1.1\r\n\r\n",
               b"GET / HTTP/1.1\r\n\r\n",                b"GET /health HTTP/1.0\r\n\r\n", b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"GET /health HTTP/1.1\nHost: x\nConnection: close\n\n", b"\x00\x01\x02\x03\r\n\r\n",
               b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),
               b"GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
               b"GET /health HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
               b"GET /health HTTP/1.1\r\nHost: x\r\n : v\r\n\r\n",
               b"GET /health HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\nConnection: close\r\n\r\n",
               b"GET /health HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\nConnection: close\r\n\r\n",
               b"GET /he\x00alth HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /\xc3\xbc\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"GET /api/v1/apps/\xc3\xbc HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n",
               b"G\xffT /health HTTP/1.1\r\nHost: x\r\n\r\n", b"get /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"GET http://x/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"CONNECT x:80 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               b"GET /health?" + b"q" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
               b"X" * 100000 + b"\r\n\r\n"]
    garbage += [rng.randbytes(rng.randint(1, 2000)) + b"\r\n\r\n" for _ in range(8)]
    cases = [(g, True) for g in garbage]
    cases += [(g, 505) for g in (b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                                 b"GET /health HTTP/2\r\nHost: x\r\n\r\n")]
    f.raw_batch(cases)
    f.alive()
    post = lambda path, extra, body=b"": (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + auth +
                                          extra + b"Connection: close\r\n\r\n" + body)
    te = b"Transfer-Encoding: chunked\r\n"
    chunked_errors = [b"zz\r\n{}\r\n0\r\n\r\n", b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n", b"-1\r\n{}\r\n0\r\n\r\n",
                      b"2\r\n{}0\r\n\r\n", b"2;ext=\x01\r\n{}\r\n0\r\n\r\n", b"2\r\n{}\r\n0\r\nTrailer: x\r\n\r\n",
                      b"2\r\n{}\r\n0\r\nbad trailer\r\n\r\n", b"2\r\n{}\r\n", b"5\r\n{}", b"\r\n\r\n", b"0\r\n\r\n",
                      b"2\r\n{}\r\n1\r\n}\r\n0\r\n\r\n", b"1" * 10000 + b"\r\n"]
    complete = [b"zz\r\n{}\r\n0\r\n\r\n", b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n", b"-1\r\n{}\r\n0\r\n\r\n",
                b"2\r\n{}0\r\n\r\n", b"2;ext=\x01\r\n{}\r\n0\r\n\r\n", b"2\r\n{}\r\n0\r\nTrailer: x\r\n\r\n",
                b"2\r\n{}\r\n0\r\nbad trailer\r\n\r\n", b"\r\n\r\n", b"0\r\n\r\n", b"2\r\n{}\r\n1\r\n}\r\n0\r\n\r\n",
                b"1" * 10000 + b"\r\n"]
    truncated = [b"2\r\n{}\r\n", b"5\r\n{}", b"2\r\n{", b"10"]
    # Connections left half-sent are closed a little later: libmicrohttpd 0.9.75 (epoll) can miss a
    # FIN that arrives together with the last bytes, and would then hold the connection (and delay
    # a graceful shutdown) until its 30 s timeout. minitowerd itself ends a Content-Length body
    # whose client hung up (checked below with an immediate close).
    hang_up = []
    for path, op in (("/api/v1/apps", "app_create"), ("/api/v1/apps/fzapp/versions", "upload"),
                     ("/api/v1/apps/fzapp/runs", "run_create"), ("/api/v1/teams/login", "login")):
        for body in complete:
            f.raw(post(path, te, body), op=op)
        for extra, body in [(b"Content-Length: -1\r\n", b"{}"), (b"Content-Length: abc\r\n", b"{}"),
                            (b"Content-Length: 99999999999999999999999\r\n", b"{}"),
                            (b"Content-Length: 2\r\nContent-Length: 3\r\n", b"{}x"),
                            (b"Content-Length: 2\r\n" + te, b"2\r\n{}\r\n0\r\n\r\n"),
                            (b"Content-Length: 2 \r\n", b"{}"), (b"Content-Length: +2\r\n", b"{}"),
                            (b"Expect: 100-continue\r\nContent-Length: 2\r\n", b"{}"),
                            (b"Expect: 100-continue\r\nContent-Length: 999999999\r\n", b""),
                            (b"Expect: bogus\r\nContent-Length: 2\r\n", b"{}")]:
            f.raw(post(path, extra, body), op=op)
        # bodies libmicrohttpd cannot finish or delimit: the client hangs up
        for extra, body in [(te, t) for t in truncated] + [
                (b"Transfer-Encoding: gzip, chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"),
                (b"Transfer-Encoding: identity\r\n", b"{}"), (b"Content-Length: 10\r\n", b"{}")]:
            so = f.sock()
            so.sendall(post(path, extra, body))
            hang_up.append(so)
        f.alive()
        f.objects_ok(path)
    # slowloris: partial requests closed early, and several held open while others are served
    mp = b"Content-Type: multipart/form-data; boundary=fzb0undary\r\n"
    upload_head = (b"--fzb0undary\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"a.tgz\"\r\n\r\n")
    partials = [b"GE", b"GET /health HTT", b"GET /health HTTP/1.1\r\nHost: x", b"GET /health HTTP/1.1\r\nHost: x\r\n",
                post("/api/v1/apps", b"Content-Length: 1000\r\n", b'{"slug":"slow'),
                post("/api/v1/apps", te, b"100\r\n{\"slug"),
                post("/api/v1/apps/fzapp/versions", mp + b"Content-Length: 100000\r\n", upload_head + b"\x1f\x8b" * 3000),
                post("/api/v1/apps/fzapp/versions", mp + te, b"8000\r\n" + upload_head + b"\x1f\x8b" * 3000),
                post("/api/v1/runs/%d/logs" % w.run["logs"], b"Content-Length: 500\r\n", b'{"logs":[')]
    for p in partials:
        so = f.sock()
        so.sendall(p)
        if b"Content-Length" in p:
            so.close()	# at once: the server must notice and drop the body (and a temporary file)
        else:
            hang_up.append(so)
    f.alive()
    for so in hang_up:
        so.close()
    f.alive()
    f.objects_ok("after partial requests")
    held = []
    for i in range(20):
        so = f.sock()
        so.sendall(partials[i % len(partials)])
        held.append(so)
    f.alive()
    f.req("GET", "/api/v1/runs/%d" % w.done, token=w.member, expect=200)
    for so in held:
        so.close()
    # pipelining: a good request followed by garbage on the same connection
    so = f.sock()
    so.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE \x00\r\n\r\n")
    r = read_response(so)
    check(r is not None and r.status == 200, "first pipelined answer %r" % r)
    so.close()
    f.objects_ok("after held connections")
    f.alive()
    f.summary("raw sockets")


# ---- every queued run through one runner -----------------------------------------------

@group
def drain_queue(f):
    """A runner leases every queued run (odd inputs, odd entrypoints and
    import paths included), downloads its artifact, logs and reports."""
    tok = register(f, "r-drain")
    drained = 0
    for _ in range(1000):
        l = f.req("POST", "/api/v1/runs/lease", token=tok, op="lease", expect=(200, 204))
        if l.status == 204:
            break
        drained += 1
        rid, lease = l.json["run_id"], l.json["lease_token"]
        a = f.req("GET", "/api/v1/runs/%d/artifact" % rid, token=tok, lease=lease, expect=200)
        eq(hashlib.sha256(a.data).hexdigest(), a.header("X-Artifact-SHA256"), "artifact bytes")
        f.req("POST", "/api/v1/runs/%d/start" % rid, token=tok, lease=lease, expect=200)
        f.req("POST", "/api/v1/runs/%d/logs" % rid, {"logs": [{"seq": 1, "stream": "stdout", "line": "d"}]},
              token=tok, lease=lease, op="logs_post", expect=200)
        f.req("POST", "/api/v1/runs/%d/result" % rid, {"status": "completed", "exit_code": 0}, token=tok,
              lease=lease, expect=200)
    check(drained > 10, "drained only %d runs" % drained)
    eq(f.rows("SELECT count(*) FROM runs WHERE status='queued' AND cancel_requested=0"), [(0,)], "queue empty")
    f.alive()
    f.summary("drain (%d runs)" % drained)


# ---- the end ------------------------------------------------------------------------------

@group
def database_and_objects_intact(f):
    f.alive()
    eq(f.rows("PRAGMA integrity_check"), [("ok",)], "integrity_check")
    eq(f.rows("PRAGMA foreign_key_check"), [], "foreign_key_check")
    f.objects_ok()
    # every run, attempt and log row is whole: statuses agree, no attempt without its run
    eq(f.rows("SELECT count(*) FROM runs r WHERE status IN ('leased','running','cancelling') AND NOT EXISTS "
              "(SELECT 1 FROM run_attempts a WHERE a.run_id=r.id AND a.status IN ('leased','running','cancelling'))"),
       [(0,)], "active runs without an active attempt")
    eq(f.rows("SELECT count(*) FROM run_attempts a JOIN runs r ON r.id=a.run_id WHERE a.status IN "
              "('leased','running','cancelling') AND r.status NOT IN ('leased','running','cancelling')"),
       [(0,)], "active attempts of inactive runs")
    eq(f.rows("SELECT count(*) FROM teams t WHERE NOT EXISTS (SELECT 1 FROM team_tokens k WHERE k.team_id=t.id)"),
       [(0,)], "teams without a token")
    eq(f.rows("SELECT count(*) FROM run_logs WHERE instr(line, char(0)) > 0 OR seq < 1"), [(0,)], "bad log rows")
    # odd runner environments and app slugs still give a scrape Prometheus can parse
    m = f.req("GET", "/metrics", token=METRICS_TOKEN, expect=200)
    if shutil.which("promtool"):
        pt = subprocess.run(["promtool", "check", "metrics"], input=m.data, capture_output=True, timeout=60)
        check(pt.returncode in (0, 3), "promtool: %r" % pt.stderr[:500])
    f.summary("total")


def make_uidir():
    d = tempfile.mkdtemp(prefix="mt-fuzz-ui-")
    with open(os.path.join(d, "index.html"), "w") as fh:
        fh.write("<html>ui</html>\n")
    os.mkdir(os.path.join(d, "assets"))
    with open(os.path.join(d, "assets", "app.js"), "w") as fh:
        fh.write("console.log(1)\n")
    with open(os.path.join(d, "\u00fc.txt"), "w") as fh:
        fh.write("u\n")
    os.symlink("/etc/passwd", os.path.join(d, "escape"))
    os.symlink("/etc", os.path.join(d, "escdir"))
    return d


def main():
    uidir = make_uidir()
    env = {"MINITOWER_BOOTSTRAP_TOKEN": BOOT, "MINITOWER_METRICS_TOKEN": METRICS_TOKEN,
           "MINITOWER_EXPIRY_CHECK_INTERVAL": "0", "MINITOWER_LEASE_TTL": "2s",
           "MINITOWER_MAX_REQUEST_BODY_SIZE": str(BODY_LIMIT), "MINITOWER_MAX_ARTIFACT_SIZE": str(ART_LIMIT),
           "MINITOWER_UI_DIR": uidir, "MINITOWER_CORS_ORIGINS": "http://ui.example",
           "MINITOWER_LOGIN_FAILURES_PER_MINUTE": "0", "MINITOWER_SIGNUPS_PER_MINUTE": "0",
           "MINITOWER_ACCESS_LOG": "false", "MINITOWER_DB_SYNCHRONOUS": "normal"}
    if len(sys.argv) > 1:	# a developer's subset: test_malformed.py bodies paths ...
        keep = {"setup_world", "database_and_objects_intact"} | set(sys.argv[1:])
        tap.tests = [t for t in tap.tests if t.__name__ in keep]
    server = Server(env)
    fail = 0
    try:
        f = Fuzz(server, uidir)
        start = time.time()
        fail = tap.main(f)
        print("# %d requests in %.1f s" % (f.n, time.time() - start))
    finally:
        rc = server.stop()
        shutil.rmtree(uidir, ignore_errors=True)
    if rc not in (0, None):
        print("not ok - minitowerd exited with status %s" % rc)
        print("".join("# " + l for l in server.lines[-40:]))
        fail += 1
    sys.exit(1 if fail else 0)


if __name__ == "__main__":
    main()
