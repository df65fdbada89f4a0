"""API tests of /metrics (observability.md §1) against a real minitowerd:
exact HTTP counters for a scripted set of requests, the bounded `path`
label, the metrics token, `promtool check metrics` on a real scrape, exact
run counters and histogram counts after a scripted workload (completed,
failed, cancelled, released, retried, dead), every metric the Grafana
dashboard and the alert rules query present in a real scrape, and a real
Prometheus server on loopback scraping minitowerd and answering PromQL."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtserver import BOOT_TOKEN, HELLO_MAIN, HELLO_TOWERFILE, REG_TOKEN, ROOT, Server  # noqa: E402

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


class Skip(Exception):
    pass


# ---- exposition parsing -------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text):
    """Exposition text → {(name, ((label, value), ...)): float}, plus the
    TYPE of each family. Labels keep their printed order."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "unparsable line %r" % line
        labels, rest = [], m.group(2) or ""
        while rest:
            lm = LABEL.match(rest)
            assert lm, "bad labels in %r" % line
            labels.append((lm.group(1), lm.group(2)))
            rest = rest[lm.end():]
        key = (m.group(1), tuple(labels))
        assert key not in samples, "duplicate series %r" % (key,)
        samples[key] = float(m.group(3))
    return samples, types


def scrape(s, token=None):
    st, h, body = s.req("GET", "/metrics", token=token, raw=True)
    assert st == 200, (st, body)
    assert h["content-type"] == "text/plain; version=0.0.4; charset=utf-8", h
    return body.decode("utf-8")


def values(samples, name, **match):
    """{labels dict as sorted tuple: value} for series of name matching."""
    out = {}
    for (n, labels), v in samples.items():
        d = dict(labels)
        if n == name and all(d.get(k) == w for k, w in match.items()):
            out[tuple(sorted(d.items()))] = v
    return out


def value(samples, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    for (n, lb), v in samples.items():
        if (n, tuple(sorted(lb))) == key:
            return v
    return None


def settle(s, want, what, token=None, tries=100):
    """Scrapes until want(samples) holds. A request is counted once its
    response has been sent, which can be a moment after the client read it,
    so the check is retried (bounded) before it fails."""
    for _ in range(tries):
        samples, _ = parse(scrape(s, token))
        if want(samples):
            return samples
        time.sleep(0.05)
    raise AssertionError("%s: last scrape:\n%s" % (what, scrape(s, token)))


def promtool_check(text):
    if not os.access(PROMTOOL, os.X_OK):
        return None
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


# ---- HTTP metrics -------------------------------------------------------

def test_http_requests_exact():
    with Server() as s:
        expected = {}

        def do(method, path, label, token=None, body=None):
            st, _, _ = s.req(method, path, token=token, body=body)
            m = method if method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS") else "other"
            k = (m, label, str(st))
            expected[k] = expected.get(k, 0) + 1
            return st

        for _ in range(3):
            assert do("GET", "/health", "/health") == 200
        assert do("POST", "/health", "/health") == 405
        assert do("BREW", "/health", "/health") == 405
        do("GET", "/ready", "/ready")
        tok = s.bootstrap()
        expected[("POST", "/api/v1/bootstrap/team", "201")] = 1
        do("GET", "/api/v1/me", "/api/v1/me", token=tok)
        do("GET", "/api/v1/me", "/api/v1/me")
        do("GET", "/api/v1/apps/nope", "/api/v1/apps/{app}", token=tok)
        do("GET", "/api/v1/apps/", "/api/v1/apps/{app}", token=tok)
        do("GET", "/api/v1/runs/abc", "/api/v1/runs/{run}", token=tok)
        do("GET", "/api/v1/runs/12/logs", "/api/v1/runs/{run}/logs", token=tok)
        do("POST", "/api/v1/runs/lease", "/api/v1/runs/lease")
        do("GET", "/api/v1/runs/summary", "/api/v1/runs/summary", token=tok)
        do("GET", "/api/v1/no/such/route", "other")
        do("DELETE", "/totally/unknown", "other")
        do("GET", "/", "/ui")

        def exact(samples):
            got = {}
            for labels, v in values(samples, "minitower_http_requests_total").items():
                d = dict(labels)
                if d["path"] != "/metrics":
                    got[(d["method"], d["path"], d["status"])] = v
            return got == {k: float(v) for k, v in expected.items()}
        samples = settle(s, exact, "minitower_http_requests_total matches the requests made")
        # label order: method, path, status
        for (name, labels) in samples:
            if name == "minitower_http_requests_total":
                assert [k for k, _ in labels] == ["method", "path", "status"], labels
            if name == "minitower_http_request_duration_seconds_bucket":
                assert [k for k, _ in labels] == ["method", "path", "le"], labels
        # one duration observation per request, per (method, path)
        counts = values(samples, "minitower_http_request_duration_seconds_count")
        for labels, v in counts.items():
            d = dict(labels)
            if d["path"] == "/metrics":
                continue
            want = sum(n for (m, p, _), n in expected.items() if (m, p) == (d["method"], d["path"]))
            assert v == want, (d, v, want)
        # request sizes only for bodies (the bootstrap POST), response sizes
        # for every response with a body (all of the above have one)
        req = values(samples, "minitower_http_request_size_bytes_count")
        assert req == {(("method", "POST"), ("path", "/api/v1/bootstrap/team")): 1.0}, req
        resp = values(samples, "minitower_http_response_size_bytes_count", path="/health")
        assert resp[(("method", "GET"), ("path", "/health"))] == 3.0, resp
        assert value(samples, "minitower_http_response_size_bytes_sum", method="GET", path="/health") == \
            3 * len(b'{"status":"ok"}\n')
        text = scrape(s)
        r = promtool_check(text)
        if r is not None:
            assert r[0] == 0, r[1]


def test_path_label_bounded():
    """Unknown paths, ids and methods never create new label values."""
    with Server() as s:
        tok = s.bootstrap()
        for i in range(60):
            s.req("GET", "/random/%d/x%d" % (i, i * 7))
            s.req("GET", "/api/v1/runs/%d" % (1000 + i), token=tok)
            s.req("GET", "/api/v1/apps/app-%d/versions" % i, token=tok)
            s.req("PROPFIND", "/health")

        def done(samples):
            return sum(values(samples, "minitower_http_requests_total", path="other").values()) == 60
        samples = settle(s, done, "60 unknown paths counted under other")
        paths = {dict(k)["path"] for k in values(samples, "minitower_http_requests_total")} - {"/metrics"}
        assert paths == {"other", "/api/v1/runs/{run}", "/api/v1/apps/{app}/versions", "/health",
                         "/api/v1/bootstrap/team"}, paths
        methods = {dict(k)["method"] for k in values(samples, "minitower_http_requests_total")}
        assert methods <= {"GET", "POST", "other"}, methods


def test_metrics_token():
    with Server(env={"MINITOWER_METRICS_TOKEN": "scrape-secret"}) as s:
        st, _, body = s.req("GET", "/metrics")
        assert st == 401 and body["error"]["message"] == "invalid or missing token", (st, body)
        st, _, _ = s.req("GET", "/metrics", token="wrong")
        assert st == 401
        s.req("GET", "/health")
        settle(s, lambda m: value(m, "minitower_http_requests_total", method="GET", path="/metrics",
                                  status="401") == 2.0,
               "refused scrapes are counted", token="scrape-secret")


# ---- run workload -------------------------------------------------------

class Api:
    """The team and runner sides of the protocol, as the runner speaks it."""

    def __init__(self, s):
        self.s = s
        self.team = s.bootstrap("acme")

    def ok(self, want, st, body, what):
        assert st in want, "%s: %s %r" % (what, st, body)
        return body

    def available(self):
        st, _, body = self.s.req("POST", "/api/v1/runners/register", {"name": "probe"}, token=REG_TOKEN)
        if st == 404:
            raise Skip("runs and the runner protocol are not implemented yet")
        self.ok((200, 201), st, body, "register probe")

    def app(self, slug):
        st, _, b = self.s.req("POST", "/api/v1/apps", {"slug": slug}, token=self.team)
        self.ok((201,), st, b, "create app")
        st, _, b = self.s.upload(self.team, slug, {"Towerfile": HELLO_TOWERFILE, "main.py": HELLO_MAIN})
        self.ok((201,), st, b, "upload")

    def create(self, app, **kw):
        hdrs = {}
        if "key" in kw:
            hdrs["Idempotency-Key"] = kw.pop("key")
        st, _, b = self.s.req("POST", "/api/v1/apps/%s/runs" % app, kw, token=self.team, headers=hdrs)
        return self.ok((200, 201), st, b, "create run")["run_id"]

    def cancel(self, run_id):
        st, _, b = self.s.req("POST", "/api/v1/runs/%d/cancel" % run_id, token=self.team)
        return self.ok((200,), st, b, "cancel")["status"]

    def register(self, name, env="default"):
        st, _, b = self.s.req("POST", "/api/v1/runners/register", {"name": name, "environment": env},
                              token=REG_TOKEN)
        return self.ok((200, 201), st, b, "register")["token"], st

    def lease(self, rtok):
        st, _, b = self.s.req("POST", "/api/v1/runs/lease", token=rtok)
        return self.ok((200,), st, b, "lease")

    def call(self, rtok, lease, what, body=None, want=(200,)):
        st, _, b = self.s.req("POST", "/api/v1/runs/%d/%s" % (lease["run_id"], what), body, token=rtok,
                              headers={"X-Lease-Token": lease["lease_token"]})
        return self.ok(want, st, b, what)

    def run_status(self, run_id):
        st, _, b = self.s.req("GET", "/api/v1/runs/%d" % run_id, token=self.team)
        return self.ok((200,), st, b, "get run")["status"]


def test_run_workload_exact():
    with Server() as s:
        a = Api(s)
        a.available()
        a.app("hello")
        a.app("other")
        rt, st = a.register("r1")
        assert st == 201
        rt, st = a.register("r1")          # re-registration: no metric
        assert st == 200
        done = []

        def finish(lease, status, started=True):
            if started:
                a.call(rt, lease, "start")
            a.call(rt, lease, "result", {"status": status, "exit_code": 0 if status == "completed" else 1})
            done.append(lease["run_id"])

        r1 = a.create("hello")             # completed
        finish(a.lease(rt), "completed")
        r2 = a.create("hello")             # failed
        finish(a.lease(rt), "failed")
        r3 = a.create("hello")             # completed without start: no histograms
        finish(a.lease(rt), "completed", started=False)
        r4 = a.create("hello")             # cancelled while queued, twice
        assert a.cancel(r4) == "cancelled"
        assert a.cancel(r4) == "cancelled"
        r5 = a.create("other")             # released, leased again, completed, result repeated
        lz = a.lease(rt)
        assert lz["run_id"] == r5
        a.call(rt, lz, "release")
        lz = a.lease(rt)
        assert lz["run_id"] == r5 and lz["attempt_no"] == 2
        finish(lz, "completed")
        a.call(rt, lz, "result", {"status": "completed", "exit_code": 0})   # identical repeat: 200, nothing
        a.call(rt, lz, "result", {"status": "failed", "exit_code": 1}, want=(409,))
        r6 = a.create("other")             # cancel while running, then the cancelled result
        lz = a.lease(rt)
        a.call(rt, lz, "start")
        assert a.cancel(r6) == "cancelling"
        assert a.cancel(r6) == "cancelling"
        a.call(rt, lz, "result", {"status": "completed", "exit_code": 0}, want=(409,))
        a.call(rt, lz, "result", {"status": "cancelled"})
        r7 = a.create("other")             # leased, cancelled, released: cancelled without histograms
        lz = a.lease(rt)
        assert a.cancel(r7) == "cancelling"
        a.call(rt, lz, "release")
        assert a.run_status(r7) == "cancelled"
        k1 = a.create("hello", key="k-1")  # idempotent replay: counted once
        k2 = a.create("hello", key="k-1")
        assert k1 == k2
        a.create("hello")                  # k1 and this one stay queued
        assert a.run_status(r1) == "completed" and a.run_status(r2) == "failed"
        assert a.run_status(r3) == "completed" and a.run_status(r6) == "cancelled"

        exp_created = {("hello", "acme"): 6, ("other", "acme"): 3}
        exp_completed = {("hello", "completed", "acme"): 2, ("hello", "failed", "acme"): 1,
                         ("hello", "cancelled", "acme"): 1, ("other", "completed", "acme"): 1,
                         ("other", "cancelled", "acme"): 2}

        def check(samples):
            c = {(dict(k)["app"], dict(k)["team"]): v for k, v in values(samples, "minitower_runs_created_total").items()}
            d = {(dict(k)["app"], dict(k)["status"], dict(k)["team"]): v
                 for k, v in values(samples, "minitower_runs_completed_total").items()}
            return c == exp_created and d == exp_completed
        samples = settle(s, check, "run counters")
        assert values(samples, "minitower_runs_leased_total") == {(("environment", "default"),): 7.0}
        assert values(samples, "minitower_runners_registered_total") == {(("environment", "default"),): 2.0}
        assert values(samples, "minitower_runs_retried_total") == {}
        # histograms: queue wait and execution once per result of a started
        # attempt (r1, r2, r5, r6); total also for the queued cancel (r4)
        qw = {(dict(k)["app"]): v for k, v in values(samples, "minitower_run_queue_wait_seconds_count").items()}
        assert qw == {"hello": 2.0, "other": 2.0}, qw
        ex = {(dict(k)["app"], dict(k)["status"]): v
              for k, v in values(samples, "minitower_run_execution_seconds_count").items()}
        assert ex == {("hello", "completed"): 1.0, ("hello", "failed"): 1.0, ("other", "completed"): 1.0,
                      ("other", "cancelled"): 1.0}, ex
        tot = {(dict(k)["app"], dict(k)["status"]): v
               for k, v in values(samples, "minitower_run_total_seconds_count").items()}
        assert tot == {("hello", "completed"): 1.0, ("hello", "failed"): 1.0, ("hello", "cancelled"): 1.0,
                       ("other", "completed"): 1.0, ("other", "cancelled"): 1.0}, tot
        for (name, labels), v in samples.items():
            if name.endswith("_seconds_sum") and name.startswith("minitower_run_"):
                assert v >= 0, (name, labels, v)
            if name == "minitower_run_queue_wait_seconds_bucket" and dict(labels)["le"] == "+Inf":
                assert v == qw[dict(labels)["app"]]
        assert values(samples, "minitower_runs_pending") == {
            (("app", "hello"), ("environment", "default"), ("team", "acme")): 2.0}
        assert values(samples, "minitower_runners_online") == {(("environment", "default"),): 2.0}
        text = scrape(s)
        r = promtool_check(text)
        if r is not None:
            assert r[0] == 0, r[1]
        SEEN.update(n for n, _ in samples)
        SEEN_LABELS.update(((n, tuple(sorted(k for k, _ in lb if k != "le"))) for n, lb in samples))
        record_types(s)


def queried_metrics():
    """Metric names the bundled dashboard and alert rules use."""
    names = set()
    with open(os.path.join(ROOT, "deploy/grafana/dashboards/minitower.json")) as f:
        dash = json.load(f)
    texts = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            texts.append(t["expr"])
    for v in dash.get("templating", {}).get("list", []):
        texts.append(v.get("definition", ""))
    with open(os.path.join(ROOT, "deploy/prometheus/alerts.yml")) as f:
        texts.append(f.read())
    for t in texts:
        names |= set(re.findall(r"\bminitower_[a-z_]+\b", t))
    return names


SEEN = set()      # metric names in the real scrapes of the two workloads
SEEN_LABELS = set()   # (sample name, sorted label names without le) of those scrapes
SEEN_TYPES = {}   # family -> TYPE in those scrapes


def readme_monitoring():
    """The README's Monitoring section: {family: (type, [labels])} from its
    table and the queries of its promql block."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    sec = text[text.index("## Monitoring"):]
    nxt = sec.find("\n## ", 5)
    sec = sec if nxt < 0 else sec[:nxt]
    table = {}
    for m in re.finditer(r"^\| `(minitower_[a-z_]+)` \| (\w+) \| (.*) \|$", sec, re.M):
        table[m.group(1)] = (m.group(2), re.findall(r"`([a-z_]+)`", m.group(3)))
    block = sec[sec.index("```promql") + len("```promql"):]
    queries = [q.strip() for q in block[:block.index("```")].splitlines() if q.strip()]
    return table, queries, sec


def family_of(sample):
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix) and sample[:-len(suffix)] in SEEN_TYPES:
            return sample[:-len(suffix)]
    return sample


def test_readme_monitoring_is_true():
    """Every family in the README's table is in the real scrapes with that
    type and those labels, every family of the scrapes is in the table, and
    the quick check and scrape config name real things."""
    if not SEEN:
        raise Skip("the run workloads did not run")
    table, queries, sec = readme_monitoring()
    assert len(table) >= 14 and queries, (table, queries)
    assert set(table) == set(SEEN_TYPES), "README table %s vs scrapes %s" % (
        sorted(set(table) ^ set(SEEN_TYPES)), sorted(SEEN_TYPES))
    for fam, (typ, labels) in table.items():
        assert SEEN_TYPES[fam] == typ, (fam, typ, SEEN_TYPES[fam])
        got = {lb for n, lb in SEEN_LABELS if family_of(n) == fam}
        assert got == {tuple(labels)}, (fam, labels, got)
    for q in queries:
        for name in re.findall(r"\bminitower_[a-z_]+\b", q):
            assert name in SEEN, (q, name)
    assert "grep minitower_runs_pending" in sec and 'targets: ["127.0.0.1:8080"]' in sec


def record_types(s):
    """Adds the TYPE of every family of a real scrape to SEEN_TYPES."""
    SEEN_TYPES.update(parse(scrape(s))[1])


def test_dashboard_metrics_in_real_scrapes():
    """Every metric the dashboard and the alerts query appears in the real
    scrapes taken after the two workloads above."""
    if not SEEN:
        raise Skip("the run workloads did not run")
    missing = sorted(queried_metrics() - SEEN)
    assert not missing, "dashboard/alerts query metrics missing from real scrapes: %s" % missing


def test_reaper_retry_and_dead_exact():
    # A runner unseen for 2 x TTL goes offline, so each attempt gets a fresh
    # runner; the late result may then meet an offline runner (401).
    env = {"MINITOWER_LEASE_TTL": "2s", "MINITOWER_EXPIRY_CHECK_INTERVAL": "100ms"}
    with Server(env=env) as s:
        a = Api(s)
        a.available()
        a.app("hello")
        rt, _ = a.register("r1")
        run = a.create("hello", max_retries=1)
        first = a.lease(rt)
        assert first["run_id"] == run and first["attempt_no"] == 1
        # the lease expires: the reaper re-queues the run (its one retry)
        for _ in range(300):
            if a.run_status(run) == "queued":
                break
            time.sleep(0.05)
        assert a.run_status(run) == "queued"
        rt2, _ = a.register("r2")
        second = a.lease(rt2)
        assert second["attempt_no"] == 2
        a.call(rt2, second, "start")
        for _ in range(300):
            if a.run_status(run) == "dead":
                break
            time.sleep(0.05)
        assert a.run_status(run) == "dead"
        a.call(rt2, second, "result", {"status": "completed", "exit_code": 0}, want=(410, 401))  # late
        samples = settle(s, lambda m: value(m, "minitower_runs_completed_total", app="hello",
                                            status="dead", team="acme") == 1.0, "dead counted")
        assert values(samples, "minitower_runs_retried_total") == {(("app", "hello"), ("team", "acme")): 1.0}
        assert values(samples, "minitower_runs_completed_total") == {
            (("app", "hello"), ("status", "dead"), ("team", "acme")): 1.0}
        assert values(samples, "minitower_runs_leased_total") == {(("environment", "default"),): 2.0}
        for fam in ("minitower_run_queue_wait_seconds_count", "minitower_run_execution_seconds_count",
                    "minitower_run_total_seconds_count"):
            assert values(samples, fam) == {}, fam
        assert values(samples, "minitower_runs_pending") == {}
        SEEN.update(n for n, _ in samples)
        SEEN_LABELS.update(((n, tuple(sorted(k for k, _ in lb if k != "le"))) for n, lb in samples))
        record_types(s)


# ---- a real Prometheus ---------------------------------------------------

def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def prom_query(port, q):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": q}))
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return data["data"]["result"]


def test_prometheus_scrapes_minitowerd():
    if not os.access(PROMETHEUS, os.X_OK):
        raise Skip("prometheus is not installed")
    with Server() as s:
        a = Api(s)
        runs_api = True
        try:
            a.available()
        except Skip:
            runs_api = False
        if runs_api:
            a.app("hello")
            a.create("hello")
            a.create("hello")
            a.create("hello")
            query, want = "minitower_runs_pending", 3.0
        else:
            for _ in range(3):
                s.req("GET", "/health")
            query, want = 'minitower_http_requests_total{path="/health"}', 3.0
        tmp = tempfile.mkdtemp(prefix="mt-prom-")
        port = free_port()
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: minitower\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % s.port)
        log = open(os.path.join(tmp, "prometheus.log"), "w+")
        proc = subprocess.Popen([PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" + tmp + "/data",
                                 "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            result = None
            deadline = time.time() + 60
            while time.time() < deadline:
                if proc.poll() is not None:
                    break
                try:
                    result = prom_query(port, query)
                    up = prom_query(port, 'up{job="minitower"}')
                    if result and up and up[0]["value"][1] == "1":
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.5)
            log.seek(0)
            assert result, "prometheus never answered %s; log:\n%s" % (query, log.read()[-3000:])
            total = sum(float(r["value"][1]) for r in result)
            assert total == want, result
            for q in readme_monitoring()[1]:   # the README's PromQL examples evaluate
                prom_query(port, q)
            assert prom_query(port, "sum(minitower_runs_pending) or vector(0)")[0]["value"][1] == \
                ("3" if runs_api else "0")
            if runs_api:
                labels = result[0]["metric"]
                assert (labels["team"], labels["app"], labels["environment"]) == ("acme", "hello", "default")
            else:
                raise Skip("runs API missing: checked %s instead of minitower_runs_pending" % query)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
            shutil.rmtree(tmp, ignore_errors=True)


def test_demo_script_feeds_metrics():
    """scripts/demo-compose.sh against a real server (no runner): a team, the
    demo app and three queued runs, visible in the counters and the gauge."""
    with Server() as s:
        Api(s).available()
        env = dict(os.environ, MINITOWER_URL=s.url, MINITOWER_BOOTSTRAP_TOKEN=BOOT_TOKEN, DEMO_TEAM="acme")
        r = subprocess.run(["sh", os.path.join(ROOT, "scripts/demo-compose.sh"), "--runs", "3"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Done: 3 runs created." in r.stdout, r.stdout
        samples = settle(s, lambda m: value(m, "minitower_runs_created_total", app="hello", team="acme") == 3.0,
                         "demo runs counted")
        assert value(samples, "minitower_runs_pending", app="hello", environment="default", team="acme") == 3.0


def start_prometheus(tmp, config_text, rules_src=None):
    """A real Prometheus on a free loopback port; returns (proc, port, log)."""
    port = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    if rules_src:
        shutil.copy(rules_src, os.path.join(tmp, os.path.basename(rules_src)))
    log = open(os.path.join(tmp, "prometheus.log"), "w+")
    proc = subprocess.Popen([PROMETHEUS, "--config.file=" + cfg, "--storage.tsdb.path=" + tmp + "/data",
                             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, port, log


def stop(proc, sig=15):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_demo_stack_dashboard_queries():
    """The compose stack without Docker: minitowerd, two runners, the demo
    script, and Prometheus with deploy/prometheus (target rewritten to the
    test server). Every dashboard query and variable evaluates, the main
    panels have data, and every alert rule is healthy."""
    runner = os.path.join(os.environ.get("MT_BIN", os.path.join(ROOT, "bin")), "minitower-runner")
    if not os.access(PROMETHEUS, os.X_OK) or not os.access(runner, os.X_OK):
        raise Skip("prometheus or minitower-runner not available")
    with Server(env={"MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN}) as s:
        Api(s).available()
        tmp = tempfile.mkdtemp(prefix="mt-stack-")
        procs = []
        try:
            for i in (1, 2):
                data = os.path.join(tmp, "runner%d" % i)
                os.mkdir(data, 0o700)
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": data,
                       "MINITOWER_SERVER_URL": s.url, "MINITOWER_RUNNER_NAME": "runner-%d" % i,
                       "MINITOWER_RUNNER_REGISTRATION_TOKEN": REG_TOKEN, "MINITOWER_DATA_DIR": data,
                       "MINITOWER_PYTHON_BIN": "/usr/bin/python3", "MINITOWER_LEASE_WAIT": "2s"}
                for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"):
                    if k in os.environ:
                        env[k] = os.environ[k]
                procs.append(subprocess.Popen([runner], env=env, stdout=open(data + ".log", "w"),
                                              stderr=subprocess.STDOUT))
            cfg = open(os.path.join(ROOT, "deploy/prometheus/prometheus.yml")).read()
            cfg = cfg.replace("minitowerd:8080", "127.0.0.1:%d" % s.port)
            cfg = re.sub(r"(scrape_interval|evaluation_interval): 15s", r"\1: 1s", cfg)
            cfg = cfg.replace("scrape_timeout: 10s", "scrape_timeout: 1s")
            prom, port, log = start_prometheus(tmp, cfg, os.path.join(ROOT, "deploy/prometheus/alerts.yml"))
            procs.append(prom)
            for _ in range(120):      # scraping before the first run, so rates see every increase
                try:
                    if [x for x in prom_query(port, 'up{job="minitower"}') if x["value"][1] == "1"]:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            env = dict(os.environ, MINITOWER_URL=s.url, MINITOWER_BOOTSTRAP_TOKEN=BOOT_TOKEN, DEMO_TEAM="acme")
            r = subprocess.run(["sh", os.path.join(ROOT, "scripts/demo-compose.sh"), "--loop", "--runs", "4",
                                "--interval", "1.5"], env=env, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
            settle(s, lambda m: sum(values(m, "minitower_runs_completed_total").values()) == 4.0,
                   "the runners finish the 4 demo runs", tries=2400)
            dash = json.load(open(os.path.join(ROOT, "deploy/grafana/dashboards/minitower.json")))
            exprs = [(p["title"], t["refId"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
            # series must exist for these (values may be 0 or NaN: a rate
            # needs two scrapes around an increase; the failure panels stay
            # empty when no demo run happened to fail) ...
            nonempty = {"Runs pending", "Runners online", "Runs finished / min",
                        "Run rate (created / s)", "Runs finished by status (/ s)",
                        "Runners online and leases", "Queue wait p50 / p95 / p99",
                        "Execution time p50 / p95 / p99", "HTTP requests by path (/ s)",
                        "HTTP p99 latency by path"}
            # ... and these have a real value
            nonzero = {"Runners online", "Run rate (created / s)", "HTTP requests by path (/ s)"}
            missing = None
            for _ in range(60):
                missing = []
                for title, ref, e in exprs:
                    q = e.replace("$__rate_interval", "1m").replace("$team", ".*").replace("$app", ".*")
                    res = prom_query(port, q)       # a query that does not evaluate raises
                    real = [x for x in res if x["value"][1] not in ("0", "NaN")]
                    if (title in nonempty and not res) or (title in nonzero and not real):
                        missing.append("%s %s" % (title, ref))
                if not missing:
                    break
                time.sleep(0.5)
            log.seek(0)
            assert not missing, "panels without data: %s\n%s" % (missing, log.read()[-2000:])
            for v in dash["templating"]["list"]:
                m = re.fullmatch(r"label_values\((.*), (\w+)\)", v["definition"])
                res = prom_query(port, m.group(1).replace("$team", ".*"))
                assert {x["metric"][m.group(2)] for x in res} == {"acme" if v["name"] == "team" else "hello"}, res
            with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/rules" % port, timeout=5) as resp:
                rules = json.load(resp)["data"]["groups"]
            names = {x["name"]: x["health"] for g in rules for x in g["rules"]}
            assert len(names) == 8 and set(names.values()) == {"ok"}, names
        finally:
            for p in procs:
                stop(p)
            shutil.rmtree(tmp, ignore_errors=True)


TESTS = [test_http_requests_exact, test_path_label_bounded, test_metrics_token, test_run_workload_exact,
         test_reaper_retry_and_dead_exact, test_dashboard_metrics_in_real_scrapes,
         test_readme_monitoring_is_true,
         test_prometheus_scrapes_minitowerd, test_demo_script_feeds_metrics, test_demo_stack_dashboard_queries]


def main():
    print("1..%d" % len(TESTS))
    failed = 0
    for i, fn in enumerate(TESTS, 1):
        try:
            fn()
            print("ok %d - %s" % (i, fn.__name__))
        except Skip as e:
            print("ok %d - %s # SKIP %s" % (i, fn.__name__, e))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
