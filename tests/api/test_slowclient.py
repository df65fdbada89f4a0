"""Slow clients (issue 19 item 5, docs/http.md): a request head that is not
complete MINITOWER_HEADER_TIMEOUT after its first byte, and a body slower
than MINITOWER_BODY_MIN_RATE once MINITOWER_BODY_GRACE has passed, get their
connection closed (a WARN "slow client closed" line and
minitower_http_slow_clients_closed_total{reason}); an upload above the rate,
an idle keep-alive connection, a waiting long poll and an idle event stream
are left alone. The server runs with a 2 s head deadline, a 1 s grace and
1024 bytes/s.

    MT_BIN=$PWD/bin python3 tests/api/test_slowclient.py"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawhttp import closed_within, connect, dribble, read_response  # noqa: E402
from runs_common import Runner, Tap, World, artifact, multipart, run_suite  # noqa: E402

ENV = {"MINITOWER_HEADER_TIMEOUT": "2s", "MINITOWER_BODY_GRACE": "1s",
       "MINITOWER_BODY_MIN_RATE": "1024"}
tap = Tap()
W = []


def world(s):
    if not W:
        W.append(World(s))
    return W[0]


def cuts(s, reason):
    return [x for x in s.logs("slow client closed") if x.get("reason") == reason]


def counter(s, reason):
    r = s.client().call("GET", "/metrics")
    line = 'minitower_http_slow_clients_closed_total{reason="%s"} ' % reason
    for ln in r.text.splitlines():
        if ln.startswith(line):
            return float(ln[len(line):])
    return 0.0


def wait_log(s, reason, n, limit=2.0):
    t0 = time.monotonic()
    while len(cuts(s, reason)) < n and time.monotonic() - t0 < limit:
        time.sleep(0.05)
    return cuts(s, reason)


@tap.test
def head_dribble_is_cut_at_the_deadline(s):
    before = len(cuts(s, "header_deadline"))
    so = connect(s.port)
    try:
        took = dribble(so, b"GET /health HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 40, 0.5, 6)
    finally:
        so.close()
    assert took is not None, "a head dribbled for 6 s was not cut"
    assert 1.5 <= took <= 3.5, "cut after %.2f s, the deadline is 2 s" % took
    got = wait_log(s, "header_deadline", before + 1)
    assert len(got) == before + 1, got
    assert got[-1]["level"] == "WARN" and got[-1]["client_addr"] == "127.0.0.1", got[-1]
    assert counter(s, "header_deadline") >= 1


@tap.test
def keepalive_dribble_is_cut_too(s):
    so = connect(s.port)
    try:
        so.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(so).status == 200
        took = dribble(so, b"GET /health HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 40, 0.5, 6)
    finally:
        so.close()
    assert took is not None and 1.5 <= took <= 3.5, took


@tap.test
def idle_keepalive_is_not_cut(s):
    # nothing sent: the head clock has not started (MHD's own 30 s
    # inactivity timeout covers idle connections)
    so = connect(s.port)
    try:
        so.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(so).status == 200
        assert not closed_within(so, 3), "idle keep-alive connection closed"
        so.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(so).status == 200
    finally:
        so.close()


@tap.test
def body_below_the_rate_is_cut(s):
    w = world(s)
    before = len(cuts(s, "body_rate"))
    so = connect(s.port)
    try:
        so.sendall(b"POST /api/v1/apps HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                   w.token.encode() + b"\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 4000\r\n\r\n")
        took = dribble(so, b'{"slug":"slowbody"' + b" " * 3980 + b"}", 0.25, 6)
    finally:
        so.close()
    assert took is not None, "a body dribbled for 6 s was not cut"
    assert 1.0 <= took <= 3.0, "cut after %.2f s (grace 1 s)" % took
    got = wait_log(s, "body_rate", before + 1)
    assert len(got) == before + 1, got
    assert got[-1]["bytes"] > 0, got[-1]
    assert counter(s, "body_rate") >= 1
    r = s.client().call("GET", "/api/v1/apps/slowbody", token=w.token)
    assert r.status == 404, r


@tap.test
def upload_below_the_rate_is_cut(s):
    w = world(s)
    body, ctype = multipart("artifact", "a.tar.gz", os.urandom(6000))
    so = connect(s.port)
    try:
        so.sendall(("POST /api/v1/apps/%s/versions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s"
                    "\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" %
                    (w.app, w.token, ctype, len(body))).encode())
        took = dribble(so, body, 0.25, 6)
    finally:
        so.close()
    assert took is not None and 1.0 <= took <= 3.0, took
    objects = os.path.join(s.dir, "objects")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2:
        left = [n for n in os.listdir(objects) if n.startswith(".upload-")]
        if not left:
            break
        time.sleep(0.05)
    assert not left, "temporary upload files left: %r" % left


@tap.test
def hung_up_chunked_uploads_are_dropped(s):
    # libmicrohttpd 0.9.75 (epoll) can miss a FIN that comes with the last
    # bytes; a chunked body has no length to tell it is incomplete, so the
    # connection and its temporary file used to wait for the 30 s timeout
    w = world(s)
    objects = os.path.join(s.dir, "objects")
    head = (b"--fzb\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"a.tgz\"\r\n\r\n")
    for i in range(8):
        so = connect(s.port)
        so.sendall(("POST /api/v1/apps/%s/versions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                    "Content-Type: multipart/form-data; boundary=fzb\r\nTransfer-Encoding: chunked\r\n\r\n"
                    % (w.app, w.token)).encode())
        time.sleep(0.05)
        so.sendall(b"8000\r\n" + head + b"\x1f\x8b" * (1000 + i * 500))
        so.close()
    t0 = time.monotonic()
    left = True
    while time.monotonic() - t0 < 3:
        left = [n for n in os.listdir(objects) if n.startswith(".upload-")]
        if not left:
            break
        time.sleep(0.05)
    assert not left, "temporary upload files left 3 s after the clients hung up: %r" % left
    assert not cuts(s, "client_gone"), "a hung-up client was reported as slow"


@tap.test
def upload_above_the_rate_succeeds(s):
    # about 4 KiB/s for 3 s, longer than the grace and the head deadline
    w = world(s)
    tf = '[app]\nname = "%s"\nscript = "main.py"\n' % w.app
    tgz = artifact(tf, {"pad.bin": os.urandom(9000).hex()[:9000]})
    body, ctype = multipart("artifact", "a.tar.gz", tgz)
    so = connect(s.port, timeout=10)
    try:
        so.sendall(("POST /api/v1/apps/%s/versions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s"
                    "\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" %
                    (w.app, w.token, ctype, len(body))).encode())
        step = max(1, len(body) // 12)
        for i in range(0, len(body), step):
            so.sendall(body[i:i + step])
            time.sleep(0.25)
        r = read_response(so)
    finally:
        so.close()
    assert r is not None and r.status == 201, r


@tap.test
def long_poll_is_not_cut(s):
    r = Runner(s)
    t0 = time.monotonic()
    got = r.lease(wait=4)
    took = time.monotonic() - t0
    assert got.status == 204, got
    assert took >= 3.5, "long poll answered after %.2f s" % took


@tap.test
def idle_event_stream_is_not_cut(s):
    w = world(s)
    rid = w.create().json["run_id"]
    so = connect(s.port, timeout=10)
    try:
        so.sendall(("GET /api/v1/runs/%d/logs/stream HTTP/1.1\r\nHost: t\r\n"
                    "Authorization: Bearer %s\r\n\r\n" % (rid, w.token)).encode())
        so.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            d = so.recv(65536)
            assert d, "stream closed before its head"
            head += d
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        t0 = time.monotonic()
        while time.monotonic() - t0 < 4:
            try:
                d = so.recv(65536)
            except socket.timeout:
                continue
            assert d, "idle stream closed after %.2f s" % (time.monotonic() - t0)
    finally:
        so.close()


if __name__ == "__main__":
    run_suite(tap, ENV)
