#!/usr/bin/env python3
"""Run lists for the web UI (issue 17): ?order=recent (newest first),
?total=true (X-Total-Count), the default order and bytes unchanged; and
POST /api/v1/auth/logout revoking the calling token."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from runs_common import Runner, Tap, World, check, eq, run_suite  # noqa: E402

tap = Tap()
test = tap.test


def ids(r):
    eq(r.status, 200, r.text)
    return [x["run_id"] for x in r.json["runs"]]


def world_with_runs(s):
    """Seven runs over two apps: two completed, one running, four queued."""
    w = World(s)
    made = [w.create().json["run_id"] for _ in range(4)]
    other = w.c.call("POST", "/api/v1/apps", {"slug": w.app + "b"}, token=w.token)
    eq(other.status, 201, other.text)
    w2 = World.__new__(World)
    w2.__dict__.update(w.__dict__)
    w2.app = w.app + "b"
    w2.upload()
    made += [w2.create().json["run_id"] for _ in range(3)]
    rn = Runner(s)
    for i in range(3):	# the oldest three: two completed, one left running
        lease = rn.lease().json
        eq(rn.start(lease["run_id"], lease["lease_token"]).status, 200)
        if i < 2:
            eq(rn.result(lease["run_id"], lease["lease_token"]).status, 200)
    return w, made


@test
def recent_is_newest_first(s):
    w, made = world_with_runs(s)
    got = ids(w.c.call("GET", "/api/v1/runs?order=recent&limit=100", token=w.token))
    eq(got, sorted(made, reverse=True), "newest queued first")
    default = ids(w.c.call("GET", "/api/v1/runs?limit=100", token=w.token))
    eq(sorted(default), sorted(made))
    check(default != got, "the default (status) order differs from recent here: %r" % default)
    status = [x["status"] for x in w.c.call("GET", "/api/v1/runs?limit=100", token=w.token).json["runs"]]
    eq(status[0], "running", "default order still puts active runs first")
    # with filters and paging
    q = ids(w.c.call("GET", "/api/v1/runs?order=recent&status=queued", token=w.token))
    eq(q, sorted(q, reverse=True))
    eq(len(q), 4)
    page = ids(w.c.call("GET", "/api/v1/runs?order=recent&limit=2&offset=1", token=w.token))
    eq(page, sorted(made, reverse=True)[1:3])
    a = ids(w.c.call("GET", "/api/v1/runs?order=recent&app=" + w.app, token=w.token))
    eq(a, sorted(made[:4], reverse=True))
    app = ids(w.c.call("GET", "/api/v1/apps/%s/runs?order=recent" % w.app, token=w.token))
    eq(app, sorted(made[:4], reverse=True), "app list: newest first as always")


@test
def total_only_when_asked(s):
    w, made = world_with_runs(s)
    r = w.c.call("GET", "/api/v1/runs?limit=2", token=w.token)
    eq(r.header("X-Total-Count"), None, "no count unless asked")
    r = w.c.call("GET", "/api/v1/runs?limit=2&total=true", token=w.token)
    eq(r.header("X-Total-Count"), "7")
    eq(len(r.json["runs"]), 2)
    r = w.c.call("GET", "/api/v1/runs?total=true&status=completed", token=w.token)
    eq(r.header("X-Total-Count"), str(len(r.json["runs"])))
    r = w.c.call("GET", "/api/v1/runs?total=true&app=%sb&order=recent" % w.app, token=w.token)
    eq(r.header("X-Total-Count"), "3")
    r = w.c.call("GET", "/api/v1/runs?total=true&app=nosuchapp", token=w.token)
    eq(r.header("X-Total-Count"), "0")
    r = w.c.call("GET", "/api/v1/apps/%s/runs?total=true&limit=1" % w.app, token=w.token)
    eq(r.header("X-Total-Count"), "4")
    r = w.c.call("GET", "/api/v1/runs?total=false", token=w.token)
    eq(r.header("X-Total-Count"), None)
    other = World(s)
    r = other.c.call("GET", "/api/v1/runs?total=true", token=other.token)
    eq(r.header("X-Total-Count"), "0", "another team counts only its own")


@test
def bad_options_are_400(s):
    w = World(s)
    for q, msg in (("order=oldest", 'order must be "recent"'), ("order=RECENT", 'order must be "recent"'),
                   ("total=yes", "total must be true or false"), ("total=1", "total must be true or false")):
        for path in ("/api/v1/runs?", "/api/v1/apps/%s/runs?" % w.app):
            r = w.c.call("GET", path + q, token=w.token)
            eq(r.error(), (400, "invalid_request", msg), path + q)


@test
def logout_revokes_the_calling_token(s):
    w = World(s)
    r = w.c.call("POST", "/api/v1/teams/login", {"slug": w.slug, "password": "pw-" + w.slug})
    eq(r.status, 201, r.text)
    session, session_id = r.json["token"], r.json["token_id"]
    eq(w.c.call("GET", "/api/v1/me", token=session).status, 200)
    r = w.c.call("POST", "/api/v1/auth/logout", token=session)
    eq(r.status, 204, r.text)
    eq(r.data, b"")
    eq(w.c.call("GET", "/api/v1/me", token=session).error()[0], 401, "the signed-out token is refused")
    eq(w.c.call("POST", "/api/v1/auth/logout", token=session).error()[0], 401, "twice: 401")
    eq(w.c.call("GET", "/api/v1/me", token=w.token).status, 200, "other tokens of the team still work")
    toks = w.c.call("GET", "/api/v1/tokens", token=w.token).json["tokens"]
    eq([t["token_id"] for t in toks if t["token_id"] == session_id], [], "revoked: gone from the list")
    check(len(toks) >= 1, "the signup token is still listed")
    eq(w.c.call("POST", "/api/v1/auth/logout").error()[0], 401, "no token")
    eq(w.c.call("GET", "/api/v1/auth/logout", token=w.token).error()[0], 405)
    rn = Runner(s)
    eq(rn.c.call("POST", "/api/v1/auth/logout", token=rn.token).error()[0], 401, "a runner token is not a team token")


if __name__ == "__main__":
    run_suite(tap)
