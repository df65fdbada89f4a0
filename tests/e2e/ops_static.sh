#!/bin/sh
# Static checks of the operations files, which cannot run here (no Docker
# engine, no systemd as init): docker-compose.yml, the Dockerfile, the
# Prometheus and Grafana files and the systemd units parse and agree with
# each other, with the Makefile, and with the metric families minitowerd
# renders. Prints TAP. Needs /usr/bin/python3 with yaml (python3-yaml),
# promtool and systemd-analyze (skipped when missing).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${MT_BUILD:=$top/build/plain}" "${MT_BIN:=$top/bin}"
export MT_BUILD MT_BIN
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The families as the real code renders them: a tiny program that calls every
# metrics_* event function once and prints the exposition.
cat >"$work/families.c" <<EOF
#include "$top/src/server/metrics.c"
int
main(void)
{
	struct metrics_pending_row p = { "t", "a", "default", 1 };
	struct metrics_online_row o = { "default", 1 };
	struct metrics_slots_row sl = { "default", 1, 2 };
	struct metrics_gauges g = { &p, 1, &o, 1, &sl, 1 };
	struct buf b;

	metrics_init();
	metrics_http("GET", "/health", 200, 0.1, 10, 10);
	metrics_run_created("t", "a");
	metrics_run_completed("t", "a", "completed", 1, 1, 1);
	metrics_run_retried("t", "a");
	metrics_run_leased("default");
	metrics_runner_registered("default");
	buf_init(&b, 1 << 20);
	if (metrics_render(&b, &g) != 0)
		return 1;
	fputs(buf_str(&b), stdout);
	buf_free(&b);
	metrics_free();
	return 0;
}
EOF
# link like the library was built (make SAN=address|thread check)
case ${MT_SAN:-} in
address) san="-fsanitize=address -fsanitize=undefined" ;;
'') san= ;;
*) san="-fsanitize=$MT_SAN" ;;
esac
# shellcheck disable=SC2086 # $san is a list of flags
if ! { ${CC:-cc} -std=c11 -D_GNU_SOURCE $san -I"$top/src/lib" -o "$work/families" \
    "$work/families.c" "$MT_BUILD/libmt.a" -lpthread -lm &&
    "$work/families" >"$work/families.txt"; }; then
	echo "# could not render the metric families" >&2
	: >"$work/families.txt"
fi

WORK=$work exec /usr/bin/python3 - <<'PYEOF'
import json, os, re, shutil, subprocess, sys, tempfile

work = os.environ["WORK"]
n = 0
failed = 0

def tap(ok, name, detail=""):
    global n, failed
    n += 1
    print(("ok" if ok else "not ok") + f" {n} - {name}")
    if not ok:
        failed += 1
        for line in str(detail).splitlines():
            print("#   " + line)

def skip(name, why):
    global n
    n += 1
    print(f"ok {n} - {name} # SKIP {why}")

def check(name, fn):
    try:
        problems = fn()
    except Exception as e:  # a crash in a check is a failure of that check
        problems = [f"{type(e).__name__}: {e}"]
    if problems == "skip":
        return
    tap(not problems, name, "\n".join(problems or []))

try:
    import yaml
except ImportError:
    tap(False, "python3-yaml is installed (scripts/install-deps)")
    print(f"1..{n}")
    sys.exit(1)

def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)

compose = load_yaml("docker-compose.yml")
services = compose.get("services", {})

# ---- metric families (rendered by the real metrics.c) ----
families = {}   # name -> (type, set of labels)
text = open(os.path.join(work, "families.txt"), encoding="utf-8").read()
for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
    families[m.group(1)] = [m.group(2), set()]
for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} ", text, re.M):
    name, labels = m.group(1), m.group(2)
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    fam = families.get(name) or families.get(base)
    if fam:
        fam[1].update(re.findall(r'([a-zA-Z_]\w*)="', labels))

def series_names():
    out = {}
    for name, (typ, labels) in families.items():
        if typ == "histogram":
            out[name + "_bucket"] = labels | {"le"}
            out[name + "_sum"] = labels
            out[name + "_count"] = labels
        else:
            out[name] = labels
    return out

def families_rendered():
    want = ["minitower_http_requests_total", "minitower_http_request_duration_seconds",
            "minitower_http_request_size_bytes", "minitower_http_response_size_bytes",
            "minitower_runs_created_total", "minitower_runs_completed_total",
            "minitower_runs_retried_total", "minitower_runs_leased_total",
            "minitower_runners_registered_total", "minitower_run_queue_wait_seconds",
            "minitower_run_execution_seconds", "minitower_run_total_seconds",
            "minitower_runs_pending", "minitower_runners_online"]
    return [f"family {w} missing from the rendered exposition" for w in want if w not in families]
check("metrics.c renders every family of observability.md §1", families_rendered)

PROMQL_WORDS = {"sum", "rate", "irate", "increase", "by", "without", "on", "ignoring", "and", "or",
                "unless", "histogram_quantile", "vector", "max", "min", "avg", "count", "le",
                "group_left", "group_right", "offset", "bool", "topk", "bottomk", "abs", "clamp_min",
                "label_values", "humanize", "humanizeDuration", "humanizePercentage", "time"}

def expr_problems(expr, where):
    """Metric names and label names an expression uses must exist."""
    problems = []
    names = series_names()
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)       # drop string literals
    used = set(re.findall(r"\bminitower_[a-z_]+\b", e))
    for metric in used:
        if metric not in names:
            problems.append(f"{where}: unknown metric {metric}")
    # label matchers: metric{label op "..."}
    for metric, body in re.findall(r"\b(minitower_[a-z_]+)\{([^}]*)\}", e):
        for label in re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", body):
            if metric in names and label not in names[metric]:
                problems.append(f"{where}: {metric} has no label {label}")
    # grouping labels must exist on at least one metric of the expression
    known = set().union(*[names.get(m, set()) for m in used]) if used else set()
    for grp in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", e):
        for label in [x.strip() for x in grp.split(",") if x.strip()]:
            if label not in known:
                problems.append(f"{where}: grouping label {label} not on {sorted(used)}")
    return problems

def promtool_exprs(exprs):
    """PromQL syntax check: the expressions as recording rules."""
    if not shutil.which("promtool"):
        return None
    rules = {"groups": [{"name": "check", "rules": [
        {"record": f"check:expr{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = os.path.join(work, "exprs.yml")
    with open(path, "w") as f:
        yaml.safe_dump(rules, f)
    r = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    return [] if r.returncode == 0 else [r.stdout + r.stderr]

# ---- docker-compose.yml ----
def image_services():
    build = [s for s, d in services.items() if "build" in d]
    img = services[build[0]].get("image") if build else None
    return build, img

def compose_structure():
    p = []
    build, img = image_services()
    if build != ["minitowerd"]:
        p.append(f"only minitowerd should build the image, got {build}")
    runners = [s for s, d in services.items() if "minitower-runner" in (d.get("command") or [])]
    if len(runners) < 2:
        p.append(f"need two runners, got {runners}")
    for s in runners + ["minitowerd"]:
        if services[s].get("image") != img:
            p.append(f"{s} does not use the image {img} built by minitowerd")
    for s in ("prometheus", "grafana"):
        if s not in services:
            p.append(f"service {s} missing")
    env = services.get("grafana", {}).get("environment", {})
    if str(env.get("GF_AUTH_ANONYMOUS_ENABLED")).lower() != "true":
        p.append("grafana without anonymous access")
    if "MINITOWER_UI_DIR" not in services["minitowerd"].get("environment", {}):
        p.append("minitowerd does not serve the UI (MINITOWER_UI_DIR)")
    if "healthcheck" not in services["minitowerd"]:
        p.append("minitowerd has no healthcheck (runners wait for it)")
    declared = set((compose.get("volumes") or {}).keys())
    for s, d in services.items():
        for v in d.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                if not os.path.exists(src):
                    p.append(f"{s}: bind mount source {src} does not exist")
            elif src not in declared:
                p.append(f"{s}: volume {src} not declared")
    for s in runners:
        g = str(services[s].get("stop_grace_period", "10s"))
        secs = int(g[:-1]) * (60 if g.endswith("m") else 1) if re.fullmatch(r"\d+[sm]", g) else 0
        if secs < 80:
            p.append(f"{s}: stop_grace_period {g} below the 80 s drain bound (runner.md §9)")
        if services[s].get("environment", {}).get("MINITOWER_RUNNER_REGISTRATION_TOKEN") != \
                services["minitowerd"]["environment"].get("MINITOWER_RUNNER_REGISTRATION_TOKEN"):
            p.append(f"{s}: registration token differs from minitowerd's")
    return p
check("docker-compose.yml parses: minitowerd, two runners, Prometheus, Grafana, mounts exist", compose_structure)

def listen_port():
    addr = str(services["minitowerd"].get("environment", {}).get("MINITOWER_LISTEN_ADDR", ":8080"))
    return addr.rsplit(":", 1)[1]

def compose_urls():
    p = []
    port = listen_port()
    for s, d in services.items():
        url = (d.get("environment") or {}).get("MINITOWER_SERVER_URL")
        if url and url.rstrip("/") != f"http://minitowerd:{port}":
            p.append(f"{s}: MINITOWER_SERVER_URL {url} is not http://minitowerd:{port}")
    if not any(str(x).endswith(f":{port}") for x in services["minitowerd"].get("ports", [])):
        p.append(f"minitowerd port {port} is not published")
    return p
check("compose: runners reach minitowerd on its listen port", compose_urls)

# ---- configuration variable names ----
def known_vars():
    names = set()
    spec = os.path.join("..", "shared", "spec", "observability.md")
    if os.path.exists(spec):
        sect = open(spec, encoding="utf-8").read().split("## 3. Configuration", 1)[-1]
        names |= set(re.findall(r"`(MINITOWER_[A-Z_]+)`", sect))
    for root in ("src/server", "src/runner", "src/cli"):
        for dp, _, fs in os.walk(root):
            for f in fs:
                if f.endswith((".c", ".h")):
                    names |= set(re.findall(r'"(MINITOWER_[A-Z_]+)"', open(os.path.join(dp, f)).read()))
    return names

def var_names():
    known = known_vars()
    if not known:
        return ["no configuration variables found in the spec or the sources"]
    files = ["docker-compose.yml", "Dockerfile", "scripts/demo-compose.sh"] + \
        [os.path.join("deploy/systemd", f) for f in sorted(os.listdir("deploy/systemd"))]
    p = []
    for f in files:
        for v in sorted(set(re.findall(r"\b(MINITOWER_[A-Z_]+)\b", open(f).read()))):
            if v not in known and v not in ("MINITOWER_URL",):  # demo-compose.sh's own
                p.append(f"{f}: unknown variable {v}")
    return p
check("every MINITOWER_* variable in the ops files is a real setting", var_names)

# ---- Prometheus ----
def prometheus_config():
    cfg = load_yaml("deploy/prometheus/prometheus.yml")
    p = []
    targets = [t for sc in cfg["scrape_configs"] for st in sc.get("static_configs", []) for t in st["targets"]]
    if f"minitowerd:{listen_port()}" not in targets:
        p.append(f"no scrape target minitowerd:{listen_port()} in {targets}")
    mounts = [v for v in services["prometheus"].get("volumes", []) if v.startswith("./deploy/prometheus")]
    if not mounts:
        p.append("compose does not mount deploy/prometheus")
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "config", "deploy/prometheus/prometheus.yml"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            p.append(r.stdout + r.stderr)
    return p
check("prometheus.yml: promtool check config (with alerts.yml), target is minitowerd", prometheus_config)

def alert_metrics():
    rules = load_yaml("deploy/prometheus/alerts.yml")
    p = []
    for g in rules["groups"]:
        for r in g["rules"]:
            p += expr_problems(r["expr"], r.get("alert", r.get("record")))
    return p
check("alerts.yml queries only metrics and labels minitowerd exports", alert_metrics)

# ---- Grafana ----
dash = json.load(open("deploy/grafana/dashboards/minitower.json", encoding="utf-8"))

def panel_list():
    out = []
    for pnl in dash.get("panels", []):
        out.append(pnl)
        out += pnl.get("panels", [])
    return out

def dashboard_exprs():
    exprs = []
    for pnl in panel_list():
        for t in pnl.get("targets", []):
            exprs.append((pnl["title"], t["expr"]))
    return exprs

def grafana_provisioning():
    p = []
    ds = load_yaml("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"]
    uids = {d["uid"] for d in ds}
    if not any(d["url"].rstrip("/") == "http://prometheus:9090" for d in ds):
        p.append("no data source at http://prometheus:9090")
    prov = load_yaml("deploy/grafana/provisioning/dashboards/minitower.yml")["providers"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
    for pr in prov:
        src = mounts.get(pr["options"]["path"])
        if src is None or not os.path.exists(os.path.join(src, "minitower.json")):
            p.append(f"provider path {pr['options']['path']} is not the mounted dashboards directory")
    if "/etc/grafana/provisioning" not in mounts:
        p.append("compose does not mount the provisioning directory")
    ids = [pnl.get("id") for pnl in panel_list()]
    if len(ids) != len(set(ids)):
        p.append("duplicate panel ids")
    for pnl in panel_list():
        if "gridPos" not in pnl:
            p.append(f"panel {pnl.get('title')} has no gridPos")
        if pnl["type"] != "row" and pnl.get("datasource", {}).get("uid") not in uids:
            p.append(f"panel {pnl['title']} uses an unknown data source")
        for t in pnl.get("targets", []):
            if t.get("datasource", {}).get("uid") not in uids:
                p.append(f"panel {pnl['title']}: target uses an unknown data source")
    for v in dash.get("templating", {}).get("list", []):
        if v.get("datasource", {}).get("uid") not in uids:
            p.append(f"variable {v['name']} uses an unknown data source")
    return p
check("grafana: provisioning parses, dashboard JSON parses, data source uids match", grafana_provisioning)

def substitute(expr):
    return expr.replace("$__rate_interval", "5m").replace("$team", ".*").replace("$app", ".*")

def dashboard_coverage():
    text = " ".join(e for _, e in dashboard_exprs())
    p = []
    want = [
        (r"minitower_runs_created_total", "run rate"),
        (r"minitower_runs_completed_total\{[^}]*status=~\"failed\|dead\"", "failure rate"),
        (r"by \(status\) \(rate\(minitower_runs_completed_total", "completions by status"),
        (r"minitower_runs_retried_total", "retries"),
        (r"minitower_runs_pending", "queue depth"),
        (r"minitower_runners_online", "runners online"),
        (r"histogram_quantile\(0\.5, sum by \(le\) \(rate\(minitower_run_queue_wait_seconds_bucket", "queue wait p50"),
        (r"histogram_quantile\(0\.99, sum by \(le\) \(rate\(minitower_run_queue_wait_seconds_bucket", "queue wait p99"),
        (r"histogram_quantile\(0\.95, sum by \(le\) \(rate\(minitower_run_execution_seconds_bucket", "execution p95"),
        (r"histogram_quantile\(0\.99, sum by \(le\) \(rate\(minitower_run_execution_seconds_bucket", "execution p99"),
        (r"sum by \(path\) \(rate\(minitower_http_requests_total", "HTTP rate by path"),
        (r"histogram_quantile\(0\.99, sum by \(le, path\) \(rate\(minitower_http_request_duration_seconds_bucket", "HTTP p99 by path"),
    ]
    for rx, what in want:
        if not re.search(rx, text):
            p.append(f"no panel for {what} ({rx})")
    return p
check("dashboard covers run rate, failures, queue, runners, wait/exec quantiles, HTTP by path", dashboard_coverage)

def dashboard_metrics():
    p = []
    for title, e in dashboard_exprs():
        p += expr_problems(substitute(e), title)
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("definition", "")
        p += expr_problems(substitute(q), "variable " + v["name"])
    return p
check("every metric and label the dashboard queries is exported by minitowerd", dashboard_metrics)

def promql_syntax():
    exprs = [substitute(e) for _, e in dashboard_exprs()]
    r = promtool_exprs(exprs)
    if r is None:
        skip("dashboard PromQL parses (promtool check rules)", "promtool not installed")
        return "skip"
    return r
check("dashboard PromQL parses (promtool check rules)", promql_syntax)

# ---- Dockerfile ----
def dockerfile_stages():
    stages, cur = [], None
    lines = open("Dockerfile").read().replace("\\\n", " ").splitlines()
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            cur = {"image": m.group(1), "name": m.group(2), "cmds": []}
            stages.append(cur)
        else:
            cur["cmds"].append((word, rest.strip()))
    return stages

def apt_packages(stage):
    pk = set()
    for w, rest in stage["cmds"]:
        if w == "RUN":
            for m in re.finditer(r"apt-get install ([^&;]*)", rest):
                pk |= {x for x in m.group(1).split() if not x.startswith("-")}
    return pk

def makefile_var(name):
    m = re.search(rf"^{name}\s*:?=\s*(.*)$", open("Makefile").read(), re.M)
    return m.group(1).split() if m else []

def deb_of(path):
    if not path.startswith("/"):
        return None
    cands = [path, os.path.realpath(os.path.dirname(path)) + "/" + os.path.basename(path)]
    for c in list(cands):
        if c.startswith("/usr/lib/"):
            cands.append(c[4:])
        elif c.startswith("/lib/"):
            cands.append("/usr" + c)
    for c in cands:
        r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    return None

def docker_make_commands():
    p = []
    stages = dockerfile_stages()
    runs = [rest for s in stages for w, rest in s["cmds"] if w == "RUN"]
    makes = [m for r in runs for m in re.findall(r"\bmake\b([^&;|]*)", r)]
    if not makes:
        return ["the Dockerfile does not build with make"]
    targets = set()
    for m in makes:
        targets |= {t for t in m.split() if not t.startswith("-") and "=" not in t and "$" not in t and '"' not in t}
    if "all" not in targets and "" not in targets:
        p.append("the C programs are not built with `make all`")
    if "ui" not in targets:
        p.append("the web UI is not built with `make ui`")
    for t in sorted(targets):
        r = subprocess.run(["make", "-n", t], capture_output=True, text=True)
        if r.returncode != 0 and "No rule to make target" in r.stderr and f"'{t}'" in r.stderr:
            p.append(f"make has no target {t}")
    for r in runs:
        for cmd in re.findall(r"\b(cc|gcc|clang)\s", r):
            p.append(f"the Dockerfile compiles with {cmd} directly instead of make")
    # the programs copied out of the build stage are the ones make builds
    progs = set(re.findall(r"\$\(BIN\)/(minitower[\w-]*)", open("Makefile").read()))
    copied = set()
    for s in stages:
        for w, rest in s["cmds"]:
            if w == "COPY" and "--from=build" in rest:
                copied |= set(re.findall(r"/src/bin/(\S+)", rest))
    if copied != progs:
        p.append(f"copied programs {sorted(copied)} differ from the Makefile's {sorted(progs)}")
    return p
check("Dockerfile builds with the same make targets the Makefile has (all, ui)", docker_make_commands)

def docker_build_deps():
    stages = dockerfile_stages()
    build = next(s for s in stages if s["name"] == "build")
    have = apt_packages(build)
    p = []
    for mod in makefile_var("PKGS"):
        r = subprocess.run(["pkg-config", "--variable=pcfiledir", mod], capture_output=True, text=True)
        if r.returncode != 0:
            p.append(f"pkg-config module {mod} not installed here")
            continue
        deb = deb_of(os.path.join(r.stdout.strip(), mod + ".pc"))
        if deb and deb not in have:
            p.append(f"build stage lacks {deb} (pkg-config {mod})")
    for lib in re.findall(r"-l(\w+)", " ".join(makefile_var("LDLIBS"))):
        deb = None
        for ext in (".so", ".a"):
            r = subprocess.run(["gcc", f"-print-file-name=lib{lib}{ext}"], capture_output=True, text=True)
            deb = deb or deb_of(os.path.normpath(r.stdout.strip()))
        if deb and deb not in have and deb not in ("libc6-dev",):
            p.append(f"build stage lacks {deb} (-l{lib})")
    for need in ("build-essential", "pkg-config"):
        if need not in have:
            p.append(f"build stage lacks {need}")
    return p
check("Dockerfile build stage installs the -dev packages of the Makefile's libraries", docker_build_deps)

def docker_runtime_deps():
    bins = [os.path.join(os.environ["MT_BIN"], b) for b in ("minitowerd", "minitower-runner", "minitower-cli")]
    bins = [b for b in bins if os.path.exists(b)]
    if not bins:
        skip("Dockerfile runtime stage has every shared library the programs need", "programs not built")
        return "skip"
    runtime = dockerfile_stages()[-1]
    have = apt_packages(runtime)
    p = []
    for b in bins:
        r = subprocess.run(["ldd", b], capture_output=True, text=True)
        for m in re.finditer(r"^\s*(\S+) => (\S+)", r.stdout, re.M):
            deb = deb_of(m.group(2))
            if deb is None:
                p.append(f"{b}: cannot find the package of {m.group(2)}")
            elif deb not in have and deb not in ("libc6", "libgcc-s1", "libstdc++6", "zlib1g") \
                    and not re.fullmatch(r"lib(a|ub|t|l)san\d+", deb):   # make SAN=... builds
                # transitive libraries come with the direct ones; check direct ones only
                needed = subprocess.run(["readelf", "-d", b], capture_output=True, text=True).stdout
                if f"[{m.group(1)}]" in needed:
                    p.append(f"runtime stage lacks {deb} ({m.group(1)} needed by {os.path.basename(b)})")
    for need in ("python3", "python3-venv"):
        if need not in have:
            p.append(f"runtime stage lacks {need} (jobs run in venvs)")
    return p
check("Dockerfile runtime stage has every shared library the programs need", docker_runtime_deps)

def docker_copy_sources():
    p = []
    frontend = os.path.exists("frontend/package.json")
    for s in dockerfile_stages():
        for w, rest in s["cmds"]:
            if w != "COPY" or "--from=" in rest:
                continue
            srcs = rest.split()[:-1]
            for src in srcs:
                if src.startswith("frontend") and not frontend:
                    continue
                if not os.path.exists(src):
                    p.append(f"COPY source {src} does not exist")
    ignore = open(".dockerignore").read().split()
    for need in (".git", "build/", "bin/", "frontend/node_modules/"):
        if need not in ignore:
            p.append(f".dockerignore does not exclude {need}")
    cmd_bins = set()
    _, img = image_services()
    for s in services.values():
        c = s.get("command")
        if c and s.get("image") == img:
            cmd_bins.add(c[0])
    final = dockerfile_stages()[-1]
    for w, rest in final["cmds"]:
        if w == "CMD":
            cmd_bins.add(json.loads(rest)[0])
    copied = set(re.findall(r"/src/bin/(\S+)", open("Dockerfile").read()))
    for b in cmd_bins - copied:
        p.append(f"{b} is started but not installed in the image")
    return p
check("Dockerfile COPY sources exist, .dockerignore, started programs are installed", docker_copy_sources)

# ---- systemd ----
def systemd_units():
    p = []
    units = {"minitowerd.service": "/usr/local/bin/minitowerd",
             "minitower-runner@.service": "/usr/local/bin/minitower-runner"}
    d = tempfile.mkdtemp(dir=work)
    for u, exe in units.items():
        text = open(os.path.join("deploy/systemd", u)).read()
        kv = {}
        for line in text.splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                kv.setdefault(k, []).append(v)
        for k, v in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes")):
            if kv.get(k) != [v]:
                p.append(f"{u}: {k}={v} missing")
        for k in ("User", "StateDirectory", "Restart", "ExecStart"):
            if k not in kv:
                p.append(f"{u}: no {k}=")
        if kv.get("User") == ["root"]:
            p.append(f"{u}: runs as root")
        if f"ExecStart={exe}" not in text:
            p.append(f"{u}: ExecStart is not {exe}")
        name = u.replace("@.", "@check.")
        with open(os.path.join(d, name), "w") as f:
            f.write(text.replace(exe, "/bin/true"))
    r_text = open("deploy/systemd/minitower-runner@.service").read()
    m = re.search(r"^TimeoutStopSec=(\d+)s?$", r_text, re.M)
    if not m or int(m.group(1)) < 80:
        p.append("runner unit: TimeoutStopSec below the 80 s drain bound (runner.md §9)")
    if not re.search(r"^KillMode=control-group$", r_text, re.M):
        p.append("runner unit: KillMode=control-group missing (runner.md §9)")
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                           [os.path.join(d, f) for f in sorted(os.listdir(d))],
                           capture_output=True, text=True, cwd=d)
        out = (r.stdout + r.stderr).strip()
        if r.returncode != 0 or out:
            p.append("systemd-analyze verify: " + out)
    return p
check("systemd units: systemd-analyze verify, dedicated user, hardening, drain timeout", systemd_units)

# ---- demo ----
def demo_script():
    p = []
    r = subprocess.run(["sh", "-n", "scripts/demo-compose.sh"], capture_output=True, text=True)
    if r.returncode != 0:
        p.append(r.stderr)
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", "scripts/demo-compose.sh", "tests/e2e/ops_static.sh"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            p.append(r.stdout)
    tok = re.search(r"MINITOWER_BOOTSTRAP_TOKEN:-([^}]*)\}", open("scripts/demo-compose.sh").read())
    ctok = services["minitowerd"]["environment"]["MINITOWER_BOOTSTRAP_TOKEN"]
    if not tok or tok.group(1) not in ctok:
        p.append("demo-compose.sh's default bootstrap token differs from docker-compose.yml's")
    tf = open("deploy/demo/hello/Towerfile").read()
    script = re.search(r'script\s*=\s*"([^"]+)"', tf).group(1)
    if not os.path.exists(os.path.join("deploy/demo/hello", script)):
        p.append(f"demo app script {script} missing")
    return p
check("demo-compose.sh parses (sh -n, shellcheck), demo app complete, tokens agree", demo_script)

def install_deps():
    text = open("scripts/install-deps").read()
    return [] if re.search(r"\bpython3-yaml\b", text) else ["python3-yaml not in scripts/install-deps"]
check("scripts/install-deps installs python3-yaml and promtool's package", lambda: install_deps() +
      ([] if re.search(r"\bprometheus\b", open("scripts/install-deps").read()) else ["prometheus missing"]))

print(f"1..{n}")
sys.exit(1 if failed else 0)
PYEOF
