"""Throttling of password attempts and the password-hash gate (api.md §0.8,
§1.2, issue 2) against a real minitowerd: failed logins per slug and per
client address answer 429 with the error envelope and Retry-After, a
successful login clears its slug, signups per address answer 429 without
creating a team, and with MINITOWER_PASSWORD_HASH_CONCURRENCY=1 a request that
cannot get a hash slot for 5 s answers 503 with Retry-After: 1. The slot is
held deterministically by a login against a legacy bcrypt hash of a high cost
(written into the database), whose verification takes many seconds; the test
polls for that state in bounded rounds and asserts outcomes, never timings."""
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtserver import BOOT_TOKEN, BIN, Server, Tap  # noqa: E402

t = Tap()
test = t.test
MSG_429 = ("too_many_requests", "too many failed attempts; retry later")
MSG_503 = ("unavailable", "server busy")
# A real bcrypt hash (cost 12, password "pw"); its cost field is raised below.
BCRYPT = "$2b$12$abcdefghijklmnopqrstuunYdhHrPrQsWwVD7FJZar2U048CuDd2m"


def login(s, slug, pw):
    return s.req("POST", "/api/v1/teams/login", {"slug": slug, "password": pw})


def signup(s, slug, pw="pw-secret-1"):
    return s.req("POST", "/api/v1/teams/signup", {"slug": slug, "name": slug, "password": pw})


def envelope(st, h, body, status, code_msg):
    assert st == status, (st, body)
    assert h.get("content-type") == "application/json", h
    assert isinstance(body, dict) and list(body) == ["error"], body
    assert list(body["error"]) == ["code", "message"], body
    assert (body["error"]["code"], body["error"]["message"]) == code_msg, body


def is_429(r):
    st, h, body = r
    envelope(st, h, body, 429, MSG_429)
    ra = h.get("retry-after", "")
    assert ra.isdigit() and 1 <= int(ra) <= 60, "Retry-After %r" % ra
    return True


def team_count(s, slug):
    db = sqlite3.connect(s.env["MINITOWER_DB_PATH"], timeout=30)
    try:
        return db.execute("SELECT count(*) FROM teams WHERE slug = ?", (slug,)).fetchone()[0]
    finally:
        db.close()


def server(**env):
    return Server(env={k: str(v) for k, v in env.items()}).start()


# ---- login throttling -----------------------------------------------------

@test
def login_slug_limit_answers_429(_):
    with server(MINITOWER_LOGIN_FAILURES_PER_MINUTE=3) as s:
        s.signup("alpha", "right-pw")
        s.signup("beta", "right-pw")
        for _ in range(3):
            assert login(s, "alpha", "wrong")[0] == 401
        is_429(login(s, "alpha", "wrong"))
        # Checked before any password work: the right password is refused too.
        is_429(login(s, "alpha", "right-pw"))
        # Validation comes first (api.md §1.2.3 order).
        st, _, b = login(s, "alpha", "")
        assert st == 400 and b["error"]["message"] == "slug and password are required", b
        st, _, b = login(s, "alpha", "x" * 1025)
        assert st == 400 and b["error"]["message"] == "password must be at most 1024 bytes", b
        # Another slug from the same address is below both limits.
        st, _, b = login(s, "beta", "right-pw")
        assert st == 201, b


@test
def login_success_clears_slug_count(_):
    with server(MINITOWER_LOGIN_FAILURES_PER_MINUTE=3) as s:
        s.signup("gamma", "right-pw")
        for _ in range(2):
            assert login(s, "gamma", "wrong")[0] == 401
        assert login(s, "gamma", "right-pw")[0] == 201
        # Without the reset the second of these would already be refused.
        for i in range(3):
            st, _, b = login(s, "gamma", "wrong")
            assert st == 401, (i, st, b)
        is_429(login(s, "gamma", "wrong"))


@test
def login_unknown_slug_is_counted(_):
    with server(MINITOWER_LOGIN_FAILURES_PER_MINUTE=2) as s:
        for _ in range(2):
            st, _, b = login(s, "nobody", "pw")
            assert st == 401 and b["error"]["message"] == "invalid slug or password", b
        is_429(login(s, "nobody", "pw"))


@test
def login_address_limit_is_five_times(_):
    with server(MINITOWER_LOGIN_FAILURES_PER_MINUTE=2) as s:
        s.signup("delta", "right-pw")
        for i in range(10):   # one failure each on ten slugs: 10 = 5 x 2 for the address
            st, _, b = login(s, "ghost-%d" % i, "pw")
            assert st == 401, (i, st, b)
        is_429(login(s, "ghost-new", "pw"))
        is_429(login(s, "delta", "right-pw"))


@test
def bootstrap_wrong_token_counts_for_address(_):
    # api.md §0.8: a bootstrap call with a wrong operator token counts against
    # the client address; enough of them throttle logins from that address.
    with server(MINITOWER_LOGIN_FAILURES_PER_MINUTE=2) as s:
        s.signup("echo", "right-pw")
        body = {"slug": "echo", "name": "echo"}
        for i in range(9):
            st, _, b = s.req("POST", "/api/v1/bootstrap/team", body, token="wrong-%d" % i)
            envelope(st, {"content-type": "application/json"}, b, 401,
                     ("unauthorized", "invalid or missing token"))
        st, _, b = login(s, "echo", "right-pw")   # 9 < 10: still allowed
        assert st == 201, (st, b)
        st, _, b = s.req("POST", "/api/v1/bootstrap/team", body, token="wrong-last")
        assert st == 401, (st, b)
        is_429(login(s, "echo", "right-pw"))
        st, _, b = s.req("POST", "/api/v1/bootstrap/team", body, token=BOOT_TOKEN)
        assert st == 200, (st, b)   # the right operator token is not throttled


@test
def login_limit_zero_disables(_):
    with server(MINITOWER_LOGIN_FAILURES_PER_MINUTE=0) as s:
        s.signup("eps", "right-pw")
        for i in range(12):
            st, _, b = login(s, "eps", "wrong")
            assert st == 401, (i, st, b)
        assert login(s, "eps", "right-pw")[0] == 201


# ---- signup throttling ----------------------------------------------------

@test
def signup_limit_answers_429_and_creates_nothing(_):
    with server(MINITOWER_SIGNUPS_PER_MINUTE=2) as s:
        assert signup(s, "one")[0] == 201
        assert signup(s, "one")[0] == 409            # failed signups do not count
        assert signup(s, "Bad Slug")[0] == 400
        assert signup(s, "two")[0] == 201
        r = signup(s, "three")
        is_429(r)
        is_429(signup(s, "three"))
        st, _, b = signup(s, "Bad Slug")               # validation comes first
        assert st == 400 and b["error"]["code"] == "invalid_slug", b
        assert team_count(s, "three") == 0
        assert login(s, "three", "pw-secret-1")[0] == 401
        assert team_count(s, "one") == 1 and team_count(s, "two") == 1


@test
def config_rejects_bad_limits(_):
    cases = [("MINITOWER_LOGIN_FAILURES_PER_MINUTE", "-1",
              "MINITOWER_LOGIN_FAILURES_PER_MINUTE must be a non-negative integer"),
             ("MINITOWER_SIGNUPS_PER_MINUTE", "ten",
              "MINITOWER_SIGNUPS_PER_MINUTE must be a non-negative integer"),
             ("MINITOWER_PASSWORD_HASH_CONCURRENCY", "0",
              "MINITOWER_PASSWORD_HASH_CONCURRENCY must be a positive integer")]
    for key, val, msg in cases:
        s = Server(env={key: val})
        try:
            p = subprocess.run([os.path.join(BIN, "minitowerd")], env=s.env, cwd=s.tmp,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        finally:
            shutil.rmtree(s.tmp, ignore_errors=True)
        lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
        assert p.returncode == 1, (key, p.returncode, lines)
        assert [(l["msg"], l["error"]) for l in lines] == [("config error", msg)], lines


# ---- the password-hash gate -----------------------------------------------

def bcrypt_cost():
    """A bcrypt cost whose verification takes about 10 s here (7 to 14 s):
    twice the 5 s gate wait. A holder that ends too early is retried with a
    higher cost by the workload."""
    t12 = 0.25
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt
        start = time.time()
        crypt.crypt("pw", BCRYPT)
        t12 = max(time.time() - start, 0.01)
    except Exception:  # noqa: BLE001 - no crypt module: assume a fast machine
        pass
    return max(16, min(22, 12 + round(math.log2(10.0 / t12))))


class Holder(threading.Thread):
    """A login against the slow bcrypt hash: it holds the only hash slot."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.result = s, None

    def run(self):
        self.result = self.s.req("POST", "/api/v1/teams/login", {"slug": "slow", "password": "nope"},
                                 timeout=600)


def round_of_requests(s, k):
    """Sends the hash-needing requests at once; returns {name: response}."""
    out = {}
    calls = {
        "login": lambda: login(s, "okteam", "right-pw"),
        "signup": lambda: signup(s, "busy-%d" % k, "pw-busy"),
        "bootstrap": lambda: s.req("POST", "/api/v1/bootstrap/team",
                                   {"slug": "okteam", "name": "okteam", "password": "right-pw"},
                                   token=BOOT_TOKEN),
        "throttled": lambda: login(s, "locked", "pw"),
        "health": lambda: s.req("GET", "/health"),
    }

    def go(name, fn):
        out[name] = fn()
    ths = [threading.Thread(target=go, args=item) for item in calls.items()]
    for th in ths:
        th.start()
    for th in ths:
        th.join(120)
    return out


HG = {}


@test
def hash_gate_workload(_):
    s = server(MINITOWER_PASSWORD_HASH_CONCURRENCY=1, MINITOWER_LOGIN_FAILURES_PER_MINUTE=2)
    HG["s"] = s
    s.signup("slow", "whatever")
    s.signup("okteam", "right-pw")
    for _ in range(2):
        assert login(s, "locked", "pw")[0] == 401
    cost = bcrypt_cost()
    HG["rounds"] = rounds = []
    HG["holders"] = holders = []
    for attempt in range(3):
        db = sqlite3.connect(s.env["MINITOWER_DB_PATH"], timeout=30)
        db.execute("UPDATE teams SET password_hash = ? WHERE slug = 'slow'",
                   (BCRYPT.replace("$12$", "$%02d$" % (cost + attempt), 1),))
        db.commit()
        db.close()
        h = Holder(s)
        holders.append(h)
        h.start()
        for _ in range(12):
            r = round_of_requests(s, len(rounds))
            rounds.append(r)
            if all(r[n][0] == 503 for n in ("login", "signup", "bootstrap")) or not h.is_alive():
                break
        h.join(600)
        if any(all(r[n][0] == 503 for n in ("login", "signup", "bootstrap")) for r in rounds):
            break
    print("# bcrypt cost %d, %d round(s), %d holder(s)" % (cost, len(rounds), len(holders)))


@test
def hash_gate_answers_503_with_retry_after(_):
    full = [r for r in HG["rounds"] if all(r[n][0] == 503 for n in ("login", "signup", "bootstrap"))]
    assert full, [{n: r[n][0] for n in r} for r in HG["rounds"]]
    for r in full:
        for n in ("login", "signup", "bootstrap"):
            st, h, b = r[n]
            envelope(st, h, b, 503, MSG_503)
            assert h.get("retry-after") == "1", h


@test
def hash_gate_other_answers_are_normal(_):
    want = {"login": (201, 503), "signup": (201, 503), "bootstrap": (200, 503)}
    for r in HG["rounds"]:
        for n, ok in want.items():
            assert r[n][0] in ok, (n, r[n])
            if r[n][0] == 503:
                envelope(*r[n], 503, MSG_503)
        assert r["health"][0] == 200, r["health"]
    assert all(h.result is not None and h.result[0] == 401 for h in HG["holders"]), \
        [h.result for h in HG["holders"]]


@test
def hash_gate_busy_signup_creates_no_team(_):
    s = HG["s"]
    for k, r in enumerate(HG["rounds"]):
        st = r["signup"][0]
        assert team_count(s, "busy-%d" % k) == (1 if st == 201 else 0), (k, st)


@test
def throttle_checked_before_hash_gate(_):
    # While the only slot was held, a throttled slug still got 429 (not 503).
    for r in HG["rounds"]:
        is_429(r["throttled"])


@test
def hash_gate_recovers(_):
    s = HG["s"]
    for _ in range(2):
        st, _, b = login(s, "okteam", "right-pw")
        assert st == 201, b
    assert signup(s, "after-busy")[0] == 201
    assert s.stop() == 0


def main():
    try:
        t.run(None)
    finally:
        if "s" in HG:
            HG["s"].__exit__(None, None, None)


if __name__ == "__main__":
    main()
