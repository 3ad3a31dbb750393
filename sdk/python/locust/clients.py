"""``self.client``: Locust's ``HttpSession`` (a ``requests.Session``) on Stampede's host
client, one host call per request. Connections, cookies the server sets, redirects and
content codings are the host's; what the script sets (headers, cookies, auth) is sent
with every request."""

import base64 as _base64
import json as _json
from datetime import timedelta as _timedelta
from http.client import responses as _reasons
from urllib.parse import urlencode as _urlencode

from componentize_py_types import Err
from wit_world.imports import http as _http

from stampede.client import _error_kind, _fields, _multipart

from .exception import CatchResponseError, LocustError, ResponseError

_READ = _http.ReadFlags.BODY | _http.ReadFlags.HEADERS
_EMPTY = b""


class CaseInsensitiveDict(dict):
    """Header names compare case-insensitively; the spelling last set is kept. Every change
    bumps ``_version``, so a session rebuilds the header pairs it sends only when they
    changed."""

    _version = 0

    def __init__(self, data=None, **kw):
        super().__init__()
        self.update(data or {}, **kw)

    def __setitem__(self, key, value):
        super().__setitem__(key.lower(), (key, value))
        self._version += 1

    def __getitem__(self, key):
        return super().__getitem__(key.lower())[1]

    def __delitem__(self, key):
        super().__delitem__(key.lower())
        self._version += 1

    def clear(self):
        super().clear()
        self._version += 1

    def popitem(self):
        self._version += 1
        return super().popitem()[1]

    def __ior__(self, other):
        self.update(other)
        return self

    def __contains__(self, key):
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key, default=None):
        v = super().get(key.lower()) if isinstance(key, str) else None
        return default if v is None else v[1]

    def pop(self, key, *default):
        self._version += 1
        if default:
            return super().pop(key.lower(), (None, default[0]))[1]
        return super().pop(key.lower())[1]

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, data=(), **kw):
        items = data.items() if hasattr(data, "items") else data
        for k, v in items:
            self[k] = v
        for k, v in kw.items():
            self[k] = v

    def __iter__(self):
        return (k for k, _ in super().values())

    def keys(self):
        return list(self)

    def items(self):
        return list(super().values())

    def values(self):
        return [v for _, v in super().values()]

    def copy(self):
        return CaseInsensitiveDict(self.items())

    def __repr__(self):
        return repr(dict(self.items()))


class CookieJar(dict):
    """``client.cookies``: the cookies the server set on responses this session saw, and
    those the script set. The host's jar already sends the server's; the script's are
    sent with every request. Deleting or clearing removes them from the host's jar too."""

    def __init__(self):
        super().__init__()
        self._ours = set()

    def __setitem__(self, name, value):
        super().__setitem__(name, str(value))
        self._ours.add(name)

    def __delitem__(self, name):
        super().__delitem__(name)
        self._ours.discard(name)
        _forget(name)

    def set(self, name, value, **_kw):
        if value is None:
            self.pop(name, None)
            self._ours.discard(name)
            _forget(name)
        else:
            self[name] = value

    def update(self, other=(), **kw):
        for k, v in dict(other, **kw).items():
            self[k] = v

    def clear(self, domain=None, path=None, name=None):
        if name is not None:
            self.pop(name, None)
            self._ours.discard(name)
        else:
            super().clear()
            self._ours.clear()
        _forget(name)

    def get_dict(self, **_kw):
        return dict(self)

    def _seen(self, cookies):
        dict.update(self, cookies)

    def _header(self, extra):
        sent = {k: self[k] for k in self._ours if k in self}
        if extra:
            sent.update(extra)
        return "; ".join(f"{k}={v}" for k, v in sent.items())


def _forget(name):
    """Removes cookies (of this name, or all) from the VU's jar on the host, which sends
    the server's."""
    try:
        _http.clear_cookies(None, name)
    except Err:
        # Not in a lifecycle call (no request was sent yet): nothing to remove.
        pass


class HTTPError(Exception):
    """``raise_for_status()`` on a 4xx or 5xx response."""

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


class ConnectionError(Exception):  # noqa: A001 - requests' name
    """A request that got no response (refused, timed out, blocked by the sandbox)."""


class _Request:
    """``response.request``: what was sent."""

    __slots__ = ("method", "url", "headers", "body")

    def __init__(self, method, url, headers, body):
        self.method, self.url, self.headers, self.body = method, url, headers, body


def _set_cookies(headers):
    out = {}
    for k, v in headers:
        if len(k) == 10 and k.lower() == "set-cookie":
            pair = v.split(";", 1)[0]
            if "=" in pair:
                name, value = pair.split("=", 1)
                out[name.strip()] = value.strip()
    return out


class Response:
    """A ``requests.Response`` as far as load-test scripts use it. What most scripts never
    read (the headers as a dict, ``elapsed``, ``request``) is built on first use."""

    def __init__(self, raw, method, url, sent, body, error=None):
        self._sent = (method, url, sent, body)
        self.error = error
        self.history = []
        self.encoding = "utf-8"
        self._headers = None
        if raw is None:
            self.status_code = 0
            self.url = url
            self._raw_headers = ""
            self.cookies = {}
            self._content = _EMPTY
            self._total_us = 0
            return
        self.status_code = raw.status
        self.url = raw.final_url if raw.final_url is not None else url
        # One string crosses the boundary; it is split into fields only when read (the
        # cookies: only when a Set-Cookie is in it).
        head = raw.head or ""
        self._raw_headers = head
        self.cookies = _set_cookies(_fields(head)) if "et-cookie" in head.lower() else {}
        self._content = raw.body if raw.body is not None else _EMPTY
        self._total_us = raw.timings[5]

    @property
    def headers(self):
        if self._headers is None:
            self._headers = CaseInsensitiveDict(_fields(self._raw_headers))
        return self._headers

    @headers.setter
    def headers(self, value):
        self._headers = value

    @property
    def elapsed(self):
        return _timedelta(microseconds=self._total_us)

    @property
    def request(self):
        if isinstance(self._sent, tuple):
            method, url, sent, body = self._sent
            self._sent = _Request(method, url, CaseInsensitiveDict(sent), body)
        return self._sent

    @property
    def ok(self):
        return self.error is None and self.status_code < 400

    @property
    def reason(self):
        return _reasons.get(self.status_code, "") if self.error is None else str(self.error)

    @property
    def content(self):
        return self._content

    @property
    def text(self):
        return self._content.decode(self.encoding or "utf-8", "replace")

    def json(self, **kw):
        return _json.loads(self._content, **kw)

    def raise_for_status(self):
        if self.error is not None:
            raise self.error
        if self.status_code >= 400:
            raise _status_error(self)

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return f"<Response [{self.status_code}]>"

    def success(self, *_):
        raise LocustError(
            "to mark a response a success or a failure, pass catch_response=True and use a with-block"
        )

    failure = success


def _status_error(r):
    """requests' HTTPError for a 4xx or 5xx response."""
    kind = "Client" if r.status_code < 500 else "Server"
    return HTTPError(f"{r.status_code} {kind} Error: {r.reason} for url: {r.url}", r)


class ResponseContextManager(Response):
    """``with client.get(..., catch_response=True) as r:``: the script decides whether the
    request failed (``r.success()``, ``r.failure(msg)``); unmarked, its status decides.
    The host records the request when the block ends."""

    _entered = False
    _manual = None
    _settled = False

    def __enter__(self):
        self._entered = True
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._manual is not None:
            if self._manual is True:
                self._settle(True, None)
            else:
                self._settle(False, str(self._manual))
            return exc_type is None
        if exc_type is not None:
            if isinstance(exc, ResponseError):
                self._settle(False, str(exc), exc)
                return True
            self._settle(self.ok, None if self.ok else self._why())
            return False
        self._settle(self.ok, None if self.ok else self._why())
        return True

    def _why(self):
        if self.error is not None:
            return str(self.error)
        return f"{self.status_code} {self.reason}".rstrip()

    _event = None

    def _settle(self, ok, message, raised=None):
        if not self._settled:
            self._settled = True
            _http.settle(ok, message)
            if self._event is not None:
                # The exception Locust's listeners see: the failure the block gave, else
                # why the response failed by itself.
                event, meta = self._event
                if ok:
                    failed = None
                elif raised is not None:
                    failed = raised
                elif isinstance(self._manual, Exception):
                    failed = self._manual
                elif self.error is not None:
                    failed = self.error
                else:
                    failed = _status_error(self)
                event.fire(exception=failed, **meta)

    def success(self):
        if not self._entered:
            raise LocustError("success() needs the response's with-block: with self.client.get(..., catch_response=True) as r:")
        self._manual = True

    def failure(self, exc):
        if not self._entered:
            raise LocustError("failure() needs the response's with-block: with self.client.get(..., catch_response=True) as r:")
        self._manual = exc if isinstance(exc, Exception) else CatchResponseError(exc)


def _auth_header(auth):
    if isinstance(auth, tuple) and len(auth) == 2:
        raw = f"{auth[0]}:{auth[1]}".encode("latin-1")
        return "Basic " + _base64.b64encode(raw).decode()
    raise LocustError("auth: only a (user, password) tuple is supported (HTTP Basic)")


def _pairs(headers):
    """The (name, value) strings sent for a header dict; a None value removes the header,
    as in requests."""
    return [
        (k, v.decode("latin-1") if isinstance(v, bytes) else str(v))
        for k, v in headers.items() if v is not None
    ]


class HttpSession:
    """Locust's ``HttpSession``: ``requests``' arguments, one host call per request."""

    def __init__(self, base_url="", request_event=None, user=None, *args, **kwargs):
        self.base_url = (base_url or "").rstrip("/")
        self._headers = CaseInsensitiveDict()
        self._cached = None
        self.cookies = CookieJar()
        self.auth = None
        self.request_event = request_event
        self.user = user
        self.request_name = None
        # FastHttpSession's: an Authorization header for every request without `auth`.
        self.auth_header = None
        # One request record for the session, refilled per request: the host copies it.
        self._req = _http.HttpRequest(method="GET", url="", headers=[], body=_EMPTY, name=None,
                                      timeout_ms=None, read=_READ)

    @property
    def headers(self):
        return self._headers

    @headers.setter
    def headers(self, value):
        # requests allows any mapping here; ours keeps names case-insensitive.
        self._headers = value if isinstance(value, CaseInsensitiveDict) else CaseInsensitiveDict(value)

    def _session_pairs(self):
        """The session's headers as sent, with whether they name a Content-Type and an
        Authorization; rebuilt only after a change."""
        h = self._headers
        key = (id(h), h._version)
        cached = self._cached
        if cached is None or cached[0] != key:
            cached = (key, _pairs(h), "content-type" in h, "authorization" in h)
            self._cached = cached
        return cached

    def rename_request(self, name):
        session = self

        class _Rename:
            def __enter__(self):
                session.request_name = name

            def __exit__(self, *exc):
                session.request_name = None
                return False

        return _Rename()

    def request(self, method, url, name=None, catch_response=False, context=None, *,
                params=None, data=None, json=None, headers=None, cookies=None, files=None,
                auth=None, timeout=None, allow_redirects=True, **_ignored):
        method = method.upper()
        if self.base_url and "://" not in url:
            url = self.base_url + url
        if params:
            url += ("&" if "?" in url else "?") + _query(params)
        body = _EMPTY
        ctype = None
        if json is not None:
            body = _json.dumps(json).encode()
            ctype = "application/json"
        elif files:
            ctype, body = _multipart(data if isinstance(data, (dict, list, tuple)) else None, files)
        elif isinstance(data, (dict, list, tuple)):
            body = _urlencode(data, doseq=True).encode()
            ctype = "application/x-www-form-urlencoded"
        elif isinstance(data, str):
            body = data.encode()
        elif data is not None:
            body = data.read() if hasattr(data, "read") else bytes(data)
            if isinstance(body, str):
                body = body.encode()
        auth = auth if auth is not None else self.auth
        jar = self.cookies
        cookie = jar._header(cookies) if jar._ours or cookies else None
        if headers or (files and ctype):
            # The general path: the session's headers merged with the request's.
            hs = CaseInsensitiveDict(self._headers.items())
            if headers:
                hs.update(headers)
            if files:
                hs["Content-Type"] = ctype
            elif ctype:
                hs.setdefault("Content-Type", ctype)
            if auth is not None and "Authorization" not in hs:
                hs["Authorization"] = _auth_header(auth)
            elif self.auth_header and "Authorization" not in hs:
                hs["Authorization"] = self.auth_header
            if cookie is not None:
                hs["Cookie"] = cookie
            pairs = _pairs(hs)
        else:
            # The common path: the session's cached pairs, plus what this request adds.
            _, pairs, has_ctype, has_auth = self._session_pairs()
            if ctype or cookie is not None or (not has_auth and (auth is not None or self.auth_header)):
                pairs = pairs.copy()
                if ctype and not has_ctype:
                    pairs.append(("Content-Type", ctype))
                if not has_auth:
                    if auth is not None:
                        pairs.append(("Authorization", _auth_header(auth)))
                    elif self.auth_header:
                        pairs.append(("Authorization", self.auth_header))
                if cookie is not None:
                    pairs = [p for p in pairs if p[0].lower() != "cookie"]
                    pairs.append(("Cookie", cookie))
        req = self._req
        req.method, req.url, req.headers, req.body = method, url, pairs, body
        req.name = name or self.request_name
        req.timeout_ms = _timeout_ms(timeout) if timeout is not None else None
        if not allow_redirects:
            _http.follow_redirects(False)
        try:
            raw = _http.send_packed(req, bool(catch_response))
            error = None
        except Err as e:
            raw = None
            detail = getattr(e.value, "value", "") or ""
            kind = _error_kind(e.value)
            error = ConnectionError(f"{kind}: {detail}" if detail else kind)
        finally:
            if not allow_redirects:
                _http.follow_redirects(True)
        cls = ResponseContextManager if catch_response else Response
        r = cls(raw, method, url, pairs, body, error)
        if r.cookies:
            jar._seen(r.cookies)
        event = self.request_event
        if event is not None and event._handlers:
            meta = dict(
                request_type=method, name=name or self.request_name or url,
                response_time=r._total_us / 1000, response_length=len(r._content),
                response=r, context=context or {}, start_time=None, url=url,
            )
            if catch_response:
                # As in Locust: reported when the with-block has judged it.
                r._event = (event, meta)
            else:
                failed = error if error is not None else (_status_error(r) if r.status_code >= 400 else None)
                event.fire(exception=failed, **meta)
        return r

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, data=None, json=None, **kw):
        return self.request("POST", url, data=data, json=json, **kw)

    def put(self, url, data=None, **kw):
        return self.request("PUT", url, data=data, **kw)

    def patch(self, url, data=None, **kw):
        return self.request("PATCH", url, data=data, **kw)

    def delete(self, url, **kw):
        return self.request("DELETE", url, **kw)

    def head(self, url, **kw):
        kw.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kw)

    def options(self, url, **kw):
        return self.request("OPTIONS", url, **kw)

    def close(self):
        pass


def _timeout_ms(timeout):
    if isinstance(timeout, tuple):
        # (connect, read): the host has one limit for the whole exchange.
        parts = [t for t in timeout if t is not None]
        timeout = sum(parts) if parts else None
    if timeout is None:
        return None
    return max(0, round(timeout * 1000))


def _query(params):
    """requests' query string: a str or bytes as it is; pairs with None values dropped."""
    if isinstance(params, bytes):
        return params.decode("latin-1")
    if isinstance(params, str):
        return params
    items = params.items() if hasattr(params, "items") else params
    return _urlencode([(k, v) for k, v in items if v is not None], doseq=True)
