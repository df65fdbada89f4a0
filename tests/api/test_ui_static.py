#!/usr/bin/env python3
"""The web UI's files over real HTTP (docs/ui.md "Serving", issue 17):
precompressed .br/.gz siblings chosen by Accept-Encoding with Vary, a year of
immutable caching for the hashed /assets/ files, no-cache + ETag → 304 for
index.html and the SPA fallback. Uses a hand-made UI directory (so each case
knows its bytes); with --dist (tests/frontend.sh, after the vite build) it
checks the real build's siblings and serves it."""
import gzip
import os
import shutil
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from mtserver import ROOT, Server, Tap  # noqa: E402

t = Tap()
test = t.test
S = {}

INDEX = b"<!doctype html><title>MiniTower</title>" + b"<p>ui</p>" * 100
APP_JS = b"console.log('app');\n" * 200
PLAIN = b"no siblings here\n"


def make_uidir():
    d = tempfile.mkdtemp(prefix="mt-ui-static-")
    os.mkdir(os.path.join(d, "assets"))
    files = {"index.html": INDEX, "assets/app-1a2b.js": APP_JS, "assets/plain-3c4d.txt": PLAIN}
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
    for name in ("index.html", "assets/app-1a2b.js"):
        with open(os.path.join(d, name + ".gz"), "wb") as fh:
            fh.write(gzip.compress(files[name]))
        # A stand-in for brotli (not in Python's stdlib): the server never
        # decodes, so any distinct bytes show which sibling was sent.
        with open(os.path.join(d, name + ".br"), "wb") as fh:
            fh.write(b"BR:" + name.encode())
    return d


def get(path, **headers):
    return S["s"].req("GET", path, headers=headers, raw=True)


def eq(a, b, what=""):
    assert a == b, "%s: %r != %r" % (what, a, b)


@test
def brotli_preferred_when_accepted(_):
    st, h, body = get("/assets/app-1a2b.js", **{"Accept-Encoding": "gzip, deflate, br"})
    eq(st, 200)
    eq(h.get("content-encoding"), "br", "encoding")
    eq(body, b"BR:assets/app-1a2b.js", "body")
    eq(h.get("vary"), "Accept-Encoding", "vary")
    eq(h.get("content-type"), "text/javascript; charset=utf-8", "type")
    eq(h.get("cache-control"), "public, max-age=31536000, immutable", "cache")


@test
def gzip_when_only_gzip_accepted(_):
    st, h, body = get("/assets/app-1a2b.js", **{"Accept-Encoding": "gzip"})
    eq(st, 200)
    eq(h.get("content-encoding"), "gzip")
    eq(gzip.decompress(body), APP_JS, "gunzipped body")
    eq(int(h["content-length"]), len(body), "length of the sent representation")


@test
def identity_without_accept_encoding(_):
    st, h, body = get("/assets/app-1a2b.js")
    eq(st, 200)
    assert "content-encoding" not in h, h
    eq(body, APP_JS)
    eq(h.get("vary"), "Accept-Encoding", "vary also on identity")


@test
def q_zero_refuses_a_coding(_):
    st, h, body = get("/assets/app-1a2b.js", **{"Accept-Encoding": "br;q=0, gzip;q=0.5"})
    eq(h.get("content-encoding"), "gzip")
    st, h, body = get("/assets/app-1a2b.js", **{"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "content-encoding" not in h, h
    eq(body, APP_JS)
    st, h, body = get("/assets/app-1a2b.js", **{"Accept-Encoding": "*"})
    eq(h.get("content-encoding"), "br", "* allows br")
    st, h, body = get("/assets/app-1a2b.js", **{"Accept-Encoding": "*;q=0"})
    assert "content-encoding" not in h, h
    st, h, body = get("/assets/app-1a2b.js", **{"Accept-Encoding": "GZIP"})
    eq(h.get("content-encoding"), "gzip", "coding names are case-insensitive")


@test
def no_vary_without_siblings(_):
    st, h, body = get("/assets/plain-3c4d.txt", **{"Accept-Encoding": "br, gzip"})
    eq(st, 200)
    assert "content-encoding" not in h and "vary" not in h, h
    eq(body, PLAIN)
    eq(h.get("cache-control"), "public, max-age=31536000, immutable")


@test
def index_revalidates_with_etag(_):
    st, h, body = get("/", **{"Accept-Encoding": "gzip"})
    eq(st, 200)
    eq(h.get("cache-control"), "no-cache")
    eq(gzip.decompress(body), INDEX)
    tag = h["etag"]
    assert tag.startswith('"') and tag.endswith('"'), tag
    st, h2, body = get("/", **{"Accept-Encoding": "gzip", "If-None-Match": tag})
    eq(st, 304, "revalidation")
    eq(body, b"", "no body on 304")
    eq(h2.get("etag"), tag)
    eq(h2.get("cache-control"), "no-cache")
    st, h3, _ = get("/", **{"Accept-Encoding": "gzip", "If-None-Match": 'W/"x", ' + "W/" + tag})
    eq(st, 304, "weak comparison in a list")
    # Another representation has another tag: a br client is not told 304.
    st, h4, _ = get("/", **{"Accept-Encoding": "br", "If-None-Match": tag})
    eq(st, 200, "different representation")
    assert h4["etag"] != tag
    st, _, _ = get("/", **{"If-None-Match": '"something-else"'})
    eq(st, 200)


@test
def etag_changes_with_the_file(_):
    _, h, _ = get("/index.html")
    with open(os.path.join(S["dir"], "index.html"), "ab") as fh:
        fh.write(b"<!-- new build -->")
    st, h2, body = get("/index.html", **{"If-None-Match": h["etag"]})
    eq(st, 200, "changed file is sent again")
    assert h2["etag"] != h["etag"]
    assert body.endswith(b"<!-- new build -->")


@test
def spa_fallback_is_negotiated_too(_):
    st, h, body = get("/runs/42", Accept="text/html", **{"Accept-Encoding": "gzip"})
    eq(st, 200)
    eq(h.get("content-encoding"), "gzip")
    eq(h.get("cache-control"), "no-cache")
    assert gzip.decompress(body).startswith(b"<!doctype html>")
    st, h, body = get("/assets/missing.js", **{"Accept-Encoding": "gzip"})
    eq(st, 404, "a missing asset is not the index")


def real_build_has_siblings(_):
    """Run by tests/frontend.sh right after the vite build (--dist)."""
    dist = os.path.join(ROOT, "frontend", "dist")
    js = [f for f in os.listdir(os.path.join(dist, "assets")) if f.endswith(".js")]
    assert js, "no assets"
    for f in js:
        p = os.path.join(dist, "assets", f)
        if os.path.getsize(p) < 256:
            continue
        assert os.path.exists(p + ".gz") and os.path.exists(p + ".br"), "siblings of " + f
        with open(p, "rb") as fh, open(p + ".gz", "rb") as gz:
            eq(zlib.decompress(gz.read(), 47), fh.read(), "gz of " + f)
    with Server(env={"MINITOWER_UI_DIR": dist}) as s:
        st, h, body = s.req("GET", "/", headers={"Accept-Encoding": "br, gzip"}, raw=True)
        eq(st, 200)
        eq(h.get("content-encoding"), "br", "real index.html.br")
        st, h, _ = s.req("GET", "/", headers={"Accept-Encoding": "br, gzip", "If-None-Match": h["etag"]}, raw=True)
        eq(st, 304)


def main():
    if sys.argv[1:] == ["--dist"]:
        t.tests = [real_build_has_siblings]
        t.run(None)
    S["dir"] = make_uidir()
    try:
        with Server(env={"MINITOWER_UI_DIR": S["dir"]}) as s:
            S["s"] = s
            t.run(None)
    finally:
        shutil.rmtree(S["dir"], ignore_errors=True)


if __name__ == "__main__":
    main()
