"""The HTTP client, shaped like Locust's ``self.client`` (``requests``' arguments), one
host call per request."""

import json as _json
import random as _random
from urllib.parse import urlencode as _urlencode

from componentize_py_types import Err
from wit_world.imports import http as _http

_EMPTY = b""


class Failure(Exception):
    """A task failure with a message (Locust's ``response.failure(msg)``)."""


def fail(message: str):
    """Fails the current task with ``message``."""
    raise Failure(message)


class HttpError(Exception):
    """A request that got no response; the host has already recorded it as failed.
    ``kind`` is the WIT ``http-error`` case, e.g. ``connect`` or ``timeout``."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


def _error_kind(e) -> str:
    # HttpError_InvalidUrl -> invalid-url, as the WIT names it.
    name = type(e).__name__.split("_", 1)[-1]
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def _fields(head):
    """The host's packed head (``name\\nvalue\\n`` per field) as (name, value) pairs."""
    f = head.split("\n")
    return list(zip(f[0:-1:2], f[1::2]))


class Response:
    def __init__(self, raw, url: str, catch: bool = False):
        self.status_code = raw.status
        self.body_size = raw.body_size
        # The host sends a final URL only after redirects; otherwise the request's own.
        self.url = raw.final_url if raw.final_url is not None else url
        # connect, tls, send, wait, receive, total (µs), as the host packs them.
        t = raw.timings
        # Phases in milliseconds.
        self.timings = {
            "connect": t[0] / 1000,
            "tls": t[1] / 1000,
            "send": t[2] / 1000,
            "wait": t[3] / 1000,
            "receive": t[4] / 1000,
            "total": t[5] / 1000,
        }
        self.elapsed_ms = t[5] / 1000
        # Headers and body are None unless the request asked for them; the head comes
        # as ``name\\nvalue\\n`` per field.
        self.headers = {k.lower(): v for k, v in _fields(raw.head or "")}
        self._body = raw.body
        self._catch = catch
        self._failure = None
        self._passed = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def content(self) -> bytes:
        if self._body is None:
            raise Failure("the response body was not requested: pass read=True with the request")
        return self._body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        text = self.text
        try:
            return _json.loads(text)
        except ValueError:
            raise Failure(f"invalid JSON (status {self.status_code}): {text[:200]}")

    def raise_for_status(self):
        if self.status_code >= 400:
            raise Failure(f"unexpected status {self.status_code}")
        return self

    def expect_status(self, status: int):
        if self.status_code != status:
            raise Failure(f"expected status {status}, got {self.status_code}")
        return self

    # Locust's catch_response: `with client.get(..., catch_response=True) as r:`. The
    # block judges the request: failure(msg) fails it (even a 200), success() passes it
    # (even a 404); unmarked, its status decides. The host records it when the block ends.
    def failure(self, message: str):
        self._failure = str(message)
        self._passed = False

    def success(self):
        self._failure = None
        self._passed = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._catch:
            self._catch = False
            if self._failure is not None:
                _http.settle(False, self._failure)
            elif self._passed:
                _http.settle(True, None)
            else:
                ok = self.status_code < 400
                _http.settle(ok, None if ok else f"status {self.status_code}")
        return False


def _multipart(data, files):
    boundary = "----stampede%016x" % _random.getrandbits(64)
    parts = []
    # As in requests: a dict, or a list of (name, value) pairs (a name may repeat).
    def items(x):
        return x.items() if hasattr(x, "items") else (x or [])

    for name, value in items(data):
        parts.append((str(name), None, None, str(value).encode()))
    for name, f in items(files):
        if isinstance(f, tuple):
            filename, content = f[0], f[1]
            ctype = f[2] if len(f) > 2 and f[2] else "application/octet-stream"
        else:
            filename, content, ctype = name, f, "application/octet-stream"
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, str):
            content = content.encode()
        # requests: a None filename makes a plain field.
        parts.append((str(name), filename, ctype if filename is not None else None, bytes(content)))
    while any(boundary.encode() in p[3] for p in parts):
        boundary = "----stampede%016x" % _random.getrandbits(64)

    def q(s):
        return s.replace("\\", "\\\\").replace('"', '\\"')

    out = bytearray()
    for name, filename, ctype, content in parts:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{q(name)}"'
        if filename is not None:
            head += f'; filename="{q(filename)}"\r\nContent-Type: {ctype}'
        out += (head + "\r\n\r\n").encode() + content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(out)


_TRACE = {
    True: _http.TraceMode.SAMPLED,
    "sampled": _http.TraceMode.SAMPLED,
    "unsampled": _http.TraceMode.UNSAMPLED,
    False: _http.TraceMode.OFF,
}


class Client:
    """``requests``-style calls: ``params``, ``headers``, a body as ``json``, ``data``
    (form-encoded, or fields beside ``files`` for multipart) or raw bytes/str in
    ``data``; ``name`` groups the request in metrics; ``timeout`` is in seconds;
    ``read=True`` copies the body and headers back (``"headers"``: only headers);
    ``trace=True`` (or ``"sampled"``, ``"unsampled"``) puts a W3C ``traceparent`` on
    the request whatever ``--trace-context`` says, ``trace=False`` none."""

    def request(self, method, url, *, name=None, params=None, headers=None, json=None,
                data=None, files=None, timeout=None, read=False, catch_response=False,
                trace=None):
        hs = [(str(k), str(v)) for k, v in (headers or {}).items()]
        body = _EMPTY
        if json is not None:
            body = _json.dumps(json, separators=(",", ":")).encode()
            hs.append(("Content-Type", "application/json"))
        elif files:
            ctype, body = _multipart(data, files)
            hs.append(("Content-Type", ctype))
        elif isinstance(data, dict) or isinstance(data, list):
            body = _urlencode(data).encode()
            hs.append(("Content-Type", "application/x-www-form-urlencoded"))
        elif isinstance(data, str):
            body = data.encode()
        elif data is not None:
            body = bytes(data)
        if params:
            url += ("&" if "?" in url else "?") + _urlencode(params)
        flags = _http.ReadFlags(0)
        if read is True:
            flags = _http.ReadFlags.BODY | _http.ReadFlags.HEADERS
        elif read == "headers":
            flags = _http.ReadFlags.HEADERS
        req = _http.HttpRequest(
            method=method,
            url=url,
            headers=hs,
            body=body,
            name=name,
            timeout_ms=None if timeout is None else max(0, round(timeout * 1000)),
            read=flags,
        )
        mode = _TRACE.get(trace, False) if trace is not None else None
        if mode is False:
            raise ValueError(f"trace: True, False, 'sampled' or 'unsampled', not {trace!r}")
        if mode is not None:
            _http.trace_context(mode)
        try:
            raw = _http.send_packed(req, bool(catch_response))
        except Err as e:
            if catch_response:
                # Nothing came back to judge: recorded as the failure it is.
                _http.settle(False, None)
            raise HttpError(_error_kind(e.value), getattr(e.value, "value", "") or "")
        finally:
            if mode is not None:
                _http.trace_context(_http.TraceMode.RUN)
        return Response(raw, url, catch_response)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def put(self, url, **kw):
        return self.request("PUT", url, **kw)

    def patch(self, url, **kw):
        return self.request("PATCH", url, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)

    def head(self, url, **kw):
        return self.request("HEAD", url, **kw)
