"""HTTP to the ganwatch server with the standard library: one keep-alive connection per thread, the token on every
request, and a list of server addresses with failover (a server that cannot be reached, or answers 502/503/504, hands
over to the next address; every request the client makes is idempotent, so trying it again there is safe)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .errors import OptionError
from .wire import API_PREFIX

DEFAULT_SERVER = "http://127.0.0.1:8080"
FAILOVER_STATUSES = frozenset((502, 503, 504))


def normalize_server(url: str) -> str:
    """A server base URL, checked (http or https, a host) and without a trailing slash."""
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise OptionError(f"server '{url}' is not a URL (expected e.g. {DEFAULT_SERVER})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(f"server '{url}' must be an http:// or https:// URL with a host (e.g. {DEFAULT_SERVER})")
    if parts.query or parts.fragment:
        raise OptionError(f"server '{url}' must not have a query or fragment")
    return text.rstrip("/")


def server_list(server: str | Sequence[str] | None) -> list[str]:
    """The addresses to use: the argument (a list, or one string of comma-separated addresses), else
    $GANWATCH_SERVER, else the default."""
    if server is None:
        server = os.environ.get("GANWATCH_SERVER") or DEFAULT_SERVER
    items = server.split(",") if isinstance(server, str) else list(server)
    urls = [normalize_server(item) for item in items if str(item).strip()]
    if not urls:
        raise OptionError("server names no address")
    return list(dict.fromkeys(urls))


class Servers:
    """The server addresses and which one is in use, shared by the client's threads."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._index = 0
        self._lock = threading.Lock()
        self.failovers = 0

    @property
    def current(self) -> str:
        with self._lock:
            return self.urls[self._index]

    def failed(self, url: str) -> bool:
        """``url`` did not answer: move on to the next address (once, however many threads saw it fail). True when
        there is another address to try."""
        with self._lock:
            if len(self.urls) == 1:
                return False
            if self.urls[self._index] == url:
                self._index = (self._index + 1) % len(self.urls)
                self.failovers += 1
            return True


@dataclass
class Response:
    status: int
    body: bytes
    url: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def error(self) -> tuple[str | None, str]:
        """The server's error code and a one-line description, e.g. (GW_ERR_VALIDATION, 'HTTP 400 ...: ...')."""
        code = None
        message = self.body[:500].decode("utf-8", "replace")
        try:
            body = json.loads(self.body)
            if isinstance(body, dict):
                code = body.get("code") if isinstance(body.get("code"), str) else None
                message = body.get("message") if isinstance(body.get("message"), str) else message
        except ValueError:
            pass
        return code, f"HTTP {self.status}{' ' + code if code else ''}{': ' + message if message else ''}"


class Unreachable(Exception):
    """No HTTP answer from ``url`` (refused, reset, timed out, DNS)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: unreachable ({reason})")
        self.url = url
        self.reason = reason


def run_path(run_id: str, suffix: str = "", query: dict | None = None) -> str:
    path = f"/runs/{quote(run_id, safe='')}{suffix}"
    return f"{path}?{urlencode(query)}" if query else path


class HttpClient:
    """Requests to the current server over one keep-alive connection. Use one per thread."""

    def __init__(self, servers: Servers, token: str | None, timeout: float = 60.0) -> None:
        self.servers = servers
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._conn_url: str | None = None
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Response:
        """Sends ``method`` ``/api/v1{path}`` to the current server. Raises Unreachable when no answer comes."""
        url = self.servers.current
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = content_type
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        for attempt in range(2):
            conn, reused = self._connection(url, timeout)
            try:
                conn.request(method, urlsplit(url).path + API_PREFIX + path, body=body, headers=headers)
                res = conn.getresponse()
                data = res.read()
                if res.getheader("connection", "").lower() == "close":
                    self.close()
                return Response(res.status, data, url)
            except (OSError, http.client.HTTPException) as err:
                self.close()
                # A kept-alive connection the server closed meanwhile fails on first use: try once on a fresh one.
                if (
                    reused
                    and attempt == 0
                    and isinstance(err, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
                ):
                    continue
                raise Unreachable(url, _describe(err)) from None
        raise Unreachable(url, "connection lost")  # not reached: the loop returns or raises

    def json(self, method: str, path: str, payload: Any = None, timeout: float | None = None) -> Response:
        body = None if payload is None else json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        return self.request(method, path, body, timeout=timeout)

    def abort(self) -> None:
        """Unblocks a request in progress on another thread (its socket is shut down)."""
        with self._lock:
            conn = self._conn
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            conn, self._conn, self._conn_url = self._conn, None, None
        if conn is not None:
            conn.close()

    def _connection(self, url: str, timeout: float | None) -> tuple[http.client.HTTPConnection, bool]:
        wanted = self.timeout if timeout is None else timeout
        with self._lock:
            if self._conn is not None and self._conn_url == url:
                self._conn.timeout = wanted
                if self._conn.sock is not None:
                    self._conn.sock.settimeout(wanted)
                return self._conn, True
        self.close()
        parts = urlsplit(url)
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=wanted, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=wanted)
        with self._lock:
            self._conn, self._conn_url = conn, url
        return conn, False


def _describe(err: BaseException) -> str:
    if isinstance(err, socket.timeout):
        return "no answer, timed out"
    if isinstance(err, ConnectionRefusedError):
        return "ECONNREFUSED"
    if isinstance(err, ConnectionResetError):
        return "ECONNRESET"
    if isinstance(err, http.client.RemoteDisconnected):
        return "the server closed the connection"
    if isinstance(err, socket.gaierror):
        return f"unknown host: {err.strerror}"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__
