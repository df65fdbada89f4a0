"""API tests of the foundations (issue 2): health, errors, routing, auth,
teams, tokens, apps, versions, CORS, body limits — against a real minitowerd."""
import http.client
import io
import json
import re
import tarfile

from mtserver import (BOOT_TOKEN, HELLO_MAIN, HELLO_TOWERFILE, Server, Tap, make_tgz)

t = Tap()


def err(body):
    return body["error"]["code"], body["error"]["message"]


@t.test
def health_ready_and_compact_json(s):
    st, h, body = s.req("GET", "/health", raw=True)
    assert st == 200 and body == b'{"status":"ok"}\n', body
    assert h["content-type"] == "application/json"
    assert re.fullmatch(r"[0-9a-f]{32}", h["x-request-id"])
    st, _, body = s.req("GET", "/ready")
    assert st == 200 and body == {"status": "ok"}
    st, h, body = s.req("POST", "/health")
    assert st == 405 and h["allow"] == "GET" and err(body) == ("method_not_allowed", "method not allowed")


@t.test
def request_id_echoed(s):
    st, h, _ = s.req("GET", "/health", headers={"X-Request-Id": "abc-123"})
    assert h["x-request-id"] == "abc-123"
    st, h, _ = s.req("GET", "/health", headers={"X-Request-Id": "x" * 129})
    assert re.fullmatch(r"[0-9a-f]{32}", h["x-request-id"])


@t.test
def unknown_routes_and_methods(s):
    st, _, body = s.req("GET", "/api/v1/nope")
    assert st == 404 and err(body) == ("not_found", "route not found")
    st, _, body = s.req("GET", "/")
    assert st == 404 and err(body)[1] == "web UI not available: set MINITOWER_UI_DIR to the built UI"
    st, _, body = s.req("GET", "/api/v1/runs/1/bogus")
    assert st == 404, body
    st, h, body = s.req("DELETE", "/api/v1/runs/1")
    assert st == 405 and h["allow"] == "GET"
    st, _, body = s.req("DELETE", "/api/v1/me")
    assert st == 401 and err(body) == ("unauthorized", "invalid or missing token")
    # a decoded path with a NUL is not the route before the NUL (api.md §0.11)
    for path in ("/health%00x", "/health%00", "/api/v1/auth/options%00", "/ready%00?x=1"):
        st, _, body = s.req("GET", path)
        assert st == 404 and err(body) == ("not_found", "route not found"), (path, st, body)
    st, _, body = s.req("GET", "/health?x=%00")   # a NUL in the query is not in the path
    assert st == 200, body


@t.test
def auth_options(s):
    st, _, body = s.req("GET", "/api/v1/auth/options", raw=True)
    assert st == 200 and body == b'{"signup_enabled":true,"bootstrap_enabled":true}\n', body


@t.test
def signup_and_errors(s):
    st, _, body = s.req("POST", "/api/v1/teams/signup", {"slug": "team-a", "name": " A ", "password": "pw"}, raw=True)
    assert st == 201, body
    assert re.fullmatch(rb'\{"team_id":\d+,"slug":"team-a","token":"mtk_[A-Za-z0-9_-]{43}","role":"admin"\}\n', body), body
    cases = [
        ("{", ("invalid_request", "invalid JSON body")),
        ({"slug": "", "name": "x", "password": "p"}, ("invalid_slug", "slug cannot be empty")),
        ({"slug": "ab", "name": "x", "password": "p"}, ("invalid_slug", "slug must be at least 3 characters")),
        ({"slug": "Abc", "name": "x", "password": "p"}, ("invalid_slug", "slug must start with a letter and contain only lowercase letters, numbers, and hyphens")),
        ({"slug": "admin", "name": "x", "password": "p"}, ("invalid_slug", "slug is reserved")),
        ({"slug": "team-b", "name": "  ", "password": "p"}, ("invalid_request", "name is required")),
        ({"slug": "team-b", "name": "b", "password": ""}, ("invalid_request", "password is required")),
        ({"slug": "team-b", "name": "b", "password": "x" * 1025}, ("invalid_request", "password must be at most 1024 bytes")),
        ({"slug": "team-b", "name": "b\u0000", "password": "p"}, ("invalid_request", "name must not contain NUL characters")),
        ({"slug": "team-a", "name": "b", "password": "p"}, ("slug_taken", "team slug already exists")),
    ]
    for body_in, want in cases:
        st, _, body = s.req("POST", "/api/v1/teams/signup", body_in)
        assert err(body) == want, (body_in, body)
        assert st == (409 if want[0] == "slug_taken" else 400)


@t.test
def login_and_me(s):
    s.signup("login-team", "s3cret")
    st, _, body = s.req("POST", "/api/v1/teams/login", {"Slug": "login-team", "password": "s3cret"})
    assert st == 201 and list(body) == ["team_id", "token", "token_id", "role"], body
    tok = body["token"]
    st, _, me = s.req("GET", "/api/v1/me", token=tok)
    assert st == 200 and me["team_slug"] == "login-team" and me["token_id"] == body["token_id"]
    assert list(me) == ["team_id", "team_slug", "token_id", "role"]
    # Authorization after 200 other headers still counts, and so does a query
    # parameter after 200 others
    many = {"X-Filler-%03d" % i: "v" for i in range(200)}
    many["Authorization"] = "Bearer " + tok
    st, _, me2 = s.req("GET", "/api/v1/me", headers=many)
    assert st == 200 and me2 == me, me2
    st, _, runs = s.req("GET", "/api/v1/runs?" + "&".join("f%d=1" % i for i in range(200)) + "&limit=x",
                        token=tok)
    assert st == 400 and err(runs)[1].startswith("limit"), runs
    st, _, b = s.req("POST", "/api/v1/teams/login", {"slug": "login-team", "password": "wrong"})
    assert st == 401 and err(b) == ("unauthorized", "invalid slug or password")
    st, _, b = s.req("POST", "/api/v1/teams/login", {"slug": "nobody", "password": "wrong"})
    assert st == 401 and err(b) == ("unauthorized", "invalid slug or password")
    st, _, b = s.req("POST", "/api/v1/teams/login", {"slug": "", "password": "x"})
    assert st == 400 and err(b) == ("invalid_request", "slug and password are required")
    st, _, b = s.req("GET", "/api/v1/me", token="mtk_bogus")
    assert st == 401
    st, _, b = s.req("GET", "/api/v1/me", headers={"Authorization": "bEaReR   " + tok + "  "})
    assert st == 200, b


@t.test
def bootstrap(s):
    st, _, b = s.req("POST", "/api/v1/bootstrap/team", {"slug": "boot", "name": "B"}, token="wrong")
    assert st == 401
    st, _, b = s.req("GET", "/api/v1/bootstrap/team", token=BOOT_TOKEN)
    assert st == 405
    # teams exist already (other tests), so a new slug conflicts
    st, _, b = s.req("POST", "/api/v1/bootstrap/team", {"slug": "boot-new", "name": "B"}, token=BOOT_TOKEN)
    assert st == 409 and err(b) == ("team_exists", "a team already exists"), b
    st, _, b = s.req("POST", "/api/v1/bootstrap/team", {"slug": "team-a", "name": "ignored", "password": "reset-pw"}, token=BOOT_TOKEN)
    assert st == 200 and b["slug"] == "team-a" and list(b) == ["team_id", "slug", "token", "role"], b
    st, _, b = s.req("POST", "/api/v1/teams/login", {"slug": "team-a", "password": "reset-pw"})
    assert st == 201, b


@t.test
def tokens_roles_and_revoke(s):
    admin = s.signup("tok-team")
    st, _, b = s.req("POST", "/api/v1/tokens", "", token=admin)
    assert st == 201 and b["role"] == "member" and "name" not in b, b
    member = b["token"]
    st, _, b = s.req("POST", "/api/v1/tokens", {"name": "ci", "role": "admin"}, token=admin)
    assert st == 201 and b["role"] == "admin" and b["name"] == "ci" and list(b) == ["token_id", "token", "name", "role"]
    admin2_id, admin2 = b["token_id"], b["token"]
    st, _, b = s.req("GET", "/api/v1/apps", token=admin2)  # authenticated (and kept in the cache)
    assert st == 200, b
    st, _, b = s.req("POST", "/api/v1/tokens", {"role": "admin"}, token=member)
    assert st == 201 and b["role"] == "member"
    st, _, b = s.req("POST", "/api/v1/tokens", {"role": ""}, token=member)
    assert st == 400 and err(b) == ("invalid_request", "role must be admin or member")
    st, _, b = s.req("POST", "/api/v1/tokens", "[", token=member)
    assert st == 400 and err(b) == ("invalid_request", "malformed JSON body")
    st, _, b = s.req("GET", "/api/v1/tokens", token=member)
    assert st == 403 and err(b) == ("forbidden", "admin role required")
    st, _, b = s.req("GET", "/api/v1/tokens", token=admin)
    assert st == 200 and len(b["tokens"]) == 4 and "token" not in b["tokens"][0], b
    ids = [x["token_id"] for x in b["tokens"]]
    assert ids == sorted(ids)
    st, _, b = s.req("DELETE", "/api/v1/tokens/abc", token=admin)
    assert st == 400 and err(b) == ("invalid_request", "invalid token ID")
    st, _, b = s.req("DELETE", "/api/v1/tokens/999999", token=admin)
    assert st == 404 and err(b) == ("not_found", "token not found")
    st, _, b = s.req("DELETE", "/api/v1/tokens/%d" % admin2_id, token=member)
    assert st == 403
    st, _, b = s.req("DELETE", "/api/v1/tokens/%d" % admin2_id, token=admin)
    assert st == 204 and b == b""
    st, _, b = s.req("GET", "/api/v1/apps", token=admin2)  # revoked: refused at once
    assert st == 401 and err(b) == ("unauthorized", "invalid or missing token"), b
    st, _, b = s.req("DELETE", "/api/v1/tokens/%d/" % admin2_id, token=admin)
    assert st == 204
    st, _, b = s.req("GET", "/api/v1/tokens", token=admin)
    assert admin2_id not in [x["token_id"] for x in b["tokens"]]
    st, _, b = s.req("GET", "/api/v1/tokens", token=admin)
    assert any("last_used_at" in x for x in b["tokens"])


@t.test
def apps_and_isolation(s):
    a = s.signup("iso-a")
    b_tok = s.signup("iso-b")
    st, _, body = s.req("POST", "/api/v1/apps", {"slug": "hello", "description": ""}, token=a, raw=True)
    assert st == 201, body
    assert re.fullmatch(rb'\{"app_id":\d+,"slug":"hello","description":"","disabled":false,'
                        rb'"created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","updated_at":"[^"]+"\}\n', body), body
    st, _, body = s.req("POST", "/api/v1/apps", {"slug": "hello"}, token=a)
    assert st == 409 and err(body) == ("slug_taken", "app slug already exists")
    st, _, body = s.req("POST", "/api/v1/apps", {"slug": "hello"}, token=b_tok)
    assert st == 201 and "description" not in body
    st, _, body = s.req("POST", "/api/v1/apps", {"slug": "zzz"}, token=a)
    st, _, body = s.req("GET", "/api/v1/apps", token=a)
    assert [x["slug"] for x in body["apps"]] == ["hello", "zzz"]
    st, _, body = s.req("GET", "/api/v1/apps/zzz", token=b_tok)
    assert st == 404 and err(body) == ("not_found", "app not found")
    st, _, body = s.req("GET", "/api/v1/apps/zzz/", token=a)
    assert st == 200 and body["slug"] == "zzz"
    st, _, body = s.req("GET", "/api/v1/apps/", token=a)
    assert st == 400 and err(body) == ("invalid_request", "missing app slug")
    st, _, body = s.req("GET", "/api/v1/apps/zzz/other", token=a)
    assert st == 404 and err(body) == ("not_found", "route not found")
    st, _, body = s.req("GET", "/api/v1/apps/zzz/other")
    assert st == 401
    st, _, body = s.req("POST", "/api/v1/apps", {"slug": 5}, token=a)
    assert st == 400 and err(body) == ("invalid_request", "invalid JSON body")
    st, _, body = s.req("GET", "/api/v1/apps/zzz/versions", token=b_tok)
    assert st == 404


@t.test
def version_upload_and_list(s):
    tok = s.signup("ver-team")
    s.req("POST", "/api/v1/apps", {"slug": "hello"}, token=tok)
    files = {"Towerfile": HELLO_TOWERFILE, "main.py": HELLO_MAIN}
    st, _, v = s.upload(tok, "hello", files)
    assert st == 201, v
    assert list(v) == ["version_id", "version_no", "entrypoint", "params_schema", "artifact_sha256",
                       "towerfile_toml", "created_at"], list(v)
    assert v["version_no"] == 1 and v["entrypoint"] == "main.py"
    assert v["params_schema"] == {"properties": {"name": {"default": "World", "description": "Who to greet",
                                                          "type": "string"}}, "type": "object"}
    assert v["towerfile_toml"] == HELLO_TOWERFILE
    st, _, v2 = s.upload(tok, "hello", {"Towerfile": "[app]\nname='hello'\nscript='run.sh'\nimport_paths=['./lib']\n[app.timeout]\nseconds=5\n",
                                        "run.sh": "echo hi\n"})
    assert st == 201 and v2["version_no"] == 2 and v2["timeout_seconds"] == 5 and v2["import_paths"] == ["./lib"], v2
    st, _, lst = s.req("GET", "/api/v1/apps/hello/versions", token=tok)
    assert [x["version_no"] for x in lst["versions"]] == [2, 1]


@t.test
def version_upload_errors(s):
    tok = s.signup("bad-up")
    app_id = s.req("POST", "/api/v1/apps", {"slug": "app"}, token=tok)[2]["app_id"]
    st, _, b = s.req("POST", "/api/v1/apps/app/versions", "{}", token=tok, headers={"Content-Type": "application/json"})
    assert st == 400 and err(b) == ("invalid_request", "invalid multipart form"), b
    st, _, b = s.upload(tok, "nope", {"Towerfile": HELLO_TOWERFILE})
    assert st == 404 and err(b) == ("not_found", "app not found")
    st, _, b = s.upload_bytes(tok, "app", b"not gzip at all")
    assert st == 400 and err(b) == ("TOWERFILE_MISSING", "artifact is not a valid gzip archive"), b
    st, _, b = s.upload(tok, "app", {"main.py": "x"})
    assert st == 400 and err(b) == ("TOWERFILE_MISSING", "artifact does not contain a Towerfile"), b
    st, _, b = s.upload(tok, "app", {"Towerfile": "[app\n", "main.py": "x"})
    assert st == 400 and b["error"]["code"] == "TOWERFILE_INVALID"
    assert b["error"]["message"].startswith("invalid Towerfile: parsing towerfile: "), b
    st, _, b = s.upload(tok, "app", {"Towerfile": "[app]\nname='app'\nscript='main.rb'\n", "main.rb": "x"})
    assert st == 400 and err(b) == ("TOWERFILE_INVALID", 'invalid Towerfile: app.script must end in .py or .sh, got ".rb"'), b
    st, _, b = s.upload(tok, "app", {"Towerfile": "[app]\nname='app'\nscript='./main.py'\n"})
    assert st == 400 and err(b) == ("TOWERFILE_INVALID", 'invalid Towerfile: app.script "./main.py" is not in the artifact'), b
    st, _, b = s.upload(tok, "app", {"Towerfile": HELLO_TOWERFILE, "main.py": "x", "../evil": "x"})
    assert st == 400 and err(b) == ("invalid_artifact", 'artifact entry "../evil" contains a ".." path element'), b
    st, _, b = s.upload(tok, "app", {"Towerfile": HELLO_TOWERFILE, "/abs": "x"})
    assert st == 400 and b["error"]["code"] == "invalid_artifact", b
    boundary = "bb"
    body = b"--bb\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--bb--\r\n"
    st, _, b = s.req("POST", "/api/v1/apps/app/versions", body, token=tok,
                     headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    assert st == 400 and err(b) == ("invalid_request", "artifact file is required"), b
    st, _, lst = s.req("GET", "/api/v1/apps/app/versions", token=tok)
    assert lst == {"versions": []}
    import os
    objs = os.path.join(s.tmp, "objects")
    left = [f for root, _, fs in os.walk(objs) for f in fs if f.startswith(".upload")]
    assert left == [], left
    assert not os.path.exists(os.path.join(objs, str(app_id))) or os.listdir(os.path.join(objs, str(app_id))) == []


@t.test
def body_limits_413(s):
    tok = s.signup("big-team")
    st, h, b = s.req("POST", "/api/v1/apps", "x" * 5000, token=tok)
    assert st == 413 and err(b) == ("payload_too_large", "request body too large"), b
    # chunked body crossing the limit
    c = s.conn()
    c.putrequest("POST", "/api/v1/apps")
    c.putheader("Authorization", "Bearer " + tok)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    for _ in range(3):
        chunk = b"y" * 2000
        c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    c.send(b"0\r\n\r\n")
    r = c.getresponse()
    data = json.loads(r.read())
    assert r.status == 413 and data["error"]["code"] == "payload_too_large"
    c.close()


@t.test
def cors(s):
    st, h, b = s.req("OPTIONS", "/api/v1/apps", headers={"Origin": "http://ui.example"}, raw=True)
    assert st == 204 and b == b"" and h["access-control-allow-origin"] == "http://ui.example"
    assert h["access-control-allow-headers"] == "Authorization, Content-Type, X-Lease-Token, Idempotency-Key, Last-Event-ID"
    st, h, b = s.req("OPTIONS", "/api/v1/apps", headers={"Origin": "http://evil.example"}, raw=True)
    assert st == 204 and "access-control-allow-origin" not in h
    st, h, b = s.req("GET", "/health", headers={"Origin": "http://ui.example"})
    assert h["vary"] == "Origin" and h["access-control-expose-headers"] == "Idempotent-Replayed"
    st, h, b = s.req("GET", "/health")
    assert "access-control-allow-origin" not in h


@t.test
def decoding_rules(s):
    tok = s.signup("dec-team")
    st, _, b = s.req("POST", "/api/v1/apps", '{"slug":"a1b","Slug":"abc"}', token=tok)
    assert st == 201 and b["slug"] == "abc", b
    st, _, b = s.req("POST", "/api/v1/apps", "null", token=tok)
    assert st == 400 and err(b) == ("invalid_slug", "slug cannot be empty"), b
    st, _, b = s.req("POST", "/api/v1/apps", "", token=tok)
    assert st == 400 and err(b) == ("invalid_request", "invalid JSON body"), b
    st, _, b = s.req("POST", "/api/v1/apps", '{"slug":"deep","x":' + "[" * 600 + "]" * 600 + "}", token=tok)
    assert st == 400 and err(b) == ("invalid_request", "invalid JSON body"), b
    st, _, b = s.req("POST", "/api/v1/apps", b'{"slug":"bad\xff"}', token=tok)
    assert st == 400, b
    st, _, b = s.req("POST", "/api/v1/apps", '{"slug":"trail"} garbage', token=tok)
    assert st == 201, b


if __name__ == "__main__":
    with Server(env={"MINITOWER_MAX_REQUEST_BODY_SIZE": "4096",
                     "MINITOWER_CORS_ORIGINS": " http://ui.example , "}) as srv:
        t.run(srv)
