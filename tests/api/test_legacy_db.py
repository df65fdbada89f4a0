"""A database written by an earlier MiniTower server (schema versions 1-5,
bcrypt password) opens with minitowerd, gets migrations 6 and 7 only, and keeps
working: login (bcrypt verified, then rehashed to Argon2id), apps, versions,
runs and logs are served."""
import hashlib
import os
import sqlite3
import tempfile

from mtserver import ROOT, Server, Tap

t = Tap()
MIG = os.path.join(ROOT, "src", "server", "migrations")
BCRYPT = "$2b$12$SLGHW8Zfp4ZcKRteP91jWOVV62cPOSpEOZYZys0s92CWa23oEiCRi"  # "legacy-pw"
OLD_TOKEN = "mtk_legacylegacylegacylegacylegacylegacylegac"


def build_fixture(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
    for f in sorted(os.listdir(MIG)):
        v = int(f.split("_")[0])
        if v > 5:
            continue
        db.executescript(open(os.path.join(MIG, f)).read())
        db.execute("INSERT INTO schema_migrations VALUES(?, 1700000000000)", (v,))
    ms = 1700000000123
    db.execute("INSERT INTO teams(id, slug, name, created_at, updated_at, password_hash) VALUES(1,'legacy','Legacy',?,?,?)", (ms, ms, BCRYPT))
    db.execute("INSERT INTO team_tokens(id, team_id, token_hash, name, created_at, role) VALUES(1,1,?,'cli',?,'admin')",
               (hashlib.sha256(OLD_TOKEN.encode()).hexdigest(), ms))
    db.execute("INSERT INTO environments VALUES(1,1,'default',1,?,?)", (ms, ms))
    db.execute("INSERT INTO apps VALUES(1,1,'hello','old app',0,?,?)", (ms, ms))
    db.execute("INSERT INTO app_versions VALUES(1,1,1,'1/x.tar.gz',?, './main.py', 60, NULL, ?, '[app]\nname=\"hello\"\nscript=\"./main.py\"\n', NULL)",
               ("ab" * 32, ms))
    db.execute("INSERT INTO runs VALUES(1,1,1,1,1,1,'{\"name\":\"World\"}','completed',0,0,0,0,?,?,?,?,?)", (ms, ms + 1000, ms + 2000, ms, ms))
    db.execute("INSERT INTO runners VALUES(1,'old-runner','default',NULL,?,'offline',1,?,?,?)", ("cd" * 32, ms, ms, ms))
    db.execute("INSERT INTO run_attempts VALUES(1,1,1,1,?,?,'completed',0,NULL,?,?,?,?)", ("ef" * 32, ms + 60000, ms + 1000, ms + 2000, ms, ms))
    db.execute("INSERT INTO run_logs VALUES(1,1,1,'stdout','Hello, World!',?)", (ms + 1500,))
    db.commit()
    db.close()


@t.test
def migrates_only_versions_after_5(s):
    db = sqlite3.connect(s.env["MINITOWER_DB_PATH"])
    versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    applied = dict(db.execute("SELECT version, applied_at FROM schema_migrations"))
    mdir = os.path.join(ROOT, "src", "server", "migrations")
    ours = sorted(int(f.split("_")[0]) for f in os.listdir(mdir) if f.endswith(".up.sql"))
    assert versions == ours and ours[:7] == [1, 2, 3, 4, 5, 6, 7], (versions, ours)
    assert all(applied[v] == 1700000000000 for v in range(1, 6))
    cols = [r[1] for r in db.execute("PRAGMA table_info(run_attempts)")]
    assert "result_reported_at" in cols
    assert {"reason", "peak_memory_bytes", "cpu_user_ms", "cpu_system_ms"} <= set(cols), cols


@t.test
def old_token_and_data_served(s):
    st, _, me = s.req("GET", "/api/v1/me", token=OLD_TOKEN)
    assert st == 200 and me["team_slug"] == "legacy", me
    st, _, apps = s.req("GET", "/api/v1/apps", token=OLD_TOKEN)
    assert apps["apps"][0]["description"] == "old app"
    assert apps["apps"][0]["created_at"] == "2023-11-14T22:13:20.123Z", apps
    st, _, vs = s.req("GET", "/api/v1/apps/hello/versions", token=OLD_TOKEN)
    assert st == 200 and vs["versions"][0]["entrypoint"] == "./main.py" and vs["versions"][0]["timeout_seconds"] == 60


@t.test
def old_runs_and_logs_served(s):
    st, _, run = s.req("GET", "/api/v1/runs/1", token=OLD_TOKEN)
    assert st == 200 and run["status"] == "completed" and run["input"] == {"name": "World"}, run
    st, _, logs = s.req("GET", "/api/v1/runs/1/logs", token=OLD_TOKEN)
    assert st == 200 and logs["logs"][0]["line"] == "Hello, World!", logs
    st, _, atts = s.req("GET", "/api/v1/runs/1/attempts", token=OLD_TOKEN)
    assert st == 200 and len(atts["attempts"]) >= 1, atts


@t.test
def bcrypt_login_then_rehash(s):
    st, _, b = s.req("POST", "/api/v1/teams/login", {"slug": "legacy", "password": "wrong"})
    assert st == 401
    st, _, b = s.req("POST", "/api/v1/teams/login", {"slug": "legacy", "password": "legacy-pw"})
    assert st == 201, b
    db = sqlite3.connect(s.env["MINITOWER_DB_PATH"])
    h = db.execute("SELECT password_hash FROM teams WHERE id=1").fetchone()[0]
    assert h.startswith("$argon2id$"), h
    st, _, b = s.req("POST", "/api/v1/teams/login", {"slug": "legacy", "password": "legacy-pw"})
    assert st == 201, b


@t.test
def newer_database_refused(s):
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "newer.db")
    build_fixture(path)
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_migrations VALUES(99, 1)")
    db.commit()
    srv = Server(db_path=path)
    try:
        srv.start()
        started = True
    except RuntimeError:
        started = False
    srv.stop()
    assert not started and any("migration error" in l for l in srv.lines), srv.lines


if __name__ == "__main__":
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "legacy.db")
    build_fixture(path)
    with Server(db_path=path) as srv:
        t.run(srv)
