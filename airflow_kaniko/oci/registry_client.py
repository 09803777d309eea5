"""The one adapter between this package and OCI registries (digests, manifests, tags, retag, tag deletion).

It sits on ``python-dxf``, which does the distribution API's auth: a 401 with
``WWW-Authenticate: Bearer`` is answered with a token from the realm, ``Basic`` with
the credentials. This module adds what callers need around it: one client per
repository (its token and HTTP session reused), a CA bundle, timeouts, bounded
retries of transient failures, and errors that name the registry and the reference.
Every registry is treated as hostile: its transport (``registry_transport``) keeps
credentials on its own host, caps every body and puts a deadline on every call; here,
digests are checked against the bytes and every answer's shape before it is used.
No Airflow, no Kubernetes.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, overload
from urllib.parse import urljoin

from airflow_kaniko.compat import dxf as compat
from airflow_kaniko.oci.registry_protocol import Credentials, RegistryError, ServedManifest, TagDeletion, resolve_reference
from airflow_kaniko.oci.registry_transport import Limits, Refused, Transport

T = TypeVar("T")
# Docker Hub's API lives on another host than its references name.
_API_HOSTS = {"docker.io": "registry-1.docker.io"}
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
#: The annotations of a tombstone (see :meth:`Registry.delete_tag`): the tag it stands in for, and a nonce.
TOMBSTONE_ANNOTATION = "dev.airflow-kaniko.tombstone"
TOMBSTONE_NONCE_ANNOTATION = "dev.airflow-kaniko.tombstone.nonce"
_TOMBSTONE_CONFIG = b"{}"
_TOMBSTONE_CONFIG_DIGEST = "sha256:" + hashlib.sha256(_TOMBSTONE_CONFIG).hexdigest()
# What a registry answers a DELETE it does not do: 400 DIGEST_INVALID (distribution 2.x, for a tag),
# 404 MANIFEST_UNKNOWN (registries that look a tag up as a digest), 405 UNSUPPORTED.
_REFUSED = frozenset({400, 404, 405})


def tombstone(tag: str, nonce: str | None = None) -> ServedManifest:
    """A tiny OCI image manifest of its own digest, to stand in for ``tag`` just before it is deleted by digest.

    No layers, the two-byte ``{}`` config, and annotations naming the tag and a random nonce: its digest is
    this one tombstone's, so deleting it by digest deletes no other tag.
    """
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _TOMBSTONE_CONFIG_DIGEST,
            "size": len(_TOMBSTONE_CONFIG),
        },
        "layers": [],
        "annotations": {TOMBSTONE_ANNOTATION: tag, TOMBSTONE_NONCE_ANNOTATION: nonce or secrets.token_hex(16)},
    }
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return ServedManifest(body, OCI_MANIFEST, "sha256:" + hashlib.sha256(body).hexdigest())


class Registry:
    """One registry host.

    :param host: ``host[:port]`` as image references spell it.
    :param credentials: basic-auth credentials (also used to get a bearer token); ``None``: anonymous.
    :param ca_file: a CA bundle to verify TLS with; ``None``: the system's.
    :param insecure: plain HTTP.
    :param timeout: seconds per read (and per connect).
    :param deadline: seconds for a whole call (``digest``, ``manifest``, ...): its auth exchange, redirects,
        body and retries.
    :param attempts: tries per request for transient failures (connection errors,
        timeouts, 408/429/5xx), with exponential backoff from ``backoff`` seconds, within the deadline.
    :param limits: caps on response sizes, pages and redirects.

    Credentials go only to this host and the token realm of its first challenge (see ``registry_transport``).
    """

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | None = None,
        ca_file: str | None = None,
        insecure: bool = False,
        timeout: float = 10.0,
        deadline: float = 60.0,
        attempts: int = 3,
        backoff: float = 0.5,
        limits: Limits | None = None,
    ) -> None:
        self.host = host
        self._api_host = _API_HOSTS.get(host, host)
        self._credentials = credentials
        self._tlsverify: bool | str = ca_file or True
        self._insecure = insecure
        self._timeout = timeout
        self._deadline = deadline
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._limits = limits or Limits()
        self._transport: Transport | None = None
        self._clients: dict[str, Any] = {}
        # What delete_tag learnt of this registry: whether DELETE by tag is worth a try, whether it deletes at all.
        self._delete_by_tag = True
        self._deletes_refused: str | None = None
        self._tombstone_configs: set[str] = set()

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
        where = _reference(repository, reference)
        digest, response = self._call(
            repository, reference, lambda c: c.head_manifest_and_response(reference), cap=self._limits.discard
        )
        if response is None:
            return None
        if not digest:
            raise RegistryError(self.host, where, "the registry sent no Docker-Content-Digest header")
        self._check_digest(where, digest, "Docker-Content-Digest")
        if _DIGEST.fullmatch(reference) and digest != reference:
            raise RegistryError(self.host, where, f"the registry says {digest} for a request by digest")
        return digest

    def manifest(self, repository: str, reference: str) -> ServedManifest | None:
        """The manifest ``repository:reference`` (GET), exact bytes kept; ``None`` if there is none.

        By digest, the bytes must hash to it, whatever the registry's headers say.
        """
        where = _reference(repository, reference)
        body, response = self._call(repository, reference, lambda c: _get_manifest(c, reference), cap=self._limits.manifest)
        if body is None or response is None:
            return None
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        served = response.headers.get("Docker-Content-Digest")
        if served:
            self._check_digest(where, served, "Docker-Content-Digest")
            if served != digest:
                raise RegistryError(self.host, where, f"manifest bytes hash to {digest}, the registry says {served}")
        if reference.startswith("sha256:") and digest != reference:
            raise RegistryError(self.host, where, f"manifest bytes hash to {digest}, not the digest asked for")
        self._json_object(where, body)
        return ServedManifest(body=body, media_type=response.headers.get("Content-Type", ""), digest=digest)

    def config(self, repository: str, manifest: ServedManifest) -> dict[str, Any]:
        """The image config blob an image manifest names (labels are under ``config.Labels``).

        The blob must hash to the digest the manifest names.
        """
        where = f"{repository}@{manifest.digest}"
        descriptor = self._json_object(where, manifest.body).get("config")
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if not digest:
            raise RegistryError(self.host, where, "is not an image manifest (no config); an index?")
        self._check_digest(where, digest, "config digest")
        # The manifest names this blob, so a 404 is an error here, not "no such image".
        # python-dxf's pull_blob raises DXFDigestMismatchError when the bytes hash to another digest.
        data, _ = self._call(
            repository, digest, lambda c: (b"".join(c.pull_blob(digest)), True), missing_ok=False, cap=self._limits.config
        )
        return self._json_object(f"{repository}@{digest}", data)

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository`` (all pages, up to ``Limits.pages``); empty when the repository does not exist."""
        tags, response = self._call(
            repository, "tags/list", lambda c: (self._list_tags(c, repository), True), cap=self._limits.tags_page
        )
        return tags if response and tags else []

    def ping(self) -> None:
        """``GET /v2/``, the distribution API's version check, with the credentials: returns when the registry
        answers 200; raises :class:`RegistryError` otherwise (status 401 for credentials it refuses)."""
        self._call("", "/v2/", lambda c: (None, c.api_version_check()[1]), missing_ok=False, cap=self._limits.discard)

    # -- writes ------------------------------------------------------------------------------

    def put_manifest(self, repository: str, tag: str, manifest: ServedManifest) -> None:
        """Store ``manifest`` (its exact bytes) under ``tag``."""
        if not manifest.media_type:
            raise RegistryError(self.host, f"{repository}:{tag}", "cannot push a manifest without a media type")
        # DXF.set_manifest takes the media type from the body, which an OCI manifest may omit;
        # DXF._request sends the exact bytes with the type the registry served.
        headers = {"Content-Type": manifest.media_type}
        self._call(
            repository,
            tag,
            lambda c: (compat.dxf_request(c, "put", f"manifests/{tag}", data=manifest.body, headers=headers), True),
            missing_ok=False,
            cap=self._limits.discard,
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

    def delete_tag(self, repository: str, tag: str, *, expected: str | None = None) -> TagDeletion:
        """Remove the tag ``repository:tag`` and nothing else: the image keeps its other tags, an index its platforms.

        ``DELETE /v2/<repo>/manifests/<digest>`` removes a manifest and every tag on it (and python-dxf's
        ``del_alias`` deletes by digest), so it is never sent for the image itself. First ``DELETE …/<tag>``
        (OCI distribution 1.1: the tag alone); a registry that refuses it (400, 404, 405: distribution 2.x
        has no delete by tag) gets regclient's technique: a :func:`tombstone` of its own digest is pushed
        under the tag, then deleted by that digest, which only this tag points at. Before the tombstone goes
        up, the tag is read again: one that moved meanwhile is left. If the tombstone cannot be deleted, the
        tag is put back on the image it named and :class:`RegistryError` says why. After the first refusal
        by tag, this client goes straight to the tombstone; after a registry refuses deletes by digest
        (distribution without ``storage.delete.enabled``), every later call fails at once.

        :param expected: the digest the tag must point at (``moved`` otherwise); ``None``: whatever it
            points at when first read.
        :returns: ``deleted``, ``absent`` (no such tag) or ``moved``.
        """
        where = _reference(repository, tag)
        if not _TAG.fullmatch(tag):
            raise RegistryError(self.host, where, "is not a tag (only tags are deleted, never a digest)")
        if expected is not None:
            self._check_digest(where, expected, "expected digest")
        if self._deletes_refused:
            raise RegistryError(self.host, where, f"not deleted: {self._deletes_refused}")
        current = self.digest(repository, tag)
        if current is None:
            return "absent"
        if expected is not None and current != expected:
            return "moved"
        if self._delete_by_tag:
            if self._delete(repository, tag) is None:
                if self.digest(repository, current) is None:
                    self._delete_by_tag = False
                    raise RegistryError(
                        self.host, where, f"the registry deleted the image {current} itself on DELETE by tag, with its other tags"
                    )
                if self.digest(repository, tag) is None:
                    return "deleted"
            self._delete_by_tag = False  # refused, or accepted and not done: tombstones from now on
        return self._delete_by_tombstone(repository, tag, current)

    def _delete_by_tombstone(self, repository: str, tag: str, current: str) -> TagDeletion:
        where = _reference(repository, tag)
        if repository not in self._tombstone_configs:
            # python-dxf's push_blob: HEAD the blob, upload it only when it is missing.
            self._call(
                repository,
                _TOMBSTONE_CONFIG_DIGEST,
                lambda c: (c.push_blob(data=iter((_TOMBSTONE_CONFIG,)), digest=_TOMBSTONE_CONFIG_DIGEST), True),
                missing_ok=False,
                cap=self._limits.discard,
            )
            self._tombstone_configs.add(repository)
        stone = tombstone(tag)
        now = self.digest(repository, tag)  # the last look before the tag is overwritten
        if now is None:
            return "absent"
        if now != current:
            return "moved"
        self.put_manifest(repository, tag, stone)
        try:
            refused = self._delete(repository, stone.digest)
            if refused is not None and refused != 404:  # 404: gone already (a retried DELETE whose answer was lost)
                self._deletes_refused = (
                    f"the registry refuses DELETE by digest (HTTP {refused}); on distribution, set storage.delete.enabled: true"
                )
                raise RegistryError(self.host, where, self._deletes_refused, refused)
        except RegistryError as err:
            raise self._restore(repository, tag, current, err) from None
        return "deleted"

    def _restore(self, repository: str, tag: str, current: str, err: RegistryError) -> RegistryError:
        """Put ``tag`` back on ``current`` after its tombstone could not be deleted; the error to raise."""
        where = _reference(repository, tag)
        try:
            original = self.manifest(repository, current)
            if original is None:
                raise RegistryError(self.host, _reference(repository, current), "is gone")
            self.put_manifest(repository, tag, original)
        except RegistryError as again:
            return RegistryError(self.host, where, f"not deleted: {err.reason}; left on a tombstone: {again.reason}", err.status)
        return RegistryError(self.host, where, f"not deleted: {err.reason}; the tag names {current} again", err.status)

    def _delete(self, repository: str, reference: str) -> int | None:
        """``DELETE /v2/<repository>/manifests/<reference>``: ``None`` when done, the status when refused."""
        try:
            self._call(
                repository,
                reference,
                lambda c: (compat.dxf_request(c, "delete", f"manifests/{reference}"), True),
                missing_ok=False,
                cap=self._limits.discard,
            )
        except RegistryError as err:
            if err.status in _REFUSED:
                return err.status
            raise
        return None

    # -- plumbing ----------------------------------------------------------------------------

    def _check_digest(self, where: str, digest: str, what: str) -> None:
        if not _DIGEST.fullmatch(digest):
            raise RegistryError(self.host, where, f"{what} {digest[:80]!r} is not sha256: and 64 lowercase hex digits")

    def _json_object(self, where: str, body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body)
        except ValueError as err:
            raise RegistryError(self.host, where, f"is not JSON ({err})") from None
        if not isinstance(value, dict):
            raise RegistryError(self.host, where, f"is JSON {type(value).__name__}, not an object")
        return value

    def _list_tags(self, client: Any, repository: str) -> list[str]:
        """``tags/list``, following ``Link: rel=next`` (python-dxf's own paging has no bound)."""
        where = f"{repository}:tags/list"
        tags: list[str] = []
        seen: set[str] = set()
        response = compat.dxf_request(client, "get", "tags/list", params={"n": 1000})
        for _ in range(self._limits.pages):
            page = self._json_object(where, response.content).get("tags") or []
            if not isinstance(page, list) or not all(isinstance(tag, str) for tag in page):
                raise RegistryError(self.host, where, "'tags' is not a list of strings")
            tags.extend(page)
            if len(tags) > self._limits.tags:
                raise RegistryError(self.host, where, f"more than {self._limits.tags} tags")
            link = response.links.get("next")
            if not link:
                return tags
            url = urljoin(response.url, link.get("url", ""))
            if url in seen or url == response.url:
                raise RegistryError(self.host, where, "a Link: rel=next loop")
            seen.add(url)
            response = compat.dxf_request(client, "get", url)
        raise RegistryError(self.host, where, f"more than {self._limits.pages} pages")

    def _client(self, repository: str) -> Any:
        from dxf import DXF

        client = self._clients.get(repository)
        if client is None:
            client = DXF(
                self._api_host,
                repository,
                auth=self._authenticate,
                insecure=self._insecure,
                tlsverify=self._tlsverify,
                timeout=self._timeout,
            )
            client.__enter__()  # one HTTP session per repository, closed by close()
            session = compat.dxf_session(client)
            session.mount("https://", self._get_transport())
            session.mount("http://", self._get_transport())
            session.max_redirects = self._limits.redirects
            self._clients[repository] = client
        return client

    def _get_transport(self) -> Transport:
        if self._transport is None:
            scheme = "http" if self._insecure else "https"
            self._transport = Transport(f"{scheme}://{self._api_host}/v2/", self._limits)
        return self._transport

    def _authenticate(self, dxf: Any, response: Any) -> None:
        """python-dxf's auth callback: its flow, with the realm pinned and the token response bounded."""
        with self._get_transport().authenticating(response):
            try:
                if self._credentials is None:
                    dxf.authenticate(response=response)
                else:
                    dxf.authenticate(self._credentials.username, self._credentials.password, response=response)
            except (KeyError, TypeError, AttributeError, ValueError) as err:
                raise Refused(f"a malformed auth challenge or token response ({type(err).__name__})") from None

    @overload
    def _call(
        self, repository: str, what: str, request: Callable[[Any], tuple[T, Any]], *, missing_ok: Literal[False], cap: int
    ) -> tuple[T, Any]: ...

    @overload
    def _call(
        self, repository: str, what: str, request: Callable[[Any], tuple[T, Any]], *, missing_ok: bool = True, cap: int
    ) -> tuple[T | None, Any]: ...

    def _call(
        self, repository: str, what: str, request: Callable[[Any], tuple[T, Any]], *, missing_ok: bool = True, cap: int
    ) -> tuple[T | None, Any]:
        """Run ``request`` with retries, all within the deadline; ``(None, None)`` for a 404 when ``missing_ok``."""
        import requests
        from dxf.exceptions import DXFError, DXFUnauthorizedError

        reference = _reference(repository, what)
        deadline = time.monotonic() + self._deadline
        for attempt in range(1, self._attempts + 1):
            client = self._client(repository)
            with self._get_transport().exchange(deadline, cap) as exchange:
                try:
                    return request(client)
                except RegistryError:
                    raise
                except DXFUnauthorizedError:
                    who = "anonymously" if self._credentials is None else f"as {self._credentials.username!r}"
                    raise RegistryError(self.host, reference, f"unauthorised (HTTP 401) {who}", 401) from None
                except requests.HTTPError as err:
                    status = err.response.status_code if err.response is not None else None
                    if status == 404 and missing_ok:
                        return None, None
                    if status == 403:
                        raise RegistryError(self.host, reference, "forbidden (HTTP 403)", 403) from None
                    failure = RegistryError(self.host, reference, f"HTTP {status} after {attempt} attempt(s)", status)
                    if status not in _TRANSIENT_STATUS:
                        raise failure from None
                except (requests.ConnectionError, requests.Timeout, Refused) as err:
                    if exchange.expired or exchange.remaining() <= 0:
                        raise RegistryError(
                            self.host, reference, f"did not finish within the {self._deadline:g} s deadline"
                        ) from None
                    if isinstance(err, Refused):
                        raise RegistryError(self.host, reference, str(err)) from None
                    kind = "timed out" if isinstance(err, requests.Timeout) else "unreachable"
                    failure = RegistryError(self.host, reference, f"{kind} after {attempt} attempt(s): {_first_line(err)}")
                    if isinstance(err, requests.exceptions.SSLError):
                        raise failure from None
                except requests.RequestException as err:  # too many redirects, an invalid URL or header
                    raise RegistryError(self.host, reference, f"{type(err).__name__}: {_first_line(err)}") from None
                except DXFError as err:
                    raise RegistryError(self.host, reference, f"{type(err).__name__}: {err}") from None
                except (KeyError, TypeError, AttributeError, ValueError) as err:
                    # python-dxf reading a response of an unexpected shape
                    raise RegistryError(self.host, reference, f"a malformed response ({type(err).__name__})") from None
            pause = self._backoff * 2 ** (attempt - 1)
            if attempt == self._attempts or time.monotonic() + pause >= deadline:
                raise failure
            time.sleep(pause)
        raise AssertionError("unreachable")


def _reference(repository: str, what: str) -> str:
    if not repository:  # a call on the registry itself (``ping``)
        return what
    return f"{repository}@{what}" if what.startswith("sha256:") else f"{repository}:{what}"


def _get_manifest(client: Any, reference: str) -> tuple[bytes, Any]:
    # python-dxf decodes the body as text; the exact bytes are the response's
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
        return resolve_reference(self, reference)

    def close(self) -> None:
        for registry in self._registries.values():
            registry.close()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
