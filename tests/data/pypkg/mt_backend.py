"""A minimal PEP 517 build backend that packs mtgreet/ into a pure wheel
with only the standard library, so pip can install this package offline."""
import base64
import hashlib
import os
import zipfile

NAME, VERSION = "mtgreet", "0.1.0"
DIST = "%s-%s" % (NAME, VERSION)
HERE = os.path.dirname(os.path.abspath(__file__))


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def _metadata():
    return "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel_name = "%s-py3-none-any.whl" % DIST
    files = {}
    pkg = os.path.join(HERE, NAME)
    for fn in sorted(os.listdir(pkg)):
        if fn.endswith(".py"):
            with open(os.path.join(pkg, fn), "rb") as f:
                files["%s/%s" % (NAME, fn)] = f.read()
    info = DIST + ".dist-info"
    files[info + "/METADATA"] = _metadata().encode()
    files[info + "/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: mt_backend\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [_record_line(p, d) for p, d in files.items()] + [info + "/RECORD,,"]
    files[info + "/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return wheel_name
