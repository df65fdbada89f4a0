"""Raw-socket HTTP helpers of the framing and slow-client tests: send exact
bytes, read one response, and tell whether the server closed the
connection."""
import json
import socket
import time


class RawResp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "RawResp(%d, %r, %r)" % (self.status, self.headers, self.body[:200])


def connect(port, timeout=5):
    so = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    so.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return so


def read_response(so, strict=True):
    """One response (1xx skipped), or None when the server closed without
    answering. Bodies are read by Content-Length or until close; strict:
    nothing may follow the body (libmicrohttpd 0.9.75 sends the head of its
    own 400 for a bad Content-Length twice)."""
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            try:
                d = so.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                assert not data, "truncated response head %r" % data[:200]
                return None
            data += d
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        if status >= 200:
            break
        data = rest
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        while len(rest) < n:
            d = so.recv(65536)
            assert d, "response body cut short"
            rest += d
        body, extra = rest[:n], rest[n:]
        assert not strict or extra == b"", "bytes after the response: %r" % extra[:200]
    else:
        body = rest
    return RawResp(status, hdrs, body)


def closed_within(so, seconds):
    """True when the server closes so (EOF or reset) within seconds; bytes it
    sends meanwhile count as "not closed"."""
    so.settimeout(seconds)
    try:
        d = so.recv(65536)
    except socket.timeout:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    return d == b""


def dribble(so, data, interval, limit):
    """Sends data one byte every interval seconds until the server closes
    the connection or limit seconds pass. Returns the seconds until the
    close, or None when it stayed open."""
    t0 = time.monotonic()
    for i in range(len(data)):
        if time.monotonic() - t0 > limit:
            return None
        try:
            so.sendall(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - t0
        if closed_within(so, interval):
            return time.monotonic() - t0
    return None
