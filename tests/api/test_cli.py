"""minitower-cli against a real minitowerd (cli.md): every command's output
and exit code, error paths, profiles, packaging, and following runs over the
event stream. Runs are driven by a small fake runner speaking the runner
protocol (api.md §1.8), so these tests do not need bin/minitower-runner.
Prints TAP; exits non-zero on failure."""
import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

from mtserver import BIN, REG_TOKEN, Server, make_tgz

CLI = os.path.join(BIN, "minitower-cli")
PASSWORD = "pw-secret-1"


class Skip(Exception):
    pass


class Env:
    """One team on the shared server and a private CLI config file."""

    def __init__(self, s, slug):
        self.s = s
        self.slug = slug
        self.dir = tempfile.mkdtemp(prefix="mt-cli-")
        self.cfg = os.path.join(self.dir, "cfg", "config.json")
        self.token = s.signup(slug, PASSWORD)

    def run(self, *args, stdin=None, env=None, cwd=None, timeout=120, token=True):
        """Runs the CLI; returns (rc, stdout, stderr)."""
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MINITOWER_CLI_CONFIG": self.cfg,
             "HOME": self.dir}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if token:
            e["MINITOWER_SERVER_URL"] = self.s.url
            e["MINITOWER_API_TOKEN"] = self.token
        e.update(env or {})
        p = subprocess.run([CLI] + list(args), input=stdin, capture_output=True, text=True,
                           env=e, cwd=cwd or self.dir, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def popen(self, *args):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MINITOWER_CLI_CONFIG": self.cfg,
             "HOME": self.dir, "MINITOWER_SERVER_URL": self.s.url, "MINITOWER_API_TOKEN": self.token}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        return subprocess.Popen([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=e, cwd=self.dir)

    def project(self, name, files):
        d = os.path.join(self.dir, name)
        for rel, content in files.items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(content)
        return d

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def towerfile(name, script="main.py", extra=""):
    return '[app]\nname = "%s"\nscript = "%s"\n%s' % (name, script, extra)


SANDBOXED = '[app.sandbox]\nnetwork = false\nwritable_paths = ["/srv/cache"]\n[app.resources]\nmemory_mb = 64\ncpus = 1.0\n'
MAIN = "import os\nprint('Hello, %s!' % os.environ.get('name', 'World'))\n"
PARAMS = """
[[parameters]]
name = "name"
description = "Who to greet"
default = "World"

[[parameters]]
name = "count"
description = "How many"
type = "integer"
default = 1

[[parameters]]
name = "ratio"
description = "A number"
type = "number"
default = 0.5

[[parameters]]
name = "loud"
description = "A flag"
type = "boolean"
default = false
"""


def expect(res, rc, out=None, err=None):
    got_rc, got_out, got_err = res
    assert got_rc == rc, "rc %r != %r\nstdout: %s\nstderr: %s" % (got_rc, rc, got_out, got_err)
    if out is not None:
        assert re.search(out, got_out, re.M), "stdout %r does not match %r" % (got_out, out)
    if err is not None:
        assert re.search(err, got_err, re.M), "stderr %r does not match %r" % (got_err, err)
    return got_out, got_err


def deploy_app(e, name, extra=PARAMS):
    d = e.project(name, {"main.py": MAIN, "Towerfile": towerfile(name, extra=extra)})
    expect(e.run("deploy", "--dir", d), 0)
    return d


# ---- fake runner (api.md §1.8) ----

class FakeRunner:
    def __init__(self, s, name):
        self.s = s
        st, _, b = s.req("POST", "/api/v1/runners/register", {"name": name}, token=REG_TOKEN)
        assert st in (200, 201), (st, b)
        self.token = b["token"]
        self.lease_token = None
        self.run_id = None

    def lease(self, run_id=None, tries=10):
        for _ in range(tries):
            st, _, b = self.s.req("POST", "/api/v1/runs/lease?wait=5", token=self.token, timeout=30)
            if st == 200:
                assert run_id is None or b["run_id"] == run_id, ("leased another run", b, run_id)
                self.lease_token, self.run_id = b["lease_token"], b["run_id"]
                return b
            assert st == 204, (st, b)
        raise AssertionError("no run to lease")

    def call(self, path, body=None):
        st, _, b = self.s.req("POST", "/api/v1/runs/%d/%s" % (self.run_id, path), body, token=self.token,
                              headers={"X-Lease-Token": self.lease_token})
        return st, b

    def start(self):
        st, b = self.call("start")
        assert st == 200, (st, b)

    def logs(self, lines, first_seq=1):
        entries = [{"seq": first_seq + i, "stream": stream, "line": line,
                    "logged_at": "2026-11-27T03:04:05.000Z"} for i, (stream, line) in enumerate(lines)]
        st, b = self.call("logs", {"logs": entries})
        assert st == 200, (st, b)

    def result(self, status, exit_code=0):
        return self.call("result", {"status": status, "exit_code": exit_code})


def runs_api(s, e):
    """Skips the test while minitowerd does not serve runs yet."""
    st, _, b = s.req("GET", "/api/v1/runs", token=e.token)
    if st == 404:
        raise Skip("runs API not available in this minitowerd")


def wait(p, timeout=90):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("CLI did not exit; stdout=%r stderr=%r" % (out, err))
    return p.returncode, out, err


# ---- tests ----

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def root_usage_and_unknown_commands(s):
    e = Env(s, "cli-root")
    rc, out, err = e.run()
    assert rc == 1 and out == "" and err.startswith("usage: minitower-cli <command> [args]\n"), (rc, out, err)
    for h in ("help", "-h", "--help"):
        rc, out, err = e.run(h)
        assert rc == 0 and out.startswith("usage: minitower-cli <command> [args]\n") and err == ""
        assert "  runs <create|list|get|cancel|retry|watch|logs>\n" in out
    out, err = expect(e.run("--json", "apps", "list"), 1)
    assert err.startswith("usage: minitower-cli") and err.endswith("error: unknown command: --json\n"), err
    expect(e.run("bogus"), 1, err=r"^error: unknown command: bogus$")
    e.close()


@test
def group_usage_and_unknown_subcommands(s):
    e = Env(s, "cli-groups")
    for args in (["config"], ["config", "-h"]):
        rc, out, err = e.run(*args)
        assert rc == 1 and err == "usage: minitower-cli config <set|get|list|use> ...\n", err
    for group, usage in (("apps", "apps <list|get|create> ..."), ("versions", "versions <list|get|upload> ..."),
                         ("runs", "runs <create|list|get|cancel|retry|watch|logs> ..."),
                         ("tokens", "tokens <create|list|revoke> ..."), ("runners", "runners list")):
        rc, out, err = e.run(group)
        assert rc == 1 and err == "error: usage: minitower-cli %s\n" % usage, (group, err)
        rc, out, err = e.run(group, "nope")
        assert rc == 1 and err == "error: unknown %s subcommand: nope\n" % group, (group, err)
        rc, out, err = e.run(group, "--help")
        assert rc == 1 and err == "usage: minitower-cli %s\n" % usage, (group, err)
    e.close()


@test
def flag_parsing(s):
    e = Env(s, "cli-flags")
    out, err = expect(e.run("apps", "list", "--bogus"), 1)
    assert "usage: minitower-cli apps list" in err and err.endswith("error: flag provided but not defined: -bogus\n")
    expect(e.run("runs", "list", "--limit"), 1, err=r"^error: flag needs an argument: -limit$")
    expect(e.run("runs", "list", "--limit", "x"), 1, err=r'^error: invalid value "x" for flag -limit: ')
    expect(e.run("apps", "list", "--json=maybe"), 1, err=r'^error: invalid value "maybe" for flag -json: ')
    expect(e.run("runs", "watch", "--interval=soon"), 1, err=r'^error: invalid value "soon" for flag -interval: ')
    rc, out, err = e.run("apps", "list", "-h")
    assert rc == 1 and "usage: minitower-cli apps list" in err and "-json" in err and "error:" not in err
    rc, out, err = e.run("deploy", "--help")
    assert rc == 1 and "-dir" in err
    expect(e.run("me", "extra", "args"), 1, err=r"^error: unexpected arguments: extra args$")
    # flags before, between and after positionals; -x and --x; --x=v; "--" ends flags
    expect(e.run("apps", "create", "flagapp", "-description", "d"), 0)
    expect(e.run("apps", "get", "--json", "flagapp"), 0, out=r'"slug": "flagapp"')
    expect(e.run("apps", "get", "flagapp", "-json=true"), 0, out=r'^\{$')
    expect(e.run("apps", "get", "flagapp", "--json=false"), 0, out=r"^APP_ID\s+SLUG")
    expect(e.run("apps", "get", "--", "--json"), 11, err=r"^error: app not found$")
    # a non-boolean flag takes the next argument even when it starts with "-"
    expect(e.run("apps", "create", "--description", "-dash-", "dashapp"), 0)
    st, _, b = s.req("GET", "/api/v1/apps/dashapp", token=e.token)
    assert b["description"] == "-dash-", b
    # "--json false" does not clear the flag: "false" is a positional
    expect(e.run("me", "--json", "false"), 1, err=r"^error: unexpected arguments: false$")
    e.close()


@test
def config_commands_and_file_format(s):
    e = Env(s, "cli-config")
    expect(e.run("config", "set"), 1,
           err=r"^error: no changes provided \(set one of: --server --token --team --app\)$")
    expect(e.run("config", "get", token=False), 1, err=r"^error: no profile configured$")
    expect(e.run("config", "list", token=False), 0, out=r"^No profiles configured\.$")
    expect(e.run("config", "set", "--server", " http://a:1 ", "--token", "mtk_secret1", "--team", "t1"), 0,
           out=r'^Profile "default" updated$')
    st = os.stat(e.cfg)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert stat.S_IMODE(os.stat(os.path.dirname(e.cfg)).st_mode) == 0o700
    with open(e.cfg) as f:
        text = f.read()
    assert text == ('{\n  "current_profile": "default",\n  "profiles": {\n    "default": {\n'
                    '      "server": "http://a:1",\n      "token": "mtk_secret1",\n      "team": "t1"\n'
                    '    }\n  }\n}\n'), text
    out, _ = expect(e.run("config", "set", "--profile", "b", "--app", "x", "--token", "mtk_secret2", "--json"), 0)
    assert json.loads(out) == {"config": {"app": "x"}, "profile": "b"} and "mtk_" not in out, out
    out, _ = expect(e.run("config", "get"), 0)
    assert out == ("Profile: default\nCurrent: true\nServer: http://a:1\nTeam: t1\nDefault App: \n"
                   "Token: set\n"), out
    out, _ = expect(e.run("config", "get", "--profile", "b", "--show-token"), 0)
    assert "Current:" not in out and "Token: mtk_secret2\n" in out, out
    out, _ = expect(e.run("config", "get", "--json"), 0)
    assert json.loads(out) == {"config": {"server": "http://a:1", "team": "t1", "token": "set"},
                               "current_profile": "default", "is_current": True, "profile": "default"}
    assert list(json.loads(out)) == ["config", "current_profile", "is_current", "profile"]
    out, _ = expect(e.run("config", "list"), 0)
    lines = out.splitlines()
    assert re.match(r"^CURRENT  PROFILE  SERVER +TEAM  APP  TOKEN$", lines[0]), lines
    assert re.match(r"^\*        b        +x    set$", lines[1]) is None and lines[1].split()[:1] == ["b"], lines
    assert lines[2].split() == ["*", "default", "http://a:1", "t1", "set"], lines
    assert "mtk_" not in out
    out, _ = expect(e.run("config", "list", "--json", "--show-token"), 0)
    doc = json.loads(out)
    assert doc["current_profile"] == "default" and [p["name"] for p in doc["profiles"]] == ["b", "default"]
    assert doc["profiles"][1]["config"]["token"] == "mtk_secret1" and doc["profiles"][1]["is_current"]
    out, _ = expect(e.run("config", "list", "--json"), 0)
    assert "mtk_" not in out
    expect(e.run("config", "use"), 1, err=r"^error: usage: minitower-cli config use <profile>$")
    expect(e.run("config", "use", "zzz"), 1, err=r'^error: profile "zzz" not found$')
    expect(e.run("config", "use", "b"), 0, out=r'^Current profile set to "b"$')
    expect(e.run("config", "get"), 0, out=r"^Profile: b\nCurrent: true")
    expect(e.run("me", "--profile", "nope", token=False), 1, err=r'^error: profile "nope" not found$')
    e.close()


@test
def config_file_errors_and_locations(s):
    e = Env(s, "cli-cfgerr")
    os.makedirs(os.path.dirname(e.cfg))
    with open(e.cfg, "w") as f:
        f.write("{not json")
    expect(e.run("config", "list"), 1, err=r"^error: parse config file: ")
    os.unlink(e.cfg)
    os.mkdir(e.cfg)
    expect(e.run("config", "list"), 1, err=r"^error: read config file: ")
    # XDG_CONFIG_HOME, then HOME
    env = {"MINITOWER_CLI_CONFIG": " ", "XDG_CONFIG_HOME": os.path.join(e.dir, "xdg")}
    expect(e.run("config", "set", "--app", "a", env=env), 0)
    assert os.path.isfile(os.path.join(e.dir, "xdg", "minitower-cli", "config.json"))
    env = {"MINITOWER_CLI_CONFIG": "", "XDG_CONFIG_HOME": ""}
    expect(e.run("config", "set", "--app", "b", env=env), 0)
    assert os.path.isfile(os.path.join(e.dir, ".config", "minitower-cli", "config.json"))
    e.close()


@test
def connection_precedence(s):
    e = Env(s, "cli-prec")
    expect(e.run("me", token=False), 1,
           err=r"^error: server URL is required \(--server, MINITOWER_SERVER_URL, or config profile\)$")
    expect(e.run("me", "--server", s.url, token=False), 1,
           err=r"^error: API token is required \(--token, MINITOWER_API_TOKEN, or config profile\)$")
    # profile values are used, environment beats profile, flags beat environment
    expect(e.run("config", "set", "--server", "http://127.0.0.1:1/", "--token", "mtk_bad", token=False), 0)
    expect(e.run("me", token=False), 1, err=r"^error: ")
    expect(e.run("me", env={"MINITOWER_SERVER_URL": s.url + "//"}, token=False), 10,
           err=r"^error: invalid or missing token$")
    expect(e.run("me", env={"MINITOWER_SERVER_URL": s.url, "MINITOWER_API_TOKEN": e.token}, token=False), 0,
           out=r"^Team: cli-prec \(id=\d+\)$")
    expect(e.run("me", "--server", s.url, "--token", e.token,
                 env={"MINITOWER_SERVER_URL": "http://127.0.0.1:1", "MINITOWER_API_TOKEN": "mtk_x"}), 0)
    e.close()


@test
def login_and_me(s):
    e = Env(s, "cli-login")
    base = ["login", "--server", s.url, "--team", "cli-login"]
    expect(e.run(*base, "--password-stdin", stdin="wrong\n"), 10, err=r"^error: invalid slug or password$")
    expect(e.run(*base, "--password", "x", "--password-stdin"), 1,
           err=r"^error: --password and --password-stdin cannot be used together$")
    expect(e.run(*base, "--password-stdin", stdin="\n"), 1, err=r"^error: password is required$")
    expect(e.run("login", "--team", "x", token=False), 1,
           err=r"^error: server URL is required \(--server or MINITOWER_SERVER_URL\)$")
    expect(e.run("login", "--server", s.url, token=False), 1, err=r"^error: team slug is required \(--team\)$")
    out, err = expect(e.run(*base, "--password-stdin", stdin=PASSWORD + "\r\n", token=False), 0)
    assert out == 'Logged in as team "cli-login" (role: admin)\nProfile "default" updated\n', out
    assert "Password" not in err
    with open(e.cfg) as f:
        cfg = json.load(f)
    assert cfg["current_profile"] == "default"
    prof = cfg["profiles"]["default"]
    assert prof["server"] == s.url and prof["team"] == "cli-login" and prof["token"].startswith("mtk_")
    out, _ = expect(e.run("me", token=False), 0)
    assert re.fullmatch(r"Team: cli-login \(id=\d+\)\nToken ID: \d+\nRole: admin\n", out), out
    out, _ = expect(e.run("me", "--json", token=False), 0)
    assert list(json.loads(out)) == ["team_id", "team_slug", "token_id", "role"] and out.startswith('{\n  "team_id": ')
    # a second profile, login --json (the one place a login prints the token), team taken from the profile
    expect(e.run("config", "set", "--profile", "p2", "--team", "cli-login", "--server", s.url, token=False), 0)
    out, _ = expect(e.run("login", "--profile", "p2", "--password", PASSWORD, "--json", token=False), 0)
    doc = json.loads(out)
    assert list(doc) == ["login", "profile"] and doc["profile"] == "p2", doc
    assert list(doc["login"]) == ["team_id", "token", "token_id", "role"] and doc["login"]["token"].startswith("mtk_")
    e.close()


@test
def login_password_kept_as_typed_and_prompt(s):
    e = Env(s, "cli-pw")
    st, _, b = s.req("POST", "/api/v1/teams/signup", {"slug": "cli-pw-sp", "name": "x", "password": " sp ace "})
    assert st == 201, b
    base = ["login", "--server", s.url, "--team", "cli-pw-sp"]
    expect(e.run(*base, "--password-stdin", stdin="sp ace\n", token=False), 10)
    expect(e.run(*base, "--password-stdin", stdin=" sp ace \n", token=False), 0)
    # without a terminal the prompt still goes to stderr and one line is read
    out, err = expect(e.run(*base, stdin=" sp ace \nignored\n", token=False), 0)
    assert err == "Password: ", repr(err)
    e.close()


@test
def login_prompt_on_terminal_does_not_echo(s):
    e = Env(s, "cli-tty")
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"MINITOWER_CLI_CONFIG": e.cfg, "HOME": e.dir})
        os.execv(CLI, [CLI, "login", "--server", s.url, "--team", "cli-tty"])
    buf = b""

    def read_until(pat, limit=30):
        nonlocal buf
        end = time.time() + limit
        while pat not in buf and time.time() < end:
            r, _, _ = select.select([fd], [], [], 1)
            if r:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
        return pat in buf

    assert read_until(b"Password: "), buf
    os.write(fd, (PASSWORD + "\n").encode())
    read_until(b"Profile \"default\" updated")
    status = None
    for _ in range(300):
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        time.sleep(0.1)
    os.close(fd)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError("login did not finish: %r" % buf)
    assert os.WEXITSTATUS(status) == 0, (status, buf)
    assert PASSWORD.encode() not in buf, buf
    assert b"Logged in as team \"cli-tty\"" in buf, buf
    e.close()


@test
def apps_commands(s):
    e = Env(s, "cli-apps")
    expect(e.run("apps", "create"), 1, err=r"^error: usage: minitower-cli apps create <slug> \[--description TEXT\]$")
    expect(e.run("apps", "create", "a1", "--slug", "a2"), 1, err=r"^error: unexpected arguments: a1$")
    expect(e.run("apps", "create", "a1", "a2"), 1, err=r"^error: unexpected arguments: a2$")
    expect(e.run("apps", "create", "alpha", "--description", "  first app  "), 0, out=r'^App "alpha" created \(id=\d+\)$')
    expect(e.run("apps", "create", "--slug", "beta"), 0)
    expect(e.run("apps", "create", "alpha"), 12, err=r"^error: app slug already exists$")
    expect(e.run("apps", "create", "Bad_Slug"), 1, err=r"^error: slug must start with a letter")
    st, _, b = s.req("GET", "/api/v1/apps/alpha", token=e.token)
    assert b["description"] == "first app", b
    st, _, b = s.req("GET", "/api/v1/apps/beta", token=e.token)
    assert "description" not in b, b
    out, _ = expect(e.run("apps", "list"), 0)
    lines = out.splitlines()
    assert re.match(r"^APP_ID  SLUG   DISABLED  DESCRIPTION  UPDATED_AT$", lines[0]), lines
    assert re.match(r"^\d+\s+alpha  false     first app    \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", lines[1]), lines
    assert re.match(r"^\d+\s+beta   false\s+\d{4}-", lines[2]), lines
    out, _ = expect(e.run("apps", "list", "--json"), 0)
    raw = s.req("GET", "/api/v1/apps", token=e.token, raw=True)[2].decode()
    assert json.loads(out) == json.loads(raw) and out.startswith('{\n  "apps": [\n    {\n      "app_id": ')
    expect(e.run("apps", "get"), 1, err=r"^error: usage: minitower-cli apps get <app>$")
    expect(e.run("apps", "get", "nope"), 11, err=r"^error: app not found$")
    out, _ = expect(e.run("apps", "get", "alpha"), 0)
    assert len(out.splitlines()) == 2 and "alpha" in out
    e.close()


@test
def versions_commands(s):
    e = Env(s, "cli-versions")
    expect(e.run("versions", "list"), 1, err=r"^error: app is required \(--app or profile default app\)$")
    expect(e.run("apps", "create", "vapp"), 0)
    art = os.path.join(e.dir, "my-art.tar.gz")
    with open(art, "wb") as f:
        f.write(make_tgz({"Towerfile": towerfile("vapp"), "main.py": MAIN}))
    expect(e.run("versions", "upload", "--app", "vapp"), 1, err=r"^error: --file is required$")
    expect(e.run("versions", "upload", "--app", "vapp", "--file", art + ".missing"), 1, err=r"^error: read artifact: ")
    expect(e.run("versions", "upload", "--app", "nope", "--file", art), 11, err=r"^error: app not found$")
    out, _ = expect(e.run("versions", "upload", "--app", "vapp", "--file", art), 0)
    m = re.fullmatch(r'Uploaded version 1 for app "vapp" \(sha256:([0-9a-f]{12})\)\n', out)
    assert m, out
    out, _ = expect(e.run("versions", "upload", "--app", "vapp", "--file", art, "--json"), 0)
    v2 = json.loads(out)
    assert v2["version_no"] == 2 and v2["artifact_sha256"].startswith(m.group(1))
    # the server saw the file's own name (multipart filename)
    bad = os.path.join(e.dir, "bad.tar.gz")
    with open(bad, "wb") as f:
        f.write(b"not gzip")
    expect(e.run("versions", "upload", "--app", "vapp", "--file", bad), 1,
           err=r"^error: artifact is not a valid gzip archive$")
    out, _ = expect(e.run("versions", "list", "--app", "vapp"), 0)
    lines = out.splitlines()
    assert re.match(r"^VERSION_NO  VERSION_ID  ENTRYPOINT  SHA256        CREATED_AT$", lines[0]), lines
    assert lines[1].split()[0] == "2" and lines[2].split()[0] == "1" and lines[1].split()[3] == m.group(1)
    expect(e.run("config", "set", "--app", "vapp"), 0)
    out, _ = expect(e.run("versions", "get", "1"), 0)
    assert len(out.splitlines()) == 2 and out.splitlines()[1].split()[0] == "1", out
    out, _ = expect(e.run("versions", "get", "2", "--json"), 0)
    raw = s.req("GET", "/api/v1/apps/vapp/versions", token=e.token)[2]["versions"][0]
    assert json.loads(out) == raw and list(json.loads(out)) == list(raw)
    expect(e.run("versions", "get", "9"), 11, err=r"^error: version 9 not found$")
    expect(e.run("versions", "get", "0"), 1, err=r"^error: version number must be a positive integer$")
    expect(e.run("versions", "get"), 1, err=r"^error: usage: minitower-cli versions get <version-no> --app <app>$")
    e.close()


@test
def deploy_packages_and_uploads(s):
    e = Env(s, "cli-deploy")
    d = e.project("proj", {"main.py": MAIN, "lib/util.py": "X = 1\n", ".env": "SECRET=1\n",
                           "Towerfile": towerfile("deployed", extra=PARAMS)})
    out, _ = expect(e.run("deploy", "--dir", d), 0)
    m = re.fullmatch(r'Deploying app "deployed" from %s\nArtifact packaged \((\d+) bytes, sha256:([0-9a-f]{12})\)\n'
                     r'Version 1 created \(sha256:([0-9a-f]{12})\)\n' % re.escape(d), out)
    assert m and m.group(2) == m.group(3), out
    st, _, app = s.req("GET", "/api/v1/apps/deployed", token=e.token)
    assert st == 200, app
    # deploying an unchanged tree again gives the same SHA-256; --json keys in the CLI's order
    os.utime(os.path.join(d, "main.py"), (1, 1))
    out, _ = expect(e.run("deploy", "--dir", d, "--json"), 0)
    doc = json.loads(out)
    assert list(doc) == ["app_slug", "artifact_bytes", "packaged_sha256", "version"], doc
    assert doc["app_slug"] == "deployed" and doc["artifact_bytes"] == int(m.group(1))
    assert doc["packaged_sha256"].startswith(m.group(2)) and doc["version"]["artifact_sha256"] == doc["packaged_sha256"]
    assert doc["version"]["version_no"] == 2 and list(doc["version"])[:2] == ["version_id", "version_no"]
    # the archive: sorted entries, hidden files left out, the Towerfile once
    st, _, b = s.req("GET", "/api/v1/apps/deployed/versions", token=e.token)
    assert b["versions"][0]["params_schema"]["properties"]["count"]["type"] == "integer"
    # deploy from the current directory (default --dir)
    expect(e.run("deploy", cwd=d), 0, out=r'^Deploying app "deployed" from \.$')
    e.close()


@test
def deploy_errors(s):
    e = Env(s, "cli-deperr")
    empty = e.project("empty", {"main.py": MAIN})
    expect(e.run("deploy", "--dir", empty), 1, err=r"^error: cannot open Towerfile: ")
    bad = e.project("bad", {"main.py": MAIN, "Towerfile": "[app\n"})
    expect(e.run("deploy", "--dir", bad), 1, err=r"^error: parsing Towerfile: parsing towerfile: ")
    inval = e.project("inval", {"main.py": MAIN, "Towerfile": '[app]\nname = "x"\n'})
    expect(e.run("deploy", "--dir", inval), 1, err=r"^error: validating Towerfile: ")
    lim = e.project("lim", {"main.py": MAIN, "Towerfile": towerfile("lim", extra="[app.resources]\nmemory_mb = 0\n")})
    expect(e.run("deploy", "--dir", lim), 1,
           err=r"^error: validating Towerfile: app\.resources\.memory_mb must be an integer between 4 and 1048576, got 0$")
    net = e.project("net", {"main.py": MAIN, "Towerfile": towerfile("net", extra='[app.sandbox]\nnetwork = "yes"\n')})
    expect(e.run("deploy", "--dir", net), 1,
           err=r"^error: parsing Towerfile: parsing towerfile: line 5: app\.sandbox\.network must be a boolean, got string$")
    wp = e.project("wpx", {"main.py": MAIN, "Towerfile": towerfile("wpx", extra='[app.sandbox]\nwritable_paths = ["/proc"]\n')})
    expect(e.run("deploy", "--dir", wp), 1,
           err=r'^error: validating Towerfile: app\.sandbox\.writable_paths entry "/proc" must not be under /proc, /sys or /dev$')
    ok = e.project("sbxok", {"main.py": MAIN, "Towerfile": towerfile("sbxok", extra=SANDBOXED)})
    expect(e.run("deploy", "--dir", ok), 0)
    st, _, b = s.req("GET", "/api/v1/apps/sbxok/versions", token=e.token)
    assert st == 200 and b["versions"][0]["sandbox"] == {"network": False, "writable_paths": ["/srv/cache"]}, b
    assert b["versions"][0]["resources"] == {"memory_mb": 64, "cpus": 1}, b
    unmatched = e.project("unm", {"main.py": MAIN, "Towerfile": towerfile("unm", extra='source = ["lib/**"]\n')})
    expect(e.run("deploy", "--dir", unmatched), 1,
           err=r'^error: packaging artifact: script "main.py" is not matched by any source pattern$')
    syntax = e.project("syn", {"main.py": MAIN, "Towerfile": towerfile("syn", extra='source = ["[a-"]\n')})
    expect(e.run("deploy", "--dir", syntax), 1,
           err=r'^error: packaging artifact: resolving source: syntax error in pattern "\[a-"$')
    outside = e.project("outside", {"main.py": MAIN, "Towerfile": towerfile("outside")})
    os.symlink("/etc/hostname", os.path.join(outside, "link"))
    expect(e.run("deploy", "--dir", outside), 1,
           err=r'^error: packaging artifact: resolving source: symlink ".*/link" points outside the project root$')
    ok = e.project("okp", {"main.py": MAIN, "Towerfile": towerfile("okp")})
    expect(e.run("deploy", "--dir", ok, env={"SOURCE_DATE_EPOCH": "-1"}), 1,
           err=r"^error: packaging artifact: invalid SOURCE_DATE_EPOCH$")
    expect(e.run("deploy", "--dir", ok, "--token", "mtk_nope"), 10, err=r"^error: invalid or missing token$")
    expect(e.run("deploy", "extra"), 1, err=r"^error: unexpected arguments: extra$")
    e.close()


@test
def deploy_large_project(s):
    e = Env(s, "cli-big")
    files = {"main.py": MAIN, "Towerfile": towerfile("bigapp")}
    for i in range(500):
        files["pkg/m%03d.py" % i] = "V = %d\n" % i
    d = e.project("big", files)
    expect(e.run("deploy", "--dir", d), 0, out=r"^Version 1 created")
    e.close()


@test
def tokens_and_runners(s):
    e = Env(s, "cli-tokens")
    expect(e.run("tokens", "create", "--role", "boss"), 1, err=r"^error: --role must be admin or member$")
    out, _ = expect(e.run("tokens", "create", "--name", " ci ", "--role", "member"), 0)
    m = re.fullmatch(r"Token created: id=(\d+) role=member\nToken: (mtk_[A-Za-z0-9_-]{43})\n", out)
    assert m, out
    member_id, member_tok = m.group(1), m.group(2)
    out, _ = expect(e.run("tokens", "create", "--json"), 0)
    assert json.loads(out)["role"] == "member" and json.loads(out)["token"].startswith("mtk_")
    out, _ = expect(e.run("tokens", "list"), 0)
    lines = out.splitlines()
    assert re.match(r"^TOKEN_ID  NAME\s+ROLE\s+CREATED_AT\s+LAST_USED_AT$", lines[0]), lines
    assert any(l.split()[:3] == [member_id, "ci", "member"] for l in lines), lines
    assert "mtk_" not in out
    out, _ = expect(e.run("tokens", "list", "--json"), 0)
    assert list(json.loads(out)) == ["tokens"] and "mtk_" not in out
    expect(e.run("tokens", "list", "--token", member_tok), 10, err=r"^error: admin role required$")
    expect(e.run("tokens", "revoke", member_id, "--token", member_tok), 10)
    expect(e.run("tokens", "revoke"), 1, err=r"^error: usage: minitower-cli tokens revoke <token-id>$")
    expect(e.run("tokens", "revoke", "x"), 1, err=r"^error: token ID must be a positive integer$")
    expect(e.run("tokens", "revoke", "999999"), 11, err=r"^error: token not found$")
    out, _ = expect(e.run("tokens", "revoke", member_id, "--json"), 0)
    assert out == '{\n  "revoked": true,\n  "token_id": %s\n}\n' % member_id, out
    expect(e.run("me", "--token", member_tok), 10)
    st, _, _ = s.req("GET", "/api/v1/admin/runners", token=e.token)
    if st != 404:
        FakeRunner(s, "cli-runner-list")
        st, _, _ = s.req("POST", "/api/v1/runners/register",
                         {"name": "cli-runner-sbx", "sandbox": "bwrap", "limits": "cgroup-v1"}, token=REG_TOKEN)
        assert st in (200, 201), st
        out, _ = expect(e.run("runners", "list"), 0)
        assert re.match(r"^RUNNER_ID  NAME\s+ENVIRONMENT  STATUS  LAST_SEEN_AT\s+SANDBOX  LIMITS$",
                        out.splitlines()[0]), out
        assert "cli-runner-list" in out
        row = [l for l in out.splitlines() if "cli-runner-sbx" in l][0].split()
        assert row[-2:] == ["bwrap", "cgroup-v1"], row
        plain = [l for l in out.splitlines() if "cli-runner-list" in l][0].split()
        assert plain[-1] not in ("bwrap", "cgroup-v1"), plain
        out, _ = expect(e.run("runners", "list", "--json"), 0)
        by_name = {x["name"]: x for x in json.loads(out)["runners"]}
        assert (by_name["cli-runner-sbx"]["sandbox"], by_name["cli-runner-sbx"]["limits"]) == ("bwrap", "cgroup-v1")
        assert "sandbox" not in by_name["cli-runner-list"], by_name
        expect(e.run("runners", "list", "--token", m.group(2)), 10)
    e.close()


@test
def transport_errors(s):
    e = Env(s, "cli-transport")
    rc, out, err = e.run("me", "--server", "http://127.0.0.1:1")
    assert rc == 1 and err.startswith("error: ") and out == "", (rc, err)
    e.close()


# ---- runs (need the runs API) ----

@test
def runs_commands(s):
    e = Env(s, "cli-runs")
    runs_api(s, e)
    deploy_app(e, "rapp")
    expect(e.run("runs", "create"), 1, err=r"^error: app is required")
    expect(e.run("runs", "create", "--app", "rapp", "--input", "[1]"), 1, err=r"^error: invalid --input JSON: ")
    expect(e.run("runs", "create", "--app", "rapp", "--input", "{"), 1, err=r"^error: invalid --input JSON: ")
    expect(e.run("runs", "create", "--app", "rapp", "--version", "0"), 1, err=r"^error: --version must be a positive integer$")
    expect(e.run("runs", "create", "--app", "rapp", "--priority", "x"), 1, err=r"^error: --priority must be an integer$")
    expect(e.run("runs", "create", "--app", "rapp", "--max-retries", "-1"), 1,
           err=r"^error: --max-retries must be a non-negative integer$")
    expect(e.run("runs", "create", "--app", "rapp", "--version", "7"), 11, err=r"^error: version not found$")
    out, _ = expect(e.run("runs", "create", "--app", "rapp", "--input", '{"name":"A","ratio":0.1}', "--priority", "5",
                          "--max-retries", "2"), 0)
    m = re.fullmatch(r"Run #1 created \(id=(\d+), status=queued\)\n", out)
    assert m, out
    rid = m.group(1)
    out, _ = expect(e.run("runs", "get", rid, "--json"), 0)
    assert '"ratio": 0.1' in out and '"priority": 5' in out, out
    out, _ = expect(e.run("runs", "get", rid), 0)
    lines = out.splitlines()
    assert re.match(r"^RUN_ID  RUN_NO  APP   STATUS  VERSION  QUEUED_AT$", lines[0]), lines
    assert lines[1].split()[:5] == [rid, "1", "rapp", "queued", "1"], lines
    out, _ = expect(e.run("runs", "list", "--app", "rapp", "--status", "queued"), 0)
    assert len(out.splitlines()) == 2
    expect(e.run("runs", "list", "--limit", "0"), 1, err=r"^error: --limit must be between 1 and 100$")
    expect(e.run("runs", "list", "--offset", "-1"), 1, err=r"^error: --offset must be >= 0$")
    expect(e.run("runs", "get"), 1, err=r"^error: usage: minitower-cli runs get <run-id>$")
    expect(e.run("runs", "cancel", "0"), 1, err=r"^error: run ID must be a positive integer$")
    expect(e.run("runs", "get", "99999"), 11, err=r"^error: run not found$")
    out, _ = expect(e.run("runs", "retry", rid), 0)
    m2 = re.fullmatch(r"Retry created: run #2 \(id=(\d+)\)\n", out)
    assert m2, out
    st, _, b = s.req("GET", "/api/v1/runs/" + m2.group(1), token=e.token)
    assert b["input"]["ratio"] == 0.1 and b["priority"] == 5 and b["max_retries"] == 2, b
    expect(e.run("runs", "cancel", rid), 0, out=r"^Run %s status: cancelled$" % rid)
    out, _ = expect(e.run("runs", "logs", rid), 0)
    assert out == ""
    out, _ = expect(e.run("runs", "logs", rid, "--json"), 0)
    assert out == '{\n  "logs": []\n}\n', out
    expect(e.run("runs", "logs"), 1, err=r"^error: usage: minitower-cli runs logs <run-id> \[--follow\]$")
    expect(e.run("runs", "logs", rid, "--json", "--follow"), 1, err=r"^error: --json is not supported with --follow$")
    expect(e.run("runs", "logs", rid, "--after-seq", "-1"), 1, err=r"^error: --after-seq must be non-negative$")
    expect(e.run("runs", "logs", rid, "--interval", "0s"), 1, err=r"^error: --interval must be > 0$")
    expect(e.run("runs", "watch", "--interval", "0"), 1, err=r"^error: --interval must be > 0$")
    expect(e.run("runs", "watch", rid, "--json"), 1,
           err=r"^error: --json is only supported with --status-only for runs watch$")
    expect(e.run("runs", "watch", "1", "2"), 1, err=r"^error: usage: minitower-cli runs watch \[run-id\] \[--app APP\]$")
    expect(e.run("runs", "watch", "x"), 1, err=r"^error: run ID must be a positive integer$")
    expect(e.run("runs", "watch"), 1, err=r"^error: app is required")
    expect(e.run("apps", "create", "norun"), 0)
    expect(e.run("runs", "watch", "--app", "norun"), 11, err=r'^error: no runs found for app "norun"$')
    # watching a cancelled run prints its status and exits 2
    expect(e.run("runs", "watch", rid), 2, out=r"^run %s status: cancelled$" % rid)
    rc, out, err = e.run("runs", "watch", rid, "--status-only", "--json")
    assert rc == 2 and err == "" and json.loads(out)["status"] == "cancelled", (rc, out, err)
    # cancel the retry too so later tests' runners do not lease it
    expect(e.run("runs", "cancel", m2.group(1)), 0)
    e.close()


@test
def run_command_params(s):
    e = Env(s, "cli-runp")
    runs_api(s, e)
    d = deploy_app(e, "papp")
    expect(e.run("run", "-p", "novalue", "--app", "papp"), 1,
           err=r'^error: invalid parameter "novalue": expected key=value$')
    expect(e.run("run", "-p", "=v", "--app", "papp"), 1, err=r'^error: invalid parameter "=v": expected key=value$')
    expect(e.run("run", "--app", "papp", "-p", "count=1.5"), 1, err=r'^error: parameter "count" must be an integer$')
    expect(e.run("run", "--app", "papp", "-p", "ratio=+1"), 1, err=r'^error: parameter "ratio" must be a number$')
    expect(e.run("run", "--app", "papp", "-p", "ratio=nan"), 1, err=r'^error: parameter "ratio" must be a number$')
    expect(e.run("run", "--app", "papp", "-p", "loud=yes"), 1, err=r'^error: parameter "loud" must be true or false$')
    out, _ = expect(e.run("run", "--app", "papp", "-p", "name=a=b", "-p", "count=3", "-p", "count=4", "-p", "ratio=2.50",
                          "-p", "loud=true", "-p", "extra=7", "--detach", "--json"), 0)
    run = json.loads(out)
    assert run["input"] == {"count": 4, "extra": "7", "loud": True, "name": "a=b", "ratio": 2.5}, run
    out, _ = expect(e.run("run", "--detach", cwd=d), 0)
    assert re.fullmatch(r"Run #2 created \(id=\d+, status=queued\)\n", out), out
    st, _, b = s.req("GET", "/api/v1/apps/papp/runs?limit=1", token=e.token)
    assert b["runs"][0]["input"] == {"count": 1, "loud": False, "name": "World", "ratio": 0.5}, b
    expect(e.run("run", cwd=e.dir), 1, err=r"^error: app is required \(--app, profile default app, or \./Towerfile\)$")
    bad = e.project("badtf", {"Towerfile": "[app\n"})
    expect(e.run("run", cwd=bad), 1, err=r"^error: parsing Towerfile: parsing towerfile: ")
    expect(e.run("run", "--app", "nope"), 11, err=r"^error: app not found$")
    for r in b["runs"] + [run]:
        s.req("POST", "/api/v1/runs/%d/cancel" % r["run_id"], token=e.token)
    e.close()


def on_pty(e, args, limit=60):
    """Runs the CLI with stdout on a pseudo-terminal; returns (exit status, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"MINITOWER_CLI_CONFIG": e.cfg, "HOME": e.dir, "MINITOWER_SERVER_URL": e.s.url,
                           "MINITOWER_API_TOKEN": e.token})
        os.execv(CLI, [CLI] + args)
    buf = b""
    end = time.time() + limit
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    for _ in range(300):
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            os.close(fd)
            return os.WEXITSTATUS(st), buf
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(fd)
    raise AssertionError("CLI on a pty did not exit: %r" % buf)


def drive(s, e, runner, run_id, status, lines=(("stdout", "Hello, MiniTower!"),)):
    runner.lease(run_id)
    runner.start()
    if lines:
        runner.logs(list(lines))
    st, b = runner.result(status, 0 if status == "completed" else 1)
    assert st == 200, (st, b)


@test
def run_follows_to_completion(s):
    e = Env(s, "cli-follow")
    runs_api(s, e)
    deploy_app(e, "fapp")
    runner = FakeRunner(s, "cli-follow-runner")
    p = e.popen("run", "--app", "fapp", "-p", "name=MiniTower")
    line = p.stdout.readline()
    m = re.fullmatch(r"Run #1 created \(id=(\d+), status=queued\)\n", line)
    assert m, line
    assert p.stdout.readline() == "run %s status: queued\n" % m.group(1)  # the stream is open
    drive(s, e, runner, int(m.group(1)), "completed",
          [("stdout", "Hello, MiniTower!"), ("stderr", "warn\x1b[31m"), ("stdout", "tab\there")])
    rc, out, err = wait(p)
    assert rc == 0 and err == "", (rc, out, err)
    assert "[1] STDOUT Hello, MiniTower!\n" in out and "[2] STDERR warn\x1b[31m\n" in out, out
    assert "[3] STDOUT tab\there\n" in out
    assert out.rstrip("\n").endswith("run %s status: completed" % m.group(1)), out
    # a finished run: watch replays and exits by outcome; logs --follow prints lines only
    rid = m.group(1)
    out, _ = expect(e.run("runs", "watch", rid), 0)
    assert out == "run %s status: completed\n[1] STDOUT Hello, MiniTower!\n[2] STDERR warn\x1b[31m\n" \
                  "[3] STDOUT tab\there\n" % rid, out
    out, _ = expect(e.run("runs", "logs", rid, "--follow", "--after-seq", "1"), 0)
    assert out == "[2] STDERR warn\x1b[31m\n[3] STDOUT tab\there\n", out
    out, _ = expect(e.run("runs", "logs", rid), 0)
    assert out.count("\n") == 3
    out, _ = expect(e.run("runs", "watch", "--app", "fapp", "--status-only"), 0)
    assert out == "run %s status: completed\n" % rid, out
    # on a terminal, control characters in job output become U+FFFD (TAB is kept)
    status, text = on_pty(e, ["runs", "logs", rid])
    assert status == 0, (status, text)
    assert b"[2] STDERR warn\xef\xbf\xbd[31m" in text and b"\x1b" not in text, text
    assert b"tab\there" in text, text
    e.close()


@test
def run_json_and_exit_codes(s):
    e = Env(s, "cli-exits")
    runs_api(s, e)
    deploy_app(e, "xapp")
    runner = FakeRunner(s, "cli-exits-runner")
    # --json: only the final RunObject; failed → 1
    p = e.popen("run", "--app", "xapp", "--json")
    b = runner.lease()
    runner.start()
    runner.logs([("stdout", "not printed")])
    runner.result("failed", 3)
    rc, out, err = wait(p)
    doc = json.loads(out)
    assert rc == 1 and err == "" and doc["status"] == "failed" and doc["run_id"] == b["run_id"], (rc, out, err)
    assert "not printed" not in out and list(doc)[:3] == ["run_id", "app_id", "app_slug"]
    # runs logs --follow of a cancelled run → 2
    out, _ = expect(e.run("run", "--app", "xapp", "--detach"), 0)
    rid = int(re.search(r"id=(\d+)", out).group(1))
    w = e.popen("runs", "logs", str(rid), "--follow")
    runner.lease(rid)
    runner.start()
    runner.logs([("stdout", "before cancel")])
    expect(e.run("runs", "cancel", str(rid)), 0, out=r"status: cancelling$")
    st, b2 = runner.result("cancelled", None)
    assert st == 200, b2
    rc, out, err = wait(w)
    assert rc == 2 and out == "[1] STDOUT before cancel\n" and err == "", (rc, out, err)
    # unknown run: the stream's 404 before it starts maps to 11
    expect(e.run("runs", "watch", "999999"), 11, err=r"^error: run not found$")
    expect(e.run("runs", "logs", "999999", "--follow"), 11)
    e.close()


@test
def runs_attempts(s):
    e = Env(s, "cli-attempts")
    runs_api(s, e)
    deploy_app(e, "atapp")
    runner = FakeRunner(s, "cli-attempts-runner")
    out, _ = expect(e.run("runs", "create", "--app", "atapp"), 0)
    rid = int(re.search(r"id=(\d+)", out).group(1))
    runner.lease(rid)
    runner.start()
    st, b = runner.call("release")
    assert st == 200, (st, b)
    runner.lease(rid)
    runner.start()
    st, b = runner.call("result", {"status": "failed", "exit_code": 137, "reason": "oom_killed",
                                   "peak_memory_bytes": 222717542, "cpu_user_ms": 1234,
                                   "cpu_system_ms": 100})
    assert st == 200, (st, b)
    out, _ = expect(e.run("runs", "attempts", str(rid)), 0)
    lines = out.splitlines()
    assert re.match(r"^ATTEMPT  STATUS\s+RUNNER\s+EXIT_CODE  REASON\s+PEAK_MEMORY  CPU_TIME$", lines[0]), out
    assert re.match(r"^1\s+expired\s+cli-attempts-runner\s+released\s*$", lines[1]), out
    assert re.match(r"^2\s+failed\s+cli-attempts-runner\s+137\s+oom_killed\s+212\.4 MiB\s+"
                    r"1\.23 s user, 0\.10 s sys$", lines[2]), out
    out, _ = expect(e.run("runs", "attempts", str(rid), "--json"), 0)
    doc = json.loads(out)
    assert [a.get("reason") for a in doc["attempts"]] == ["released", "oom_killed"], doc
    assert doc["attempts"][1]["peak_memory_bytes"] == 222717542, doc
    expect(e.run("runs", "attempts"), 1, err=r"^error: usage: minitower-cli runs attempts <run-id>$")
    expect(e.run("runs", "attempts", "x"), 1, err=r"^error: run ID must be a positive integer$")
    expect(e.run("runs", "attempts", "999999"), 11, err=r"^error: run not found$")
    e.close()


@test
def watch_follows_a_retried_run(s):
    """A released attempt is leased again: the stream moves on to the new
    attempt (an attempt event) and its seq starts again."""
    e = Env(s, "cli-retry")
    runs_api(s, e)
    deploy_app(e, "rtapp")
    runner = FakeRunner(s, "cli-retry-runner")
    out, _ = expect(e.run("runs", "create", "--app", "rtapp"), 0)
    rid = int(re.search(r"id=(\d+)", out).group(1))
    w = e.popen("runs", "watch", str(rid))
    assert w.stdout.readline() == "run %d status: queued\n" % rid  # the stream is open
    runner.lease(rid)
    runner.start()
    runner.logs([("stdout", "first attempt")])
    st, b = runner.call("release")
    assert st == 200, (st, b)
    drive(s, e, runner, rid, "completed", [("stdout", "second attempt"), ("stdout", "done")])
    rc, out, err = wait(w)
    assert rc == 0 and err == "", (rc, out, err)
    assert out.count("[1] STDOUT first attempt\n") == 1 and "[1] STDOUT second attempt\n[2] STDOUT done\n" in out, out
    assert out.endswith("run %d status: completed\n" % rid), out
    e.close()


@test
def follow_reconnects_after_server_restart(s):
    """The stream drops when minitowerd stops; the CLI reconnects with
    Last-Event-ID and finishes once the restarted server ends the run."""
    s2 = Server().start()
    try:
        e = Env(s2, "cli-recon")
        runs_api(s2, e)
        deploy_app(e, "recon")
        runner = FakeRunner(s2, "cli-recon-runner")
        out, _ = expect(e.run("run", "--app", "recon", "--detach"), 0)
        rid = int(re.search(r"id=(\d+)", out).group(1))
        runner.lease(rid)
        runner.start()
        runner.logs([("stdout", "line one")])
        w = e.popen("runs", "watch", str(rid), "--interval", "100ms")
        assert w.stdout.readline() == "run %d status: running\n" % rid
        assert w.stdout.readline() == "[1] STDOUT line one\n"
        port, db, objs = s2.port, s2.env["MINITOWER_DB_PATH"], s2.env["MINITOWER_OBJECTS_DIR"]
        s2.stop()
        s3 = Server(env={"MINITOWER_LISTEN_ADDR": "127.0.0.1:%d" % port, "MINITOWER_OBJECTS_DIR": objs},
                    db_path=db)
        deadline = time.time() + 30
        while True:
            try:
                s3.start()
                break
            except RuntimeError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        try:
            runner.s = s3
            runner.logs([("stdout", "line two")], first_seq=2)
            st, b = runner.result("completed", 0)
            assert st == 200, (st, b)
            rc, out, err = wait(w)
            assert rc == 0 and err == "", (rc, out, err)
            # line one was read above: the resumed stream must not repeat it
            assert "line one" not in out and out.count("[2] STDOUT line two\n") == 1, out
            assert "run %d status: completed\n" % rid in out, out
        finally:
            s3.stop()
            shutil.rmtree(s3.tmp, ignore_errors=True)
        e.close()
    finally:
        s2.stop()
        shutil.rmtree(s2.tmp, ignore_errors=True)


def main():
    failed = 0
    with Server() as s:
        print("1..%d" % len(TESTS))
        for i, fn in enumerate(TESTS, 1):
            try:
                fn(s)
                print("ok %d - %s" % (i, fn.__name__))
            except Skip as why:
                print("ok %d - %s # SKIP %s" % (i, fn.__name__, why))
            except Exception:
                failed += 1
                print("not ok %d - %s" % (i, fn.__name__))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
            sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
