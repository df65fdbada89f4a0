"""Request framing (issue 19 item 4, docs/http.md): every request whose body
could be framed two ways - differing Content-Length values, whitespace
before a colon, a transfer coding other than one final chunked, both
Content-Length and Transfer-Encoding, a folded framing header,
Transfer-Encoding in HTTP/1.0 - is answered 400 before its body is used,
with Connection: close, and nothing pipelined behind it runs. Each case
sends, in one write, a POST /api/v1/apps followed by a second POST that
would create another app; afterwards neither app may exist.

    MT_BIN=$PWD/bin python3 tests/api/test_framing.py"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawhttp import closed_within, connect, read_response  # noqa: E402
from runs_common import Tap, run_suite  # noqa: E402

tap = Tap()
S = None
TOKEN = None
N = [0]


def slugs():
    N[0] += 1
    return "fr-first-%d" % N[0], "fr-second-%d" % N[0]


def app_body(slug):
    return json.dumps({"slug": slug}).encode()


def second_request(slug):
    body = app_body(slug)
    return (b"POST /api/v1/apps HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + TOKEN.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() +
            b"\r\n\r\n" + body)


def head(lines, version=b"HTTP/1.1"):
    return (b"POST /api/v1/apps " + version + b"\r\nHost: t\r\nAuthorization: Bearer " +
            TOKEN.encode() + b"\r\nContent-Type: application/json\r\n" +
            b"".join(ln + b"\r\n" for ln in lines) + b"\r\n")


def chunked(body):
    return b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"


def apps():
    r = S.client().call("GET", "/api/v1/apps", token=TOKEN)
    assert r.status == 200, r
    items = r.json if isinstance(r.json, list) else r.json.get("apps", r.json.get("items", []))
    return {a["slug"] for a in items}


def rejected(data, first, second, ours=True):
    """Sends data; expects 400 (our JSON envelope when ours), Connection:
    close, the connection closed, and neither app created."""
    so = connect(S.port)
    try:
        so.sendall(data)
        r = read_response(so, strict=ours)
        assert r is not None, "no answer"
        assert r.status == 400, r
        if ours:
            assert r.json()["error"]["code"] == "invalid_request", r
            assert r.headers.get("connection", "").lower() == "close", r
        assert closed_within(so, 3), "connection left open after %r" % r
    finally:
        so.close()
    have = apps()
    assert first not in have, "the rejected request ran"
    assert second not in have, "the pipelined request ran"
    return r


@tap.test
def signup(s):
    global S, TOKEN
    S = s
    r = s.client().call("POST", "/api/v1/teams/signup",
                        {"slug": "framing", "name": "Framing", "password": "pw-framing-1"})
    assert r.status == 201, r
    TOKEN = r.json["token"]


@tap.test
def differing_content_lengths(s):
    first, second = slugs()
    body = app_body(first)
    rejected(head([b"Content-Length: %d" % len(body), b"Content-Length: 0"]) + body +
             second_request(second), first, second)


@tap.test
def space_before_colon(s):
    first, second = slugs()
    body = app_body(first)
    rejected(head([b"Transfer-Encoding : chunked", b"Content-Length: %d" % len(body)]) + body +
             second_request(second), first, second)


@tap.test
def tab_before_colon(s):
    first, second = slugs()
    body = app_body(first)
    rejected(head([b"Content-Length\t: %d" % len(body)]) + body + second_request(second),
             first, second)


@tap.test
def chunked_then_identity(s):
    first, second = slugs()
    rejected(head([b"Transfer-Encoding: chunked", b"Transfer-Encoding: identity"]) +
             chunked(app_body(first)) + second_request(second), first, second)


@tap.test
def content_length_and_chunked(s):
    first, second = slugs()
    body = app_body(first)
    rejected(head([b"Content-Length: %d" % len(body), b"Transfer-Encoding: chunked"]) +
             chunked(body) + second_request(second), first, second)


@tap.test
def coding_list_and_unknown_codings(s):
    for te in (b"gzip, chunked", b"chunked, gzip", b"gzip", b"identity", b"chunked "):
        first, second = slugs()
        rejected(head([b"Transfer-Encoding: " + te]) + chunked(app_body(first)) +
                 second_request(second), first, second)


@tap.test
def chunked_in_http10(s):
    first, second = slugs()
    rejected(head([b"Transfer-Encoding: chunked"], b"HTTP/1.0") + chunked(app_body(first)) +
             second_request(second), first, second)


@tap.test
def folded_content_length(s):
    # libmicrohttpd glues " 5" onto the name ("Content-Length5") and reads no
    # body: the body bytes would run as the next request
    first, second = slugs()
    body = second_request(second)
    rejected(head([b"Content-Length: %d" % len(body), b" %d" % len(body)]) + body,
             first, second)


@tap.test
def folded_into_previous_header(s):
    first, second = slugs()
    body = app_body(first)
    rejected(head([b"X-Note: a", b" Content-Length: %d" % len(body)]) + body +
             second_request(second), first, second)


@tap.test
def content_length_syntax_is_refused_by_mhd(s):
    # sign, inner whitespace, lists and hex never reach the handler:
    # libmicrohttpd answers 400 itself (an HTML body, its head sent twice)
    # and closes
    for v in (b"+%d", b"-%d", b"%d %d", b"%d, %d", b"0x%x"):
        first, second = slugs()
        body = app_body(first)
        cl = v % ((len(body),) * v.count(b"%"))
        rejected(head([b"Content-Length: " + cl]) + body + second_request(second),
                 first, second, ours=False)


@tap.test
def identical_content_lengths_are_one(s):
    # RFC 9110 §8.6 allows treating "5" twice as 5 (docs/http.md)
    first, second = slugs()
    body = app_body(first)
    so = connect(S.port)
    try:
        so.sendall(head([b"Content-Length: %d" % len(body)] * 2) + body + second_request(second))
        assert read_response(so).status == 201
        assert read_response(so).status == 201
    finally:
        so.close()
    assert {first, second} <= apps()


@tap.test
def plain_chunked_still_works(s):
    first, second = slugs()
    so = connect(S.port)
    try:
        so.sendall(head([b"Transfer-Encoding: chunked"]) + chunked(app_body(first)) +
                   second_request(second))
        assert read_response(so).status == 201
        assert read_response(so).status == 201
    finally:
        so.close()
    assert {first, second} <= apps()


if __name__ == "__main__":
    run_suite(tap)
