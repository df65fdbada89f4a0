#!/usr/bin/env python3
"""The fault-injection table (issue 19, "Prove"): every write endpoint x every
fault (SQLITE_BUSY, SQLITE_IOERR, SQLITE_FULL) x every statement of its
transaction, through the -DMT_FAULTS test build of minitowerd
(build/<variant>/faults/bin, POST /__faults). For skip = 0, 1, 2, ... the
fault hits the skip-th SQLite call on the writer (BEGIN, each statement,
COMMIT): the client must get 503 with the JSON envelope and Retry-After,
nothing of the request may be left in the database or the objects
directory, and the same request right after must succeed. The walk ends
when a request passes its whole transaction without meeting the fault.
TAP output; the last line before the plan gives the figures."""
import os
import sqlite3
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import (FAULTS_BIN, REG_TOKEN, Runner, Server, Tap, World,  # noqa: E402
                         artifact, check, eq, line, multipart)

tap = Tap()
KINDS = ("busy", "ioerr", "full")
VOLATILE = {"last_used_at", "last_seen_at"}   # touched outside the request's transaction
MAX_SKIP = 60
totals = {"cases": 0, "faults": 0, "requests": 0}


def snapshot(s):
    """Every row of every table (volatile columns dropped) and the objects dir."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.dir, "mt.db"), uri=True, timeout=10)
    try:
        out = {}
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for t in tables:
            cur = db.execute("SELECT * FROM %s" % t)     # WITHOUT ROWID tables have no rowid
            cols = [d[0] for d in cur.description]
            keep = [i for i, c in enumerate(cols) if c not in VOLATILE]
            out[t] = sorted((tuple(r[i] for i in keep) for r in cur), key=repr)
    finally:
        db.close()
    files = []
    for root, _, names in os.walk(os.path.join(s.dir, "objects")):
        files += [os.path.relpath(os.path.join(root, n), s.dir) for n in names]
    out["files"] = sorted(files)
    return out


def arm(s, kind, skip, count=1):
    r = s.client().call("POST", "/__faults", {"kind": kind, "skip": skip, "count": count})
    eq(r.status, 200, "arm")
    return r.json["injected"]


def injected(s):
    return arm(s, "off", 0, 0)


def diff(a, b):
    return {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}


def walk(s, name, setup):
    """Walks the fault through every statement of the request setup() gives."""
    for kind in KINDS:
        hit = 0
        for skip in range(MAX_SKIP):
            do = setup()
            before_n = injected(s)
            before = snapshot(s)
            arm(s, kind, skip)
            r = do()
            after_n = injected(s)        # also disarms
            totals["requests"] += 1
            if after_n == before_n:      # the fault lay beyond the request
                check(200 <= r.status < 300, "%s %s skip=%d: %r" % (name, kind, skip, r))
                break
            if 200 <= r.status < 300:    # met by a write that may fail (token touch)
                continue
            hit += 1
            what = "%s %s skip=%d" % (name, kind, skip)
            eq(r.status, 503, what + " " + r.text)
            eq(r.json["error"]["code"], "unavailable", what)
            check(r.header("Retry-After") is not None, what + ": no Retry-After")
            d = diff(before, snapshot(s))
            check(not d, "%s left a partial write: %r" % (what, d))
            r2 = do()
            totals["requests"] += 1
            check(200 <= r2.status < 300, "%s: the request after the fault: %r" % (what, r2))
        else:
            raise AssertionError("%s %s: no end after %d statements" % (name, kind, MAX_SKIP))
        check(hit > 0, "%s %s: no fault reached the client" % (name, kind))
        totals["cases"] += 1
        totals["faults"] += hit


class Ctx:
    def __init__(self, s):
        self.s = s
        self.w = World(s)
        self.rn = Runner(s)
        self.c = s.client()

    def uniq(self, p):
        return p + uuid.uuid4().hex[:10]

    def leased(self, start=False):
        """A fresh runner (one lease per runner) leasing a fresh run."""
        self.w.create({})
        self.rn = Runner(self.s)
        r = self.rn.lease()
        eq(r.status, 200, "lease")
        rid, tok = r.json["run_id"], r.json["lease_token"]
        if start:
            eq(self.rn.start(rid, tok).status, 200, "start")
        return rid, tok


def cases(x):
    w, c = x.w, x.c
    team = lambda m, p, b=None, h=None: c.call(m, p, b, token=w.token, headers=h)

    def signup():
        slug = x.uniq("t")
        return lambda: c.call("POST", "/api/v1/teams/signup",
                              {"slug": slug, "name": "T", "password": "pw-secret-1"})

    def login():
        return lambda: c.call("POST", "/api/v1/teams/login",
                              {"slug": w.slug, "password": "pw-" + w.slug})

    def token_create():
        name = x.uniq("tok")
        return lambda: team("POST", "/api/v1/tokens", {"name": name})

    def token_revoke():
        tid = team("POST", "/api/v1/tokens", {"name": x.uniq("tok")}).json["token_id"]
        return lambda: team("DELETE", "/api/v1/tokens/%d" % tid)

    def app_create():
        slug = x.uniq("a")
        return lambda: team("POST", "/api/v1/apps", {"slug": slug})

    def version_upload():
        body, ctype = multipart("artifact", "a.tar.gz", artifact(
            '[app]\nname = "%s"\nscript = "main.py"\n' % w.app, {"main.py": x.uniq("# ")}))
        return lambda: team("POST", "/api/v1/apps/%s/versions" % w.app, body,
                            {"Content-Type": ctype})

    def run_create():
        return lambda: w.create({})

    def run_create_idem():
        key = x.uniq("k")
        return lambda: w.create({}, headers={"Idempotency-Key": key})

    def run_cancel():
        rid = w.create({}).json["run_id"]
        return lambda: w.cancel(rid)

    def register():
        name = x.uniq("r")
        return lambda: c.call("POST", "/api/v1/runners/register", {"name": name}, token=REG_TOKEN)

    def lease():
        w.create({})
        rn = Runner(x.s)
        return lambda: rn.lease()

    def start():
        rid, tok = x.leased()
        rn = x.rn
        return lambda: rn.start(rid, tok)

    def heartbeat():
        rid, tok = x.leased(True)
        rn = x.rn
        return lambda: rn.heartbeat(rid, tok)

    def logs():
        rid, tok = x.leased(True)
        rn = x.rn

        def post():     # the retry after a fault sends the same lines again
            return rn.log(rid, tok, [line(1, "a"), line(2, "b")])
        return post

    def result():
        rid, tok = x.leased(True)
        rn = x.rn
        return lambda: rn.result(rid, tok)

    def release():
        rid, tok = x.leased(True)
        rn = x.rn
        return lambda: rn.release(rid, tok)

    return [signup, login, token_create, token_revoke, app_create, version_upload,
            run_create, run_create_idem, run_cancel, register, lease, start, heartbeat,
            logs, result, release]


def reads_fail_honestly(x):
    """With the readers faulted too, a read answers 503, never 500 or 401,
    and the next one succeeds. (Three calls fail: a token touch on the way
    may take one.)"""
    w, c = x.w, x.c
    rid = w.create({}).json["run_id"]
    reads = [("/api/v1/runs", w.token), ("/api/v1/runs/%d" % rid, w.token),
             ("/api/v1/apps/%s" % w.app, w.token), ("/api/v1/runs/%d/attempts" % rid, w.token)]
    for path, tok in reads:
        for kind in KINDS:
            x.s.client().call("POST", "/__faults", {"kind": kind, "skip": 0, "count": 3, "all": True})
            r = c.call("GET", path, token=tok)
            n = injected(x.s)       # and disarms what is left
            check(n > 0, "no fault injected")
            eq(r.status, 503, "%s %s: %s" % (path, kind, r.text))
            eq(r.json["error"]["code"], "unavailable")
            eq(c.call("GET", path, token=tok).status, 200, "%s after the fault" % path)
            totals["faults"] += 1


def make_test(case):
    def t(x):
        walk(x.s, case.__name__, case)
    t.__name__ = "fault_table_" + case.__name__
    return t


def main():
    if not os.path.exists(os.path.join(FAULTS_BIN, "minitowerd")):
        print("1..1\nok 1 - fault table # SKIP no -DMT_FAULTS build in %s" % FAULTS_BIN)
        return 0
    s = Server({"MINITOWER_EXPIRY_CHECK_INTERVAL": "1h"}, bindir=FAULTS_BIN)
    try:
        x = Ctx(s)
        for case in cases(x):
            tap.test(make_test(case))
        tap.test(reads_fail_honestly)
        fail = tap.main(x)
        print("# %(cases)d cases, %(faults)d faults injected and answered 503, "
              "%(requests)d requests" % totals)
    finally:
        rc = s.stop()
    if rc not in (0, None):
        print("not ok - minitowerd exited with %s" % rc)
        fail += 1
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
