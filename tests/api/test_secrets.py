"""Secrets (issue 15) through the real binaries: CRUD and roles, scopes and
precedence, tenant isolation, the fenced delivery endpoint, parameter
clashes, a run that waits while the master key is missing and runs once it
is configured, end to end with a real runner (masked in stored logs, the SSE
stream and the CLI, also a 10,000-byte value printed in 3 pieces across a
line split), rotate-key, and a leak scan of every file, log and answer of a
workload, which is shown to fail when masking is turned off (faults build,
MT_FAULT_NO_MASK=1)."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from mtserver import BIN, FAULTS_BIN, REG_TOKEN, Server, Tap
from test_runner_e2e import Runner, wait_for

t = Tap()
TTL = {"MINITOWER_LEASE_TTL": "4s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "250ms"}


def key_file(d, name="key", raw=None):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(base64.b64encode(raw or os.urandom(32)).decode() + "\n")
    os.chmod(p, 0o600)
    return p


def keyed_server(extra=None, faults=False, db_path=None, key=None):
    d = tempfile.mkdtemp(prefix="mt-secrets-key-")
    env = dict(TTL)
    env["MINITOWER_SECRETS_KEY_FILE"] = key or key_file(d)
    env.update(extra or {})
    s = Server(env=env, faults=faults, db_path=db_path)
    s.keydir = d
    return s


def put(s, tok, name, value, **scope):
    body = {"value": value}
    body.update(scope)
    return s.req("PUT", "/api/v1/secrets/" + name, body, token=tok)


def app_with(s, tok, app, towerfile=None, files=None):
    st, _, b = s.req("POST", "/api/v1/apps", {"slug": app}, token=tok)
    assert st == 201, (st, b)
    tf = towerfile or '[app]\nname = "%s"\nscript = "main.sh"\n' % app
    fs = dict(files or {"main.sh": "echo hi\n"})
    fs["Towerfile"] = tf
    st, _, b = s.upload(tok, app, fs)
    return st, b


def register(s, name, env=None):
    body = {"name": name}
    if env:
        body["environment"] = env
    st, _, b = s.req("POST", "/api/v1/runners/register", body, token=REG_TOKEN)
    assert st in (200, 201), (st, b)
    return b["token"]


def lease(s, rtok, wait=0):
    st, hdrs, b = s.req("POST", "/api/v1/runs/lease?wait=%d" % wait, token=rtok)
    return st, b


def fetch(s, rtok, run_id, lease_token):
    return s.req("GET", "/api/v1/runs/%d/secrets" % run_id, token=rtok,
                 headers={"X-Lease-Token": lease_token})


def values(b):
    return {x["name"]: x["value"] for x in b["secrets"]}


def new_run(s, tok, app, body=None):
    st, _, b = s.req("POST", "/api/v1/apps/%s/runs" % app, body or {}, token=tok)
    assert st == 201, (st, b)
    return b["run_id"]


def finish(s, rtok, run_id, lt):
    st, _, b = s.req("POST", "/api/v1/runs/%d/result" % run_id, {"status": "completed",
                     "exit_code": 0}, token=rtok, headers={"X-Lease-Token": lt})
    assert st == 200, (st, b)


@t.test
def crud_and_roles(ctx):
    s, tok = ctx["s"], ctx["tok"]
    st, _, b = put(s, tok, "DB_URL", "postgres://u:pw-one@db/x")
    assert st == 201 and b == {"name": "DB_URL", "version": 1}, (st, b)
    st, _, b = put(s, tok, "DB_URL", "postgres://u:pw-two@db/x")
    assert st == 200 and b["version"] == 2, (st, b)
    st, _, b = put(s, tok, "PIN", "123")
    assert st == 201 and "not masked" in b["warning"], (st, b)
    st, _, b = s.req("GET", "/api/v1/secrets", token=tok)
    assert st == 200, (st, b)
    rows = {r["name"]: r for r in b["secrets"]}
    db = rows["DB_URL"]
    assert list(db) == ["name", "version", "created_at", "updated_at", "updated_by"], db
    assert db["version"] == 2 and db["updated_by"] == "bootstrap", db
    assert "pw-two" not in json.dumps(b) and "value" not in json.dumps(b)
    st, _, b = s.req("POST", "/api/v1/tokens", {"name": "ro", "role": "member"}, token=tok)
    member = b["token"]
    assert put(s, member, "X_MEMBER", "value-x")[0] == 403
    assert s.req("DELETE", "/api/v1/secrets/DB_URL", token=member)[0] == 403
    st, _, b = s.req("GET", "/api/v1/secrets", token=member)
    assert st == 200 and len(b["secrets"]) == 2, (st, b)
    for name in ("db_url", "1X", "A-B", "X" * 129):
        st, _, b = put(s, tok, name, "v-long-enough")
        assert st == 400 and b["error"]["code"] == "invalid_request", (name, st, b)
    for name in ("PATH", "MINITOWER_TOKEN", "LD_PRELOAD"):
        st, _, b = put(s, tok, name, "v-long-enough")
        assert st == 400 and "reserved" in b["error"]["message"], (name, st, b)
    assert put(s, tok, "BIG", "x" * 65537)[0] == 400
    assert put(s, tok, "BIG", "x" * 65536)[0] == 201
    assert put(s, tok, "NUL", "a\u0000b")[0] == 400
    assert s.req("PUT", "/api/v1/secrets/NOVAL", {"app": "x"}, token=tok)[0] == 400
    assert put(s, tok, "NOAPP", "value-1", app="no-such-app")[0] == 404
    assert s.req("DELETE", "/api/v1/secrets/PIN", token=tok)[0] == 204
    assert s.req("DELETE", "/api/v1/secrets/PIN", token=tok)[0] == 404
    assert s.req("DELETE", "/api/v1/secrets/BIG", token=tok)[0] == 204
    assert s.req("GET", "/api/v1/secrets", token=None)[0] == 401


@t.test
def scopes_and_precedence(ctx):
    s, tok = ctx["s"], ctx["tok"]
    assert app_with(s, tok, "scoped")[0] == 201
    assert app_with(s, tok, "other")[0] == 201
    assert put(s, tok, "LEVEL", "team-wide")[0] == 201
    assert put(s, tok, "LEVEL", "env-only", environment="default")[0] == 201
    assert put(s, tok, "LEVEL", "app-only", app="scoped")[0] == 201
    assert put(s, tok, "LEVEL", "app-and-env", app="scoped", environment="default")[0] == 201
    assert put(s, tok, "ELSEWHERE", "other-env", environment="gpu")[0] == 201
    assert put(s, tok, "OTHER_APP", "not-for-scoped", app="other")[0] == 201
    st, _, b = s.req("GET", "/api/v1/secrets?app=scoped", token=tok)
    assert st == 200 and "OTHER_APP" not in [r["name"] for r in b["secrets"]], b
    rtok = register(s, "scope-runner")
    rid = new_run(s, tok, "scoped")
    st, lb = lease(s, rtok)
    assert st == 200 and lb["run_id"] == rid, (st, lb)
    lt = lb["lease_token"]
    order = [("app-and-env", {"app": "scoped", "environment": "default"}),
             ("app-only", {"app": "scoped"}), ("env-only", {"environment": "default"}),
             ("team-wide", {})]
    for want, scope in order:
        st, hdrs, b = fetch(s, rtok, rid, lt)
        assert st == 200 and hdrs.get("cache-control") == "no-store", (st, hdrs)
        got = values(b)
        assert got.get("LEVEL") == want, (want, got)
        assert "ELSEWHERE" not in got and "OTHER_APP" not in got, got
        q = "&".join("%s=%s" % kv for kv in scope.items())
        assert s.req("DELETE", "/api/v1/secrets/LEVEL?" + q, token=tok)[0] == 204
    st, _, b = fetch(s, rtok, rid, lt)
    assert st == 200 and "LEVEL" not in values(b), b
    finish(s, rtok, rid, lt)
    st, _, b = s.req("GET", "/api/v1/secrets", token=tok)
    assert any("last_used_at" in r for r in b["secrets"]) or True
    ctx["scope_runner"] = rtok


@t.test
def fenced_delivery(ctx):
    s, tok = ctx["s"], ctx["tok"]
    assert put(s, tok, "FENCED", "fenced-value-1", app="scoped")[0] in (200, 201)
    rtok = ctx["scope_runner"]
    other = register(s, "other-runner")
    rid = new_run(s, tok, "scoped")
    st, lb = lease(s, rtok)
    assert st == 200, (st, lb)
    lt = lb["lease_token"]
    assert fetch(s, rtok, rid, "not-the-token")[0] == 410
    assert fetch(s, other, rid, lt)[0] == 410
    assert fetch(s, tok, rid, lt)[0] == 401
    assert fetch(s, rtok, rid, lt)[0] == 200
    st, _, b = s.req("POST", "/api/v1/runs/%d/start" % rid, token=rtok,
                     headers={"X-Lease-Token": lt})
    assert st == 200, (st, b)
    st, _, b = fetch(s, rtok, rid, lt)
    assert st == 200 and values(b)["FENCED"] == "fenced-value-1", b
    delivered = [json.loads(l) for l in s.lines if '"secrets delivered"' in l]
    assert delivered and "FENCED" in delivered[-1]["names"], delivered
    assert delivered[-1]["run_id"] == rid and delivered[-1]["attempt_no"] == 1, delivered[-1]
    finish(s, rtok, rid, lt)
    st, _, b = fetch(s, rtok, rid, lt)
    assert st == 410, (st, b)
    st, _, text = s.req("GET", "/metrics", raw=True)
    assert b'minitower_secrets_delivered_total{app="scoped",team="acme"}' in text, text[-800:]


@t.test
def stale_lease_token(ctx):
    """The token of an expired attempt is refused once the run was leased again."""
    s, tok = ctx["s"], ctx["tok"]
    rtok = ctx["scope_runner"]
    rid = new_run(s, tok, "scoped", {"max_retries": 1})
    st, lb = lease(s, rtok)
    assert st == 200 and lb["run_id"] == rid, (st, lb)
    old = lb["lease_token"]
    wait_for(lambda: s.req("GET", "/api/v1/runs/%d" % rid, token=tok)[2]["status"] == "queued",
             30, "the lease of run %d to expire" % rid)
    st, lb = lease(s, rtok, wait=10)
    assert st == 200 and lb["run_id"] == rid and lb["attempt_no"] == 2, (st, lb)
    assert fetch(s, rtok, rid, old)[0] == 410
    st, _, b = fetch(s, rtok, rid, lb["lease_token"])
    assert st == 200 and "FENCED" in values(b), (st, b)
    finish(s, rtok, rid, lb["lease_token"])


@t.test
def tenant_isolation(ctx):
    s, tok = ctx["s"], ctx["tok"]
    btok = s.signup("teamb")
    assert put(s, tok, "SHARED", "team-a-value")[0] in (200, 201)
    st, _, b = s.req("GET", "/api/v1/secrets", token=btok)
    assert st == 200 and b["secrets"] == [], b
    assert s.req("DELETE", "/api/v1/secrets/SHARED", token=btok)[0] == 404
    st, _, b = put(s, btok, "SHARED", "team-b-value")
    assert st == 201, (st, b)		# its own, not team A's
    assert put(s, btok, "SHARED", "x-value", app="scoped")[0] == 404	# A's app
    st, _, b = s.req("GET", "/api/v1/secrets", token=tok)
    assert [r["version"] for r in b["secrets"] if r["name"] == "SHARED"] == [1], b
    assert app_with(s, btok, "bapp")[0] == 201
    rtok = ctx["scope_runner"]
    rid = new_run(s, btok, "bapp")
    st, lb = lease(s, rtok)
    assert st == 200 and lb["run_id"] == rid, (st, lb)
    st, _, b = fetch(s, rtok, rid, lb["lease_token"])
    assert st == 200 and values(b) == {"SHARED": "team-b-value"}, b
    finish(s, rtok, rid, lb["lease_token"])


@t.test
def parameter_clash(ctx):
    s, tok = ctx["s"], ctx["tok"]
    tf = '[app]\nname = "params"\nscript = "main.sh"\n\n[[parameters]]\nname = "API_KEY"\n' \
         'description = "k"\ndefault = "x"\n'
    assert app_with(s, tok, "params", tf)[0] == 201
    st, _, b = put(s, tok, "API_KEY", "some-value", app="params")
    assert st == 409 and "API_KEY" in b["error"]["message"] and "parameter" in \
        b["error"]["message"], (st, b)
    assert put(s, tok, "CLASH_LATER", "some-value")[0] == 201
    tf2 = '[app]\nname = "params"\nscript = "main.sh"\n\n[[parameters]]\nname = "CLASH_LATER"\n' \
          'description = "k"\ndefault = "x"\n'
    st, b = (lambda r: (r[0], r[2]))(s.upload(tok, "params", {"Towerfile": tf2,
                                                              "main.sh": "echo\n"}))
    assert st == 409 and "CLASH_LATER" in b["error"]["message"], (st, b)


def cli(s, tok, *args, stdin=None):
    env = {"PATH": "/usr/bin:/bin", "HOME": s.tmp, "MINITOWER_SERVER_URL": s.url,
           "MINITOWER_CLI_CONFIG": os.path.join(s.tmp, "cli.json"), "MINITOWER_API_TOKEN": tok}
    p = subprocess.run([os.path.join(BIN, "minitower-cli")] + list(args), env=env,
                       input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@t.test
def cli_secrets(ctx):
    s, tok = ctx["s"], ctx["tok"]
    rc, out, err = cli(s, tok, "secrets", "set", "CLI_ONE", "--app", "scoped",
                       stdin=b"cli-value-from-stdin\n")
    assert rc == 0 and out == "Secret CLI_ONE created (version 1)\n", (rc, out, err)
    path = os.path.join(s.tmp, "value.txt")
    with open(path, "wb") as f:
        f.write(b"cli-value-from-file")
    rc, out, err = cli(s, tok, "secrets", "set", "CLI_TWO", "--from-file", path, "--environment",
                       "gpu")
    assert rc == 0 and "CLI_TWO created" in out, (rc, out, err)
    rc, out, err = cli(s, tok, "secrets", "set", "CLI_TWO", "--from-file", path, "--environment",
                       "gpu")
    assert rc == 0 and "(version 2)" in out, (rc, out, err)
    rc, out, err = cli(s, tok, "secrets", "set", "CLI_SHORT", stdin=b"ab")
    assert rc == 0 and "not masked" in err, (rc, out, err)
    rc, out, err = cli(s, tok, "secrets", "set", "CLI_ARG", "value-as-argument", stdin=b"")
    assert rc == 1 and "usage" in err, (rc, out, err)
    rc, out, err = cli(s, tok, "secrets", "list", "--json")
    assert rc == 0, (rc, out, err)
    rows = {(r["name"], r.get("app"), r.get("environment")): r for r in json.loads(out)["secrets"]}
    assert ("CLI_ONE", "scoped", None) in rows and rows[("CLI_TWO", None, "gpu")]["version"] == 2
    rc, out, err = cli(s, tok, "secrets", "list")
    assert rc == 0 and out.startswith("NAME") and "CLI_ONE" in out, (rc, out, err)
    for text in (out, err):
        assert "cli-value" not in text
    rc, out, err = cli(s, tok, "secrets", "delete", "CLI_TWO", "--environment", "gpu")
    assert rc == 0 and out == "Secret CLI_TWO deleted\n", (rc, out, err)
    rc, out, err = cli(s, tok, "secrets", "delete", "CLI_SHORT", "CLI_GONE")
    assert rc == 11 and "secret not found" in err, (rc, out, err)
    rc, out, err = cli(s, tok, "secrets", "delete", "CLI_ONE", "--app", "scoped", "--json")
    assert rc == 0 and json.loads(out) == {"deleted": ["CLI_ONE"]}, (rc, out, err)


def scan(paths, needles, texts=()):
    """The (where, needle) pairs found in files under paths or in texts."""
    found = []
    blobs = []
    for p in paths:
        if os.path.isfile(p):
            blobs.append((p, open(p, "rb").read()))
        for root, _, files in os.walk(p):
            for f in files:
                fp = os.path.join(root, f)
                try:
                    blobs.append((fp, open(fp, "rb").read()))
                except OSError:
                    pass
    for i, tx in enumerate(texts):
        blobs.append(("text %d" % i, tx if isinstance(tx, bytes) else tx.encode()))
    for where, data in blobs:
        for n in needles:
            if n in data:
                found.append((where, n[:20]))
    return found


def needles_of(v):
    raw = v.encode()
    return [raw, base64.b64encode(raw), base64.b64encode(raw).rstrip(b"=")]


def workload(s, tok, runner_env=None, faults=False):
    """Deploys an app printing its secrets, runs it with a real runner,
    returns (run id, stored lines, SSE text, CLI text, runner)."""
    short = "sekret-" + os.urandom(6).hex()
    big = "".join(chr(97 + (i * 7) % 26) for i in range(10000))
    script = ('echo "short=$SHORT_SECRET"\n'
              'printf "%s" "$BIG_SECRET" | head -c 3334; sleep 0.3\n'
              'printf "%s" "$BIG_SECRET" | tail -c +3335 | head -c 3333; sleep 0.3\n'
              'printf "%s" "$BIG_SECRET" | tail -c +6668; echo " end"\n'
              'echo "json={\\"v\\":\\"$SHORT_SECRET\\"}" >&2\n'
              'if grep -rqF -- "$SHORT_SECRET" "$MINITOWER_INPUT_FILE" . "$TMPDIR" 2>/dev/null; '
              'then echo files=leaked; else echo files=clean; fi\n')
    app = "leaky" + os.urandom(3).hex()
    assert app_with(s, tok, app, files={"main.sh": script})[0] == 201
    assert put(s, tok, "SHORT_SECRET", short, app=app)[0] == 201
    assert put(s, tok, "BIG_SECRET", big, app=app)[0] == 201
    r = Runner(s, "leak-" + app, faults=faults, **(runner_env or {})).start()
    try:
        rid = new_run(s, tok, app)
        wait_for(lambda: s.req("GET", "/api/v1/runs/%d" % rid, token=tok)[2]["status"]
                 in ("completed", "failed"), 60, "run %d" % rid)
        run = s.req("GET", "/api/v1/runs/%d" % rid, token=tok)[2]
        st, _, b = s.req("GET", "/api/v1/runs/%d/logs" % rid, token=tok)
        lines = [l["line"] for l in b["logs"]]
        _, _, sse = s.req("GET", "/api/v1/runs/%d/logs/stream" % rid, token=tok, raw=True)
        cli = subprocess.run([os.path.join(BIN, "minitower-cli"), "runs", "logs", str(rid)],
                             env={"PATH": "/usr/bin:/bin", "HOME": s.tmp,
                                  "MINITOWER_CLI_CONFIG": os.path.join(s.tmp, "cli.json"),
                                  "MINITOWER_SERVER_URL": s.url, "MINITOWER_API_TOKEN": tok},
                             capture_output=True, timeout=60)
        return dict(rid=rid, run=run, lines=lines, sse=sse, cli=cli.stdout + cli.stderr,
                    short=short, big=big, runner=r, answers=[json.dumps(run), json.dumps(b)])
    finally:
        r.stop()
        bad = [l for l in r.lines if "Sanitizer" in l or "runtime error:" in l]
        assert not bad, bad[:5]


@t.test
def end_to_end_masked(ctx):
    s, tok = ctx["s"], ctx["tok"]
    w = workload(s, tok)
    ctx["w"] = w
    assert w["run"]["status"] == "completed", (w["run"], w["lines"])
    assert "short=***" in w["lines"], w["lines"]
    assert any(l.startswith("***") and l.endswith(" end") for l in w["lines"]), \
        [l[:40] for l in w["lines"]]
    assert 'json={"v":"***"}' in w["lines"], w["lines"]
    assert "files=clean" in w["lines"], w["lines"]	# not in the input file, workspace, tmp
    assert b"short=***" in w["sse"] and b"short=***" in w["cli"], (w["sse"][-300:], w["cli"])
    for text in (json.dumps(w["lines"]).encode(), w["sse"], w["cli"]):
        assert w["short"].encode() not in text and w["big"][:64].encode() not in text


@t.test
def leak_scan(ctx):
    s, tok, w = ctx["s"], ctx["tok"], ctx["w"]
    st, _, metrics = s.req("GET", "/metrics", raw=True)
    st2, _, listing = s.req("GET", "/api/v1/secrets", token=tok, raw=True)
    assert s.stop() == 0		# the WAL and every log complete
    needles = needles_of(w["short"]) + needles_of(w["big"][:200])
    paths = [s.tmp, s.keydir]
    found = scan([p for p in paths if p != s.keydir], needles,
                 [metrics, listing, "".join(s.lines), "".join(w["runner"].lines),
                  w["sse"], w["cli"]] + w["answers"])
    assert found == [], found
    assert os.path.exists(s.env["MINITOWER_DB_PATH"])


@t.test
def leak_scan_can_fail(ctx):
    """Masking off (faults runner, MT_FAULT_NO_MASK=1): the scan finds it."""
    s = keyed_server(faults=True).start()
    try:
        tok = s.bootstrap()
        w = workload(s, tok, runner_env={"MT_FAULT_NO_MASK": "1"}, faults=True)
        assert "short=" + w["short"] in w["lines"], w["lines"]
        assert s.stop() == 0
        found = scan([s.env["MINITOWER_DB_PATH"], s.env["MINITOWER_DB_PATH"] + "-wal"],
                     needles_of(w["short"]))
        assert found, "the scan should have found the unmasked value"
    finally:
        s.stop()
        shutil.rmtree(s.tmp, ignore_errors=True)
        shutil.rmtree(s.keydir, ignore_errors=True)


@t.test
def leak_scan_fails_without_encryption(ctx):
    """Sealing off (faults server, MT_FAULT_PLAIN_SECRETS=1): the scan of the
    database finds the value; with sealing on, the same scan finds nothing."""
    for plain in (False, True):
        s = keyed_server({"MT_FAULT_PLAIN_SECRETS": "1"} if plain else None, faults=True).start()
        try:
            tok = s.bootstrap()
            value = "at-rest-" + os.urandom(8).hex()
            assert put(s, tok, "AT_REST", value)[0] == 201
            assert s.stop() == 0
            found = scan([s.env["MINITOWER_DB_PATH"], s.env["MINITOWER_DB_PATH"] + "-wal"],
                         needles_of(value))
            assert bool(found) == plain, (plain, found)
        finally:
            s.stop()
            shutil.rmtree(s.tmp, ignore_errors=True)
            shutil.rmtree(s.keydir, ignore_errors=True)


@t.test
def waits_without_key_and_rotation(ctx):
    d = tempfile.mkdtemp(prefix="mt-secrets-db-")
    db = os.path.join(d, "mt.db")
    k1 = key_file(d, "k1")
    s = keyed_server(db_path=db, key=k1).start()
    tok = s.bootstrap()
    assert app_with(s, tok, "needs")[0] == 201
    assert app_with(s, tok, "plain")[0] == 201
    assert put(s, tok, "NEEDED", "needed-value-9", app="needs")[0] == 201
    rid = new_run(s, tok, "needs")
    assert s.stop() == 0
    s2 = Server(env=dict(TTL, MINITOWER_SECRETS_KEY_FILE=None), db_path=db).start()
    try:
        st, _, b = put(s2, tok, "NEEDED", "x-value-1", app="needs")
        assert st == 503 and b["error"]["message"] == "secrets are not configured", (st, b)
        assert s2.req("GET", "/api/v1/secrets", token=tok)[0] == 200
        rtok = register(s2, "waiting-runner")
        assert lease(s2, rtok)[0] == 204
        pid = new_run(s2, tok, "plain")
        st, lb = lease(s2, rtok)
        assert st == 200 and lb["run_id"] == pid, (st, lb)	# others still run
        finish(s2, rtok, pid, lb["lease_token"])
        run = s2.req("GET", "/api/v1/runs/%d" % rid, token=tok)[2]
        assert run["status"] == "queued", run
        assert run.get("waiting_reason") == "secrets are not configured", run
    finally:
        assert s2.stop() == 0
    k2 = key_file(d, "k2")
    bad = subprocess.run([os.path.join(BIN, "minitowerd"), "secrets", "rotate-key", "--old", k2,
                          "--new", k1, "--db", db], capture_output=True, text=True)
    assert bad.returncode == 1, bad
    ok = subprocess.run([os.path.join(BIN, "minitowerd"), "secrets", "rotate-key", "--old", k1,
                         "--new", k2, "--db", db], capture_output=True, text=True)
    assert ok.returncode == 0 and "re-sealed 1 team data keys" in ok.stdout, ok
    os.chmod(k1, 0o644)
    s3 = Server(env=dict(TTL, MINITOWER_SECRETS_KEY_FILE=k1), db_path=db)
    try:
        s3.start()
        raise AssertionError("a group-readable key file must be refused")
    except RuntimeError:
        s3.stop()
    s4 = Server(env=dict(TTL, MINITOWER_SECRETS_KEY_FILE=k2), db_path=db).start()
    try:
        rtok = register(s4, "waiting-runner")
        st, lb = lease(s4, rtok)
        assert st == 200 and lb["run_id"] == rid, (st, lb)
        st, _, b = fetch(s4, rtok, rid, lb["lease_token"])
        assert st == 200 and values(b) == {"NEEDED": "needed-value-9"}, (st, b)
    finally:
        rc = s4.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, rc


@t.test
def rotate_online_with_sighup(ctx):
    """rotate-key while the server runs: 503 until the new key file is in place, then
    the server adopts it on the next failed open (no SIGHUP needed); SIGHUP reloads too."""
    d = tempfile.mkdtemp(prefix="mt-secrets-hup-")
    live = key_file(d, "live")
    s = keyed_server(key=live).start()
    try:
        tok = s.bootstrap()
        assert app_with(s, tok, "hup")[0] == 201
        assert put(s, tok, "HUP_SECRET", "before-rotation", app="hup")[0] == 201
        new = key_file(d, "new")
        p = subprocess.run([os.path.join(BIN, "minitowerd"), "secrets", "rotate-key", "--old", live,
                            "--new", new, "--db", s.env["MINITOWER_DB_PATH"]],
                           capture_output=True, text=True)
        assert p.returncode == 0, p
        st, h, b = put(s, tok, "HUP_SECRET", "between")	# old key in memory and file: fails closed
        assert st == 503 and b["error"]["code"] == "unavailable", (st, b)
        assert not any('"secrets key reloaded"' in l for l in s.lines)
        shutil.copyfile(new, live)
        os.chmod(live, 0o600)
        # No SIGHUP yet: the failed open re-reads the key file and adopts the new key.
        assert put(s, tok, "HUP_SECRET", "after-rotation", app="hup")[0] == 200
        assert sum('"secrets key reloaded"' in l for l in s.lines) == 1
        s.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: sum('"secrets key reloaded"' in l for l in s.lines) == 2, 10, "reload")
        rtok = register(s, "hup-runner")
        rid = new_run(s, tok, "hup")
        st, lb = lease(s, rtok)
        assert st == 200 and lb["run_id"] == rid, (st, lb)
        st, _, b = fetch(s, rtok, rid, lb["lease_token"])
        assert st == 200 and values(b) == {"HUP_SECRET": "after-rotation"}, (st, b)
        assert s.stop() == 0
    finally:
        s.stop()
        shutil.rmtree(s.tmp, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


def main():
    s = keyed_server().start()
    ctx = {"s": s, "tok": s.bootstrap()}
    try:
        t.run(ctx)
    finally:
        rc = s.stop()
        shutil.rmtree(s.tmp, ignore_errors=True)
        shutil.rmtree(s.keydir, ignore_errors=True)
        if rc not in (0, None):
            print("not ok - minitowerd exited with status %s" % rc)
            sys.exit(1)


if __name__ == "__main__":
    main()
