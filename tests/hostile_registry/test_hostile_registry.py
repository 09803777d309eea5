"""The registry adapter against registries that lie, loop, drip and redirect (issue 17, items 7 to 9).

A second HTTPS server is "another host" (same address, another port, so another origin): it records what it
receives and must receive no credential. Every call must end in the adapter's deadline and raise
``RegistryError``, with the worker's memory bounded whatever the server sends.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_kaniko.oci.registry_client import Credentials, Registry, RegistryError
from tests.hostile_registry.servers import Server

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD, TOKEN = "user", "s3cret-pw", "tok-hostile"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
OCI = "application/vnd.oci.image.manifest.v1+json"
CONFIG = b'{"architecture": "amd64", "os": "linux", "config": {}}'
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": OCI, "config": {"mediaType": "x", "digest": CONFIG_DIGEST, "size": len(CONFIG)}}
).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
DEADLINE = 3.0
SLACK = 1.5  # thread scheduling on a shared machine; the bound itself is the deadline
MIB = 1 << 20


def authorised(handler, scheme="bearer") -> bool:
    """The registry's own auth; ``False`` when this exchange was a challenge or a token."""
    if handler.path.startswith("/token"):
        if handler.headers.get("Authorization") == BASIC:
            handler.send(200, json.dumps({"token": TOKEN}).encode(), {"Content-Type": "application/json"})
        else:
            handler.send(401)
        return False
    if scheme == "basic":
        if handler.headers.get("Authorization") != BASIC:
            handler.send(401, headers={"WWW-Authenticate": 'Basic realm="hostile"'})
            return False
        return True
    if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
        challenge = f'Bearer realm="{handler.server.url}/token",service="hostile"'
        handler.send(401, headers={"WWW-Authenticate": challenge})
        return False
    return True


def registry(server, **options) -> Registry:
    return Registry(
        server.host, credentials=Credentials(USER, PASSWORD), ca_file=str(server.pki.ca), deadline=DEADLINE, **options
    )


@pytest.fixture
def servers(pki):
    with Server(pki) as own, Server(pki) as other:
        own.pki = other.pki = pki
        yield own, other


def _assert_no_credential(other):
    assert other.received, "the other host was never asked: the test proves nothing"
    assert other.credentials_received() == []


# -- credentials stay home (item 7) ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_a_redirect_to_another_host_gets_no_credential(servers, scheme):
    own, other = servers

    def answer(handler):
        if authorised(handler, scheme):
            handler.send(307, headers={"Location": f"{other.url}/cdn/manifest"})

    own.answer = answer
    other.answer = lambda handler: handler.send(200, MANIFEST, {"Content-Type": OCI})
    with registry(own) as client:
        assert client.manifest("team/app", "latest").digest == DIGEST  # a CDN may serve it; it gets no credential
    _assert_no_credential(other)


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_a_link_to_another_host_gets_no_credential(servers, scheme):
    own, other = servers

    def answer(handler):
        if authorised(handler, scheme):
            handler.send(200, b'{"tags": ["a"]}', {"Link": f'<{other.url}/v2/team/app/tags/list?last=a>; rel="next"'})

    own.answer = answer
    other.answer = lambda handler: handler.send(200, b'{"tags": ["b"]}')
    with registry(own) as client:
        assert client.tags("team/app") == ["a", "b"]
    _assert_no_credential(other)


def test_a_challenge_naming_another_hosts_realm_gets_no_password(servers):
    own, other = servers
    pinned = []

    def answer(handler):
        if pinned and not handler.path.startswith("/token"):  # after the first call: "authenticate over there"
            return handler.send(401, headers={"WWW-Authenticate": f'Bearer realm="{other.url}/token",service="evil"'})
        if authorised(handler):
            pinned.append(True)
            handler.send(200, headers={"Docker-Content-Digest": DIGEST})

    own.answer = answer
    other.answer = lambda handler: handler.send(401)
    with registry(own) as client:
        assert client.digest("team/app", "latest") == DIGEST
        with pytest.raises(RegistryError, match=rf"registry {own.host}: team/app:latest: unauthorised"):
            client.digest("team/app", "latest")
    _assert_no_credential(other)


# -- bounded in time, count and memory (item 8) ----------------------------------------------------------------


def _drip(handler, head: bytes):
    handler.wfile.write(head)
    for _ in range(600):  # at most 30 s, ended at teardown
        handler.wfile.write(b"a")
        if handler.server.stop.wait(0.05):
            return


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_slow_drip_ends_at_the_deadline(servers, phase):
    own, _ = servers

    def answer(handler):
        if authorised(handler):
            if phase == "headers":
                _drip(handler, b"HTTP/1.1 200 OK\r\nX-Drip: ")
            else:
                _drip(handler, f"HTTP/1.1 200 OK\r\nContent-Type: {OCI}\r\nContent-Length: 100000\r\n\r\n".encode())

    own.answer = answer
    start = time.monotonic()
    with registry(own, timeout=1.0) as client, pytest.raises(RegistryError, match=f"did not finish within the {DEADLINE:g} s"):
        if phase == "headers":
            client.digest("team/app", "latest")
        else:
            client.manifest("team/app", "latest")
    assert time.monotonic() - start < DEADLINE + SLACK


def test_a_link_loop_is_cut(servers):
    own, _ = servers

    def answer(handler):
        if len(own.received) > 50:  # the server's own bound: a client without one fails rather than hangs
            return handler.send(500)
        if authorised(handler):
            target = "b" if "last=a" not in handler.path else "a"  # a -> b -> a -> ...
            link = f'</v2/team/app/tags/list?last={"a" if target == "b" else "b"}>; rel="next"'
            handler.send(200, json.dumps({"tags": [target]}).encode(), {"Link": link})

    own.answer = answer
    with registry(own) as client, pytest.raises(RegistryError, match="Link: rel=next loop"):
        client.tags("team/app")
    assert len([r for r in own.received if "tags/list" in r.path]) <= 5


def test_an_endless_chain_of_pages_is_cut(servers):
    own, _ = servers

    def answer(handler):
        if len(own.received) > 300:  # the server's own bound
            return handler.send(500)
        if authorised(handler):
            page = len(own.received)
            handler.send(200, json.dumps({"tags": [str(page)]}).encode(), {"Link": f'<?page={page}>; rel="next"'})

    own.answer = answer
    with registry(own) as client, pytest.raises(RegistryError, match="more than 100 pages"):
        client.tags("team/app")
    assert len(own.received) <= 100 + 3


def _flood(handler, status_and_headers: bytes):
    """200 MiB, or until the client hangs up."""
    handler.wfile.write(status_and_headers)
    chunk = b"x" * (64 << 10)
    for _ in range(200 * MIB // len(chunk)):
        if handler.server.stop.is_set():
            return
        handler.wfile.write(chunk)


CLIENT = """
import json, resource, sys, time
import dxf, requests, www_authenticate  # imported before measuring
from airflow_kaniko.oci.registry_client import Credentials, Registry, RegistryError

host, ca, what, deadline = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
registry = Registry(host, credentials=Credentials("user", "s3cret-pw"), ca_file=ca, deadline=deadline, attempts=1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.monotonic()
try:
    if what == "config":
        registry.config("team/app", registry.manifest("team/app", "latest"))
    elif what == "tags":
        registry.tags("team/app")
    else:
        registry.manifest("team/app", "latest")
    outcome = "accepted"
except RegistryError as err:
    outcome = "RegistryError: " + str(err)
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"outcome": outcome, "grew_mib": grew / 1024, "seconds": time.monotonic() - start}))
"""


@pytest.mark.parametrize(
    ("what", "announced"),
    [("token", False), ("manifest", False), ("manifest", True), ("config", False), ("tags", False)],
    ids=["token", "manifest", "manifest-with-content-length", "config-blob", "tag-page"],
)
def test_an_oversized_body_is_refused_with_memory_bounded(servers, what, announced):
    own, _ = servers
    length = f"Content-Length: {200 * MIB}\r\n" if announced else "Connection: close\r\n"
    flood = f"HTTP/1.0 200 OK\r\nContent-Type: {OCI}\r\n{length}\r\n".encode()

    def answer(handler):
        if what == "token" and handler.path.startswith("/token"):
            return _flood(handler, flood)
        if not authorised(handler):
            return
        if what == "config" and "/manifests/" in handler.path:
            return handler.send(200, MANIFEST, {"Content-Type": OCI, "Docker-Content-Digest": DIGEST})
        _flood(handler, flood)

    own.answer = answer
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", CLIENT, own.host, str(own.pki.ca), what, str(DEADLINE * 4)]
    result = json.loads(subprocess.run(args, capture_output=True, check=True, timeout=60, env=env, text=True).stdout)
    assert result["outcome"].startswith(f"RegistryError: registry {own.host}: "), result
    assert "allowed" in result["outcome"], result
    assert result["grew_mib"] < 32, result  # the caps are 4 MiB (manifest, tag page) and 8 MiB (config)
    assert result["seconds"] < DEADLINE * 4


# -- integrity (item 9) ----------------------------------------------------------------------------------------


def test_a_body_that_hashes_to_another_digest_is_refused(servers):
    own, _ = servers
    lie = MANIFEST.replace(b'"os"', b'"os" ') if b'"os"' in MANIFEST else MANIFEST + b" "

    def answer(handler):
        if authorised(handler):
            handler.send(200, lie, {"Content-Type": OCI})  # and no Docker-Content-Digest to compare with

    own.answer = answer
    with registry(own) as client, pytest.raises(RegistryError, match="not the digest asked for"):
        client.manifest("team/app", DIGEST)


def test_a_config_blob_that_hashes_to_another_digest_is_refused(servers):
    own, _ = servers

    def answer(handler):
        if authorised(handler):
            if "/manifests/" in handler.path:
                return handler.send(200, MANIFEST, {"Content-Type": OCI})
            handler.send(200, CONFIG.replace(b"amd64", b"arm64"))

    own.answer = answer
    with registry(own) as client, pytest.raises(RegistryError, match="DXFDigestMismatchError"):
        client.config("team/app", client.manifest("team/app", "latest"))


def test_a_digest_header_that_is_not_a_digest_never_leaves_the_adapter(servers):
    own, _ = servers

    def answer(handler):
        if authorised(handler):
            handler.send(200, headers={"Docker-Content-Digest": "sha256:zz not-hex --insecure"})

    own.answer = answer
    with registry(own) as client, pytest.raises(RegistryError, match="is not sha256: and 64 lowercase hex digits"):
        client.digest("team/app", "latest")


def test_a_redirect_to_plain_http_is_refused_before_anything_is_sent(servers):
    own, _ = servers
    with Server(None) as plain:
        plain.answer = lambda handler: handler.send(200, MANIFEST, {"Content-Type": OCI})

        def answer(handler):
            if authorised(handler):
                handler.send(302, headers={"Location": f"{plain.url}/v2/team/app/manifests/latest"})

        own.answer = answer
        with registry(own) as client, pytest.raises(RegistryError, match="refused a plain-HTTP request to http://127.0.0.1"):
            client.manifest("team/app", "latest")
        assert plain.received == []
