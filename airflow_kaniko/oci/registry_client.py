"""The one adapter between this package and OCI registries (digests, manifests, tags, retag).

It sits on ``python-dxf``, which does the distribution API's auth: a 401 with
``WWW-Authenticate: Bearer`` is answered with a token from the realm, ``Basic`` with
the credentials. This module adds what callers need around it: one client per
repository (its token and HTTP session reused), a CA bundle, timeouts, bounded
retries of transient failures, and errors that name the registry and the reference.
No Airflow, no Kubernetes.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, overload

from airflow_kaniko.oci.reference import split
from airflow_kaniko.oci.registry_protocol import Credentials, RegistryError, ServedManifest

T = TypeVar("T")
# Docker Hub's API lives on another host than its references name.
_API_HOSTS = {"docker.io": "registry-1.docker.io"}
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class Registry:
    """One registry host.

    :param host: ``host[:port]`` as image references spell it.
    :param credentials: basic-auth credentials (also used to get a bearer token); ``None``: anonymous.
    :param ca_file: a CA bundle to verify TLS with; ``None``: the system's.
    :param insecure: plain HTTP.
    :param timeout: seconds per request (connect and read).
    :param attempts: tries per request for transient failures (connection errors,
        timeouts, 408/429/5xx), with exponential backoff from ``backoff`` seconds.
    """

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None = None,
        ca_file: str | None = None,
        insecure: bool = False,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.host = host
        self._credentials = credentials
        self._tlsverify: bool | str = ca_file or True
        self._insecure = insecure
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._clients: dict[str, Any] = {}

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.__exit__(None, None, None)
        self._clients.clear()

    # -- reads -------------------------------------------------------------------------------

    def digest(self, repository: str, reference: str) -> str | None:
        """The manifest digest ``repository:reference`` points at (HEAD), ``None`` if there is none."""
        digest, response = self._call(repository, reference, lambda c: c.head_manifest_and_response(reference))
        if response is None:
            return None
        if not digest:
            raise RegistryError(self.host, f"{repository}:{reference}", "the registry sent no Docker-Content-Digest header")
        return digest

    def manifest(self, repository: str, reference: str) -> ServedManifest | None:
        """The manifest ``repository:reference`` (GET), exact bytes kept; ``None`` if there is none."""
        body, response = self._call(repository, reference, lambda c: _get_manifest(c, reference))
        if body is None or response is None:
            return None
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        served = response.headers.get("Docker-Content-Digest")
        if served and served != digest:
            raise RegistryError(
                self.host, f"{repository}:{reference}", f"manifest bytes hash to {digest}, the registry says {served}"
            )
        return ServedManifest(body=body, media_type=response.headers.get("Content-Type", ""), digest=digest)

    def config(self, repository: str, manifest: ServedManifest) -> dict[str, Any]:
        """The image config blob an image manifest names (labels are under ``config.Labels``)."""
        descriptor = manifest.json().get("config") or {}
        digest = descriptor.get("digest")
        if not digest:
            raise RegistryError(self.host, f"{repository}@{manifest.digest}", "is not an image manifest (no config); an index?")
        # The manifest names this blob, so a 404 is an error here, not "no such image".
        data, _ = self._call(repository, digest, lambda c: (b"".join(c.pull_blob(digest)), True), missing_ok=False)
        return json.loads(data)

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository`` (all pages); empty when the repository does not exist."""
        tags, response = self._call(repository, "tags/list", lambda c: (c.list_aliases(batch_size=1000), True))
        return list(tags or []) if response else []

    # -- writes ------------------------------------------------------------------------------

    def put_manifest(self, repository: str, tag: str, manifest: ServedManifest) -> None:
        """Store ``manifest`` (its exact bytes) under ``tag``."""
        if not manifest.media_type:
            raise RegistryError(self.host, f"{repository}:{tag}", "cannot push a manifest without a media type")
        # DXF.set_manifest takes the media type from the body, which an OCI manifest may omit;
        # DXF._request sends the exact bytes with the type the registry served.
        self._call(
            repository,
            tag,
            lambda c: (
                c._request("put", f"manifests/{tag}", data=manifest.body, headers={"Content-Type": manifest.media_type}),
                True,
            ),
            missing_ok=False,
        )

    def retag(self, repository: str, source: str, tags: list[str]) -> str:
        """Give ``repository:source`` (a tag or digest) the extra ``tags``, registry side; returns its digest.

        One GET and one PUT per tag: the same bytes, so every tag resolves to the same digest.
        """
        manifest = self.manifest(repository, source)
        if manifest is None:
            raise RegistryError(self.host, f"{repository}:{source}", "does not exist, nothing to retag")
        for tag in tags:
            self.put_manifest(repository, tag, manifest)
        return manifest.digest

    def push_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob (a layer or a config); returns its digest. An existing blob is not sent again."""
        digest, _ = self._call(
            repository,
            "blob",
            lambda c: (c.push_blob(data=iter([data]), digest="sha256:" + hashlib.sha256(data).hexdigest()), True),
            missing_ok=False,
        )
        return digest

    def copy(self, source: str, reference: str, target: str, tags: list[str]) -> str:
        """Copy ``source:reference`` (an image manifest) to ``target`` under ``tags``, registry side.

        The config and layers are cross-repository mounted, so no layer bytes move. Returns the digest.
        """
        manifest = self.manifest(source, reference)
        if manifest is None:
            raise RegistryError(self.host, f"{source}:{reference}", "does not exist, nothing to copy")
        body = manifest.json()
        for descriptor in [body.get("config"), *body.get("layers", [])]:
            if descriptor:
                digest = descriptor["digest"]
                self._call(target, digest, _mount(source, digest), missing_ok=False)
        for tag in tags:
            self.put_manifest(target, tag, manifest)
        return manifest.digest

    # -- plumbing ----------------------------------------------------------------------------

    def _client(self, repository: str) -> Any:
        from dxf import DXF

        client = self._clients.get(repository)
        if client is None:
            credentials = self._credentials

            def authenticate(dxf: Any, response: Any) -> None:
                if credentials is None:
                    dxf.authenticate(response=response)
                else:
                    dxf.authenticate(credentials.username, credentials.password, response=response)

            client = DXF(
                _API_HOSTS.get(self.host, self.host),
                repository,
                auth=authenticate,
                insecure=self._insecure,
                tlsverify=self._tlsverify,
                timeout=self._timeout,
            )
            client.__enter__()  # one HTTP session per repository, closed by close()
            self._clients[repository] = client
        return client

    @overload
    def _call(
        self, repository: str, what: str, request: Callable[[Any], tuple[T, Any]], *, missing_ok: Literal[False]
    ) -> tuple[T, Any]: ...

    @overload
    def _call(
        self, repository: str, what: str, request: Callable[[Any], tuple[T, Any]], *, missing_ok: bool = True
    ) -> tuple[T | None, Any]: ...

    def _call(
        self, repository: str, what: str, request: Callable[[Any], tuple[T, Any]], *, missing_ok: bool = True
    ) -> tuple[T | None, Any]:
        """Run ``request`` with retries; ``(None, None)`` for a 404 when ``missing_ok``."""
        import requests
        from dxf.exceptions import DXFError, DXFUnauthorizedError

        reference = f"{repository}:{what}" if not what.startswith("sha256:") else f"{repository}@{what}"
        for attempt in range(1, self._attempts + 1):
            try:
                return request(self._client(repository))
            except DXFUnauthorizedError:
                who = "anonymously" if self._credentials is None else f"as {self._credentials.username!r}"
                raise RegistryError(self.host, reference, f"unauthorised (HTTP 401) {who}", 401) from None
            except requests.HTTPError as err:
                status = err.response.status_code if err.response is not None else None
                if status == 404 and missing_ok:
                    return None, None
                if status == 403:
                    raise RegistryError(self.host, reference, "forbidden (HTTP 403)", 403) from None
                if status not in _TRANSIENT_STATUS or attempt == self._attempts:
                    raise RegistryError(self.host, reference, f"HTTP {status} after {attempt} attempt(s)", status) from None
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt == self._attempts or isinstance(err, requests.exceptions.SSLError):
                    kind = "timed out" if isinstance(err, requests.Timeout) else "unreachable"
                    raise RegistryError(self.host, reference, f"{kind} after {attempt} attempt(s): {_first_line(err)}") from None
            except DXFError as err:
                raise RegistryError(self.host, reference, f"{type(err).__name__}: {err}") from None
            time.sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")


def _get_manifest(client: Any, reference: str) -> tuple[bytes, Any]:
    _, response = client.get_manifest_and_response(reference)
    return response.content, response


def _first_line(err: Exception) -> str:
    """The useful part of a requests error (urllib3 wraps the cause in two layers of prose)."""
    text = str(err)
    if "SSLError" in type(err).__name__ or "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS certificate not trusted (give the registry's CA)"
    cause = re.search(
        r"Failed to establish a new connection: ([^\"')]+)|(Read timed out|Connect timeout|timed out)|(Name or "
        r"service not known|Temporary failure in name resolution)",
        text,
    )
    if cause:
        return next(g for g in cause.groups() if g).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


class Registries:
    """Registry clients by host, with the credentials each host should get.

    :param credentials: host -> credentials; hosts not listed are reached anonymously.
    :param ca_files: host -> CA bundle path.
    :param options: passed to every :class:`Registry` (``timeout``, ``attempts``, ``insecure``...).
    """

    def __init__(
        self, credentials: Mapping[str, Credentials] | None = None, ca_files: Mapping[str, str] | None = None, **options: Any
    ) -> None:
        self._credentials = dict(credentials or {})
        self._ca_files = dict(ca_files or {})
        self._options = options
        self._registries: dict[str, Registry] = {}

    def for_host(self, host: str) -> Registry:
        if host not in self._registries:
            self._registries[host] = Registry(
                host, credentials=self._credentials.get(host), ca_file=self._ca_files.get(host), **self._options
            )
        return self._registries[host]

    def passwords(self) -> list[str]:
        """The passwords it holds, for a redactor of text that leaves the task (an Asset extra)."""
        return [c.password for c in self._credentials.values()]

    def resolve(self, reference: str) -> str:
        """The manifest digest of an image reference; a reference with a digest is its own answer.

        Raises :class:`RegistryError` when the registry cannot answer or the image does not exist.
        """
        host, repository, tag, digest = split(reference)
        if digest:
            return digest
        found = self.for_host(host).digest(repository, tag or "latest")
        if found is None:
            raise RegistryError(host, f"{repository}:{tag}", "no such image (HTTP 404)", 404)
        return found

    def close(self) -> None:
        for registry in self._registries.values():
            registry.close()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _mount(source: str, digest: str) -> Callable[[Any], tuple[Any, bool]]:
    """A cross-repository blob mount from ``source``, as a request for ``Registry._call``."""
    return lambda client: (client.mount_blob(source, digest), True)
