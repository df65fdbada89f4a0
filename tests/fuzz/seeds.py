#!/usr/bin/python3
"""Writes the committed seed corpora of the fuzz targets into
tests/fuzz/corpus/<target>/ (docs/fuzzing.md). Deterministic: running it
again gives the same files. Files whose names start with "regress-" are
inputs that once found a bug; this script never touches them.
Usage: /usr/bin/python3 tests/fuzz/seeds.py"""
import gzip
import io
import os
import tarfile

TOP = os.path.dirname(os.path.abspath(__file__))
APP = b'[app]\nname = "hello"\nscript = "main.py"\n'


def write(target, name, data):
    d = os.path.join(TOP, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def toml():
    write("fuzz_toml", "kinds.toml", b'a = "s"\nb = 1\nc = 1.5\nd = true\ne = 1979-05-27T07:32:00Z\n'
          b"f = 1979-05-27T07:32:00\ng = 1979-05-27\nh = 07:32:00.999\ni = [1, [2], {x = 3}]\n")
    write("fuzz_toml", "strings.toml", b'a = "\\u00e9\\t\\"\\U0001F600"\nb = \'lit\'\n'
          b'c = """\nmulti\\\n  line"""\nd = \'\'\'raw\n\'\'\'\n"quoted key" = 1\n')
    write("fuzz_toml", "tables.toml", b"[a.b]\nx = 1\n[a]\ny = 2\n[[t]]\nz = 1\n[[t]]\n[t.sub]\n"
          b"p.q.r = 1\ninline = { k = 1, l.m = 2 }\n")
    write("fuzz_toml", "numbers.toml", b"a = 0x_dead\nb = 0o755\nc = 0b1101\nd = 1_000\ne = +inf\n"
          b"f = -nan\ng = 6.626e-34\nh = -0.0\ni = 9223372036854775807\n")
    write("fuzz_toml", "crlf.toml", b'a = 1\r\n[b]\r\nc = """x\r\ny"""\r\n')
    write("fuzz_toml", "dup.toml", b"a = 1\na = 2\n")


def towerfile():
    p = lambda body: APP + b"[[parameters]]\n" + body + b"\n"
    write("fuzz_towerfile", "minimal.toml", APP)
    write("fuzz_towerfile", "full.toml", APP + b'source = ["./*.py", "lib/**"]\nimport_paths = ["lib"]\n'
          b"[app.timeout]\nseconds = 60\n[app.sandbox]\nnetwork = false\n"
          b'writable_paths = ["/srv/cache", "/tmp/x"]\n[app.resources]\nmemory_mb = 256\n'
          b"cpus = 0.5\npids = 64\ndisk_mb = 100\nopen_files = 256\n")
    write("fuzz_towerfile", "params.toml", APP + b'[[parameters]]\nname = "who"\ndescription = "Who"\n'
          b'type = "string"\ndefault = "World"\n[[parameters]]\nname = "n"\ntype = "integer"\n'
          b'default = 3\n[[parameters]]\nname = "f"\ntype = "number"\ndefault = 0.1\n'
          b'[[parameters]]\nname = "b"\ntype = "boolean"\ndefault = true\n[[parameters]]\nname = "x"\n')
    for i, v in enumerate([b"1e300", b"-1.5e-7", b"9007199254740993", b"inf", b"1e21"]):
        write("fuzz_towerfile", "number-%d.toml" % i, p(b'name = "v"\ntype = "number"\ndefault = ' + v))
    write("fuzz_towerfile", "inline.toml", b'app = {name = "hello", script = "main.py", '
          b'resources = {cpus = 2}}\nparameters = [{name = "n", default = 1, type = "integer"}]\n')
    write("fuzz_towerfile", "case.toml", b"[App]\nName = 'hello'\nSCRIPT = 'main.py'\n"
          b"[App.Sandbox]\nNetwork = true\n")
    write("fuzz_towerfile", "bad-paths.toml", APP + b'source = ["../x", "/abs", ""]\n'
          b'import_paths = ["a\\u0000b"]\n[app.sandbox]\nwritable_paths = ["rel", "/proc"]\n')
    write("fuzz_towerfile", "bad-resources.toml", APP + b"[app.resources]\nmemory_mb = 1\n"
          b"cpus = 0.0004\npids = 0\ndisk_mb = -1\nopen_files = 1e3\n")
    write("fuzz_towerfile", "dup-params.toml", p(b'name = "d"') + b'[[parameters]]\nname = "d"\n')
    write("fuzz_towerfile", "reserved.toml", b'[app]\nname = "api"\nscript = "x.sh"\n')


def schema():
    pairs = [
        (b'{"type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":10,'
         b'"default":5},"s":{"type":"string","minLength":1,"maxLength":3,"default":"ab"}},'
         b'"required":["n"],"additionalProperties":false}', b'{"n":3}'),
        (b'{"type":"object","properties":{"a":{"type":"array","items":{"type":"number"},'
         b'"minItems":1,"maxItems":2}}}', b'{"a":[1,2.5]}'),
        (b'{"enum":[1,"x",null,{"a":[1]}]}', b'1.0'),
        (b'{"type":["string","null"]}', b"null"),
        (b'{"type":"object"}', None),
        (b'{"properties":{"x":{"default":{"deep":[1]}}}}', b"null"),
        (b'{"type":"object","additionalProperties":{"type":"boolean"}}', b'{"a":true,"b":1}'),
        (b'{"type":"integer"}', b"1e20"),
        (b'{"type":"string","maxLength":2}', b'"\\u00e9\\u00e9"'),
        (b'{"properties":{"k":{"type":"object","properties":{"j":{"default":1}}}}}', b'{"k":{}}'),
        (b'{"required":["a","b"]}', b'{"a":1}'),
        (b'{"type":"number","minimum":-1e308,"maximum":9223372036854775807}',
         b"9223372036854775807"),
        (b'{"items":{"enum":[[]]}}', b"[[],[1]]"),
        (b'{"properties":{"a":{"type":"integer","default":"wrong"}}}', b"{}"),
    ]
    for i, (s, inst) in enumerate(pairs):
        write("fuzz_schema", "pair-%02d" % i, s if inst is None else s + b"\0" + inst)


def json_bodies():
    bodies = [b'{"slug":"app","description":"d"}', b'{"input":{"b":1,"a":[true,null,1.5e300]},'
              b'"priority":-2147483648,"max_retries":1000,"version_no":2}',
              b'{"slug":"a","Slug":"b","SLUG":null}', b"null", b" ", b"[1,-0.0,1e-7,123456.789]",
              b'{"logs":[{"seq":1,"stream":"stdout","line":"a\\u0000b","logged_at":'
              b'"2026-01-01T00:00:00.123Z"}]}',
              b'{"status":"completed","exit_code":0,"error_message":"<&>\\u2028","reason":"signal"}',
              b'{"x":"\\ud83d\\ude00\\u00e9\\t\\n"} trailing', b'{"a":{"A":{"a":1},"a":2}}',
              b'{"n":9223372036854775807,"m":-9223372036854775808,"big":-9223372036854775809}',
              b'{"f":0.1,"g":5e-324,"h":1.7976931348623157e308,"i":1e21,"j":999999999999999900000}',
              b"[" * 40 + b"]" * 40, b'"\\u0000"']
    for i, b in enumerate(bodies):
        write("fuzz_json", "body-%02d.json" % i, b)


def tar_bytes(entries):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            data = None
            if kind == "file":
                data = arg
                ti.size = len(arg)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    b = out.getvalue()
    return b.rstrip(b"\0") + b"\0" * (1024 + (-len(b.rstrip(b"\0"))) % 512)


def archive():
    tf = ("Towerfile", "file", APP)
    sets = {
        "ok": [tf, ("main.py", "file", b"print(1)\n"), ("lib", "dir", None),
               ("lib/x.py", "file", b"x = 1\n")],
        "dot-slash": [("./Towerfile", "file", APP), ("./a//b/./c.py", "file", b"")],
        "links": [tf, ("main.py", "file", b""), ("l", "sym", "main.py"), ("h", "hard", "main.py"),
                  ("d/up", "sym", "../main.py")],
        "link-outside": [tf, ("l", "sym", "../../etc/passwd")],
        "link-abs": [tf, ("l", "sym", "/etc")],
        "traverse": [tf, ("d", "sym", "sub"), ("d/x.py", "file", b"")],
        "dotdot": [tf, ("a/../b", "file", b"")],
        "absolute": [tf, ("/etc/x", "file", b"")],
        "fifo": [tf, ("p", "fifo", None)],
        "device": [tf, ("c", "chr", None)],
        "no-towerfile": [("main.py", "file", b"")],
        "dotdot-name": [tf, ("..data", "file", b"x"), ("a/..b", "file", b"")],
        "long-name": [tf, ("d/" * 60 + "f.py", "file", b"")],
        "dup": [tf, ("a", "file", b"1"), ("./a", "file", b"2"), ("Towerfile", "file", b"second")],
    }
    for name, entries in sets.items():
        write("fuzz_archive", "tar-" + name, b"\0" + tar_bytes(entries))
    for name in ("ok", "links"):
        gz = gzip.compress(tar_bytes(sets[name]), mtime=0)
        write("fuzz_archive", "gz-" + name, b"\1" + gz)
    write("fuzz_archive", "gz-empty", b"\1" + gzip.compress(b"", mtime=0))
    write("fuzz_archive", "gz-in-gz", b"\1" + gzip.compress(gzip.compress(b"x", mtime=0), mtime=0))


def routes():
    paths = ["/health", "/ready", "/metrics", "/api/v1/auth/options", "/api/v1/teams/signup",
             "/api/v1/bootstrap/team", "/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/12",
             "/api/v1/tokens/", "/api/v1/apps", "/api/v1/apps/", "/api/v1/apps/hello",
             "/api/v1/apps/hello/", "/api/v1/apps/hello/versions", "/api/v1/apps/hello/runs/",
             "/api/v1/apps//versions", "/api/v1/apps/a/b/c/d/e", "/api/v1/runs", "/api/v1/runs/42",
             "/api/v1/runs/42/cancel", "/api/v1/runs/42/logs/stream", "/api/v1/runs/42/logs/stream/",
             "/api/v1/runs//cancel", "/api/v1/runs/summary", "/api/v1/runs/lease", "/", "/ui/x",
             "/api", "/api/", "/apix"]
    queries = ["", "limit=10&offset=5", "limit=-1&limit=7", "after_seq=9223372036854775808",
               "attempt=+3&wait=", "status=queued&app=%20x", "wait=1e3", "offset=-9223372036854775809",
               "x", "limit=\0", "a=b=c&&"]
    for i, p in enumerate(paths):
        flags = bytes([i % 16])
        write("fuzz_routes", "path-%02d" % i, flags + p.encode() + b"\n" +
              queries[i % len(queries)].encode())


def cron():
    exprs = [b"*/15 * * * *", b"0 0 13 * 5", b"30 59 23 31 12 *", b"0 9-17/2 * jan-MAR,Dec Mon-fri",
             b"@weekly", b"every 7 minutes", b"0 0 29 2 *", b"5/10 1,2 L * ?", b"0 0 30 2 *",
             b"1-5/2,*/7 0 1 * 7", b"45 1 * * *", b"* * * * * *", b"0 0 */2,6 * sun,7",
             b"*/20,7 1-3,9 1-31/2 */3 0-6/3"]
    for i, e in enumerate(exprs):
        write("fuzz_cron", "expr-%02d" % i, bytes([i, 0x30 + i, i * 7 % 256, 0, 0]) + e)


def linesplit():
    # (repeat count 1-8, body): the target feeds the body that many times
    cases = [(1, b"hello\nworld\n"), (1, b"crlf\r\nline\r\n\r\r\n"), (1, b"no newline at end\r"),
             (1, b"nul\0byte\n"), (2, b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ok\n"),
             (1, b"\xc3\n\xe2\x82\n\xf0\x9f\x98\n\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\xff\n"),
             (3, b"x" * 2730 + b"\xe2\x82\xac"), (3, b"\xf0\x9f\x98\x80" * 700),
             (8, b"\r" * 1100 + b"\xc3"), (1, b"")]
    for i, (reps, c) in enumerate(cases):
        write("fuzz_linesplit", "case-%02d" % i, bytes([i * 37 % 256, reps - 1]) + c)


def sse():
    cases = [(b"log", b'{"seq":1,"line":"x"}'), (b"status", b"a\nb\rc\r\nd"),
             (b"end", b""), (b"x y:z", b"data: injected\n\nevent: evil\nid: 9\n"),
             (b" lead", b"\r\n\r\n"), (b"log", b"\xef\xbb\xbfbom\n:comment\nretry: 5"),
             (b"log", b"\0nul\0"), (b"\n", b"\xff\xfe invalid utf-8")]
    for i, (t, d) in enumerate(cases):
        write("fuzz_sse", "event-%02d" % i, bytes([i * 53 % 256, i]) + t + b"\0" + d)


if __name__ == "__main__":
    toml()
    towerfile()
    schema()
    json_bodies()
    archive()
    routes()
    linesplit()
    cron()
    sse()
