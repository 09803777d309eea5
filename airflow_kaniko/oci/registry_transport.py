"""The HTTP under the registry adapter: where credentials may go, how much is read, and for how long.

python-dxf runs the distribution API's auth flow over a ``requests.Session``; this transport is mounted on
that session, so it sees every exchange, redirect hops and token requests included, and:

- sends ``Authorization`` only to the registry's own host, and to the token realm its first challenge named
  while a token is being fetched (go-containerregistry's rule): a ``Link`` or redirect to another host, or a
  later challenge naming another realm, gets no credential;
- refuses a redirect from HTTPS to plain HTTP;
- reads every body in chunks up to a cap and stops there (a success over its cap is refused; an error or
  redirect body is cut), so memory stays bounded whatever the server sends;
- puts one deadline on a whole call: a watchdog shuts the sockets down when it passes, so a server that
  drips bytes cannot hold a read past it (``requests``' timeout is per read).

No Airflow, no Kubernetes; imported only when a registry is used.
"""

from __future__ import annotations

import io
import socket
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

KIB, MIB = 1 << 10, 1 << 20
_CHUNK = 64 * KIB


@dataclass(frozen=True)
class Limits:
    """What one registry call may cost.

    :param manifest: bytes of a manifest or index (distribution refuses to store more than 4 MiB).
    :param config: bytes of an image config blob.
    :param tags_page: bytes of one ``tags/list`` page.
    :param token: bytes of a token response.
    :param discard: bytes read of an error or redirect body before it is cut.
    :param pages: ``tags/list`` pages per call.
    :param tags: tags per repository.
    :param redirects: redirect hops per request.
    """

    manifest: int = 4 * MIB
    config: int = 8 * MIB
    tags_page: int = 4 * MIB
    token: int = 64 * KIB
    discard: int = 64 * KIB
    pages: int = 100
    tags: int = 100_000
    redirects: int = 5


class Refused(Exception):
    """The transport refused a response; the adapter turns it into a ``RegistryError``."""


def origin(url: str) -> tuple[str, int]:
    """``(host, port)`` of a URL, the port defaulted by its scheme, for comparing hosts."""
    parts = urlsplit(url)
    port = parts.port or (80 if parts.scheme == "http" else 443)
    return (parts.hostname or "").lower(), port


class Exchange:
    """One registry call: its deadline, the cap on its bodies, and the connections it uses."""

    def __init__(self, deadline: float, cap: int) -> None:
        self.deadline, self.cap = deadline, cap
        self.authenticating = False
        self.learning = False  # the next token request names the realm
        self.expired = False
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            expired = self.expired
        if expired:
            _shut(connection)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        # socket.socket's shutdown, not SSLSocket's (which drops its SSL object under the reading thread):
        # a read blocked on this socket returns at once.
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


# The exchange each thread is running: the transport and the connections find it here.
_by_thread: dict[int, Exchange] = {}


def _watch(connection: Any) -> None:
    exchange = _by_thread.get(threading.get_ident())
    if exchange is not None:
        exchange.watch(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _watch(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)  # a kept-alive connection, connected during an earlier call
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _watch(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class Transport(HTTPAdapter):
    """The ``requests`` adapter of one registry (see the module docstring).

    :param base_url: the registry's API URL (``https://host[:port]/v2/``).
    :param limits: the caps.
    """

    def __init__(self, base_url: str, limits: Limits) -> None:
        super().__init__(max_retries=0)  # the adapter retries whole calls, within their deadline
        self._origin = origin(base_url)
        self._https = base_url.startswith("https:")
        self.limits = limits
        self.realm: tuple[str, int] | None = None

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager

    # -- one call ---------------------------------------------------------------------------

    @contextmanager
    def exchange(self, deadline: float, cap: int) -> Iterator[Exchange]:
        """Run one attempt of a call under ``deadline`` (``time.monotonic()``), its bodies capped at ``cap``."""
        exchange = Exchange(deadline, cap)
        watchdog = threading.Timer(max(0.0, exchange.remaining()), exchange.expire)
        watchdog.daemon = True
        thread = threading.get_ident()
        _by_thread[thread] = exchange
        watchdog.start()
        try:
            yield exchange
        finally:
            watchdog.cancel()
            _by_thread.pop(thread, None)

    @contextmanager
    def authenticating(self, challenge: Any) -> Iterator[None]:
        """While python-dxf answers ``challenge`` (a 401): the realm may get credentials, bodies are capped as tokens.

        The realm is pinned by the first token request python-dxf makes for a challenge from the registry's own
        host (it goes to the realm that challenge names); later challenges cannot move it.
        """
        exchange = self._require()
        exchange.authenticating = True
        exchange.learning = self.realm is None and origin(challenge.url) == self._origin
        try:
            yield
        finally:
            exchange.authenticating = exchange.learning = False

    # -- every exchange ------------------------------------------------------------------------

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,  # noqa: ARG002 - always streamed, to read within the cap
        timeout: None | float | tuple[float, float] | tuple[float, None] = None,
        verify: bool | str = True,
        cert: None | bytes | str | tuple[bytes | str, bytes | str] = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        exchange = self._require()
        url = request.url or ""
        if self._https and not url.startswith("https:"):
            raise Refused(f"refused a plain-HTTP request to {_where(url)} (redirected from HTTPS?)")
        target = origin(url)
        if exchange.learning:
            self.realm, exchange.learning = target, False
        own = target == self._origin
        realm = exchange.authenticating and target == self.realm
        if not (own or realm):
            request.headers.pop("Authorization", None)
        remaining = exchange.remaining()
        if remaining <= 0:
            raise Refused("out of time")
        per_read = min(timeout, remaining) if isinstance(timeout, (int, float)) else remaining
        response = super().send(request, stream=True, timeout=per_read, verify=verify, cert=cert, proxies=proxies)
        cap = self.limits.token if exchange.authenticating else exchange.cap
        response.raw = io.BytesIO(_read(response, cap if response.ok and not response.is_redirect else None, self.limits.discard))
        if exchange.expired:  # the watchdog's shutdown can look like the end of the headers or the body
            raise Refused("out of time")
        return response

    @staticmethod
    def _require() -> Exchange:
        exchange = _by_thread.get(threading.get_ident())
        if exchange is None:
            raise RuntimeError("a registry request outside Transport.exchange()")
        return exchange


def _read(response: Any, cap: int | None, discard: int) -> bytes:
    """The body, in chunks: over ``cap`` is refused; without a cap, read up to ``discard`` bytes, then cut."""
    raw = response.raw
    declared = response.headers.get("Content-Length", "")
    limit = cap if cap is not None else discard
    chunks: list[bytes] = []
    total, complete = 0, False
    try:
        if cap is not None and declared.isdigit() and int(declared) > cap:
            raise Refused(f"{_where(response.url)} announced {int(declared)} bytes, more than the {_size(cap)} allowed")
        while total <= limit:
            chunk = raw.read(_CHUNK, decode_content=True)
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
            total += len(chunk)
        if not complete and cap is not None:
            raise Refused(f"{_where(response.url)} sent more than the {_size(cap)} allowed")
    except urllib3.exceptions.ReadTimeoutError as err:
        raise requests.ReadTimeout(err, request=response.request) from None
    except (urllib3.exceptions.HTTPError, OSError) as err:
        raise requests.ConnectionError(err, request=response.request) from None
    finally:
        if not complete:
            raw.close()  # drop the connection rather than drain an unbounded body
        raw.release_conn()
    return b"".join(chunks)[:limit]


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # never a path or query: they may hold tokens


def _size(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB else f"{n // KIB} KiB"
