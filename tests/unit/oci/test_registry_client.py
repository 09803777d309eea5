"""The registry adapter's requests, against an HTTPS registry double that speaks the token flow.

The local cluster's registry (end-to-end tier) does basic auth only; this double answers
401 + ``WWW-Authenticate: Bearer`` so the token flow, the CA file, retries and the exact
retag requests are pinned here. It records every request it gets.
"""

import base64
import datetime
import hashlib
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_kaniko.oci.registry_client import Credentials, Registries, Registry, RegistryError
from airflow_kaniko.oci.registry_transport import Limits

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "c" * 64, "size": 2},
        "layers": [],
    },
    indent=3,  # deliberately not canonical: a retag must keep the exact bytes
).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
TOKEN = "tok-123"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return _certificates(tmp_path_factory.mktemp("ca"))


def _certificates(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test registry CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "ca.crt", tmp_path / "ca.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Double:
    def __init__(self):
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.manifests = {("team/app", "latest"): MANIFEST, ("team/app", DIGEST): MANIFEST}
        self.fail_next = 0  # answer 503 this many times
        self.password = "pw"
        self.basic = False  # Basic auth instead of the token flow
        # handler -> (status, body, headers) or None: a test's own answer, before the double's
        self.custom = None


def _serve(certificates):
    double = Double()
    cert_file, key_file = certificates

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body=b"", headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            double.requests.append((self.command, self.path, dict(self.headers), body))
            url = urlsplit(self.path)
            host = f"127.0.0.1:{self.server.server_address[1]}"
            answer = double.custom(self) if double.custom else None
            if answer is not None:
                return self._send(*answer)
            if url.path == "/token":
                expected = "Basic " + base64.b64encode(f"user:{double.password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send(401)
                return self._send(200, json.dumps({"token": TOKEN}).encode(), {"Content-Type": "application/json"})
            if double.fail_next:
                double.fail_next -= 1
                return self._send(503)
            repo, _, rest = url.path[len("/v2/") :].partition("/manifests/")
            if double.basic:
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"user:pw").decode():
                    return self._send(401, b"", {"WWW-Authenticate": 'Basic realm="double"'})
            elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
                challenge = f'Bearer realm="https://{host}/token",service="double",scope="repository:{repo}:pull,push"'
                return self._send(401, b"", {"WWW-Authenticate": challenge})
            if self.command == "PUT":
                double.manifests[(repo, rest)] = body
                return self._send(201, b"", {"Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest()})
            if (repo, rest) not in double.manifests:
                return self._send(404)
            data = double.manifests[(repo, rest)]
            headers = {
                "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                "Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest(),
            }
            return self._send(200, data, headers)

        do_GET = do_HEAD = do_PUT = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    double.host = f"127.0.0.1:{server.server_address[1]}"
    double.ca = str(cert_file)
    return double, server


@pytest.fixture
def registry_double(certificates):
    double, server = _serve(certificates)
    yield double
    server.shutdown()


@pytest.fixture
def other_host(certificates):
    """Another host (same address, another port): it records what it gets, and must get no credential."""
    double, server = _serve(certificates)
    yield double
    server.shutdown()


def client(double, password="pw", **kw):
    return Registry(double.host, credentials=Credentials("user", password), ca_file=double.ca, backoff=0.01, **kw)


def test_token_flow_then_head_gives_the_digest(registry_double):
    with client(registry_double) as registry:
        assert registry.digest("team/app", "latest") == DIGEST
        assert registry.digest("team/app", "missing") is None
    methods = [(m, p.split("?")[0]) for m, p, _, _ in registry_double.requests]
    # 401 with a Bearer challenge, the token from the realm with basic auth, the retried HEAD; the token is reused
    assert methods == [
        ("HEAD", "/v2/team/app/manifests/latest"),
        ("GET", "/token"),
        ("HEAD", "/v2/team/app/manifests/latest"),
        ("HEAD", "/v2/team/app/manifests/missing"),
    ]
    token_query = parse_qs(urlsplit(registry_double.requests[1][1]).query)
    assert token_query == {"service": ["double"], "scope": ["repository:team/app:pull,push"]}


def test_retag_gets_once_and_puts_the_exact_bytes_per_tag(registry_double):
    with client(registry_double) as registry:
        assert registry.retag("team/app", "latest", ["20261130", "stable"]) == DIGEST
    puts = [(p, h["Content-Type"], b) for m, p, h, b in registry_double.requests if m == "PUT"]
    assert puts == [
        ("/v2/team/app/manifests/20261130", "application/vnd.oci.image.manifest.v1+json", MANIFEST),
        ("/v2/team/app/manifests/stable", "application/vnd.oci.image.manifest.v1+json", MANIFEST),
    ]
    authorised_gets = [p for m, p, h, _ in registry_double.requests if m == "GET" and h.get("Authorization") == f"Bearer {TOKEN}"]
    assert authorised_gets == ["/v2/team/app/manifests/latest"]  # one read, however many tags
    assert registry_double.manifests[("team/app", "stable")] == MANIFEST


def test_retag_of_a_missing_image_names_it(registry_double):
    with (
        client(registry_double) as registry,
        pytest.raises(RegistryError, match=rf"registry {registry_double.host}: team/app:gone: does not exist"),
    ):
        registry.retag("team/app", "gone", ["x"])


def test_wrong_password_is_unauthorised_naming_the_user_not_the_password(registry_double):
    with client(registry_double, password="nope") as registry, pytest.raises(RegistryError) as err:
        registry.digest("team/app", "latest")
    assert "team/app:latest" in str(err.value) and "as 'user'" in str(err.value) and "nope" not in str(err.value)


def test_transient_errors_are_retried_a_bounded_number_of_times(registry_double, naps):
    registry_double.fail_next = 2
    with client(registry_double, attempts=3) as registry:
        assert registry.digest("team/app", "latest") == DIGEST
    assert naps == [0.01, 0.02]  # exponential from backoff=0.01, recorded instead of slept (tests/unit/conftest.py)
    registry_double.fail_next = 5
    with client(registry_double, attempts=2) as registry, pytest.raises(RegistryError, match="HTTP 503 after 2 attempt"):
        registry.digest("team/app", "latest")


def test_without_the_ca_tls_fails_clearly_without_retrying(registry_double):
    registry = Registry(registry_double.host, credentials=Credentials("user", "pw"), backoff=0.01)
    with pytest.raises(RegistryError, match="unreachable after 1 attempt.*TLS certificate not trusted"):
        registry.digest("team/app", "latest")


def test_unreachable_and_timeouts_are_bounded():
    with pytest.raises(RegistryError, match=r"registry 127.0.0.1:9: lib/x:1: unreachable after 2 attempt"):
        Registry("127.0.0.1:9", attempts=2, backoff=0.01, timeout=1).digest("lib/x", "1")


def test_registries_resolve_and_route_credentials(registry_double):
    with Registries(
        {registry_double.host: Credentials("user", "pw")}, {registry_double.host: registry_double.ca}, backoff=0.01
    ) as registries:
        assert registries.resolve(f"{registry_double.host}/team/app") == DIGEST
        pinned = f"{registry_double.host}/team/app@sha256:" + "d" * 64
        count = len(registry_double.requests)
        assert registries.resolve(pinned) == "sha256:" + "d" * 64  # a digest is its own answer: no request
        assert len(registry_double.requests) == count
        with pytest.raises(RegistryError, match="team/app:nope: no such image"):
            registries.resolve(f"{registry_double.host}/team/app:nope")


# -- a hostile registry: credentials stay on the registry's own host (issue 17, item 7) ----------------------


def _tag_pages(registry_double, next_url):
    """tags/list: page 1 links to ``next_url``; every other page is the last."""

    def answer(handler):
        if "/tags/list" not in handler.path or handler.headers.get("Authorization") is None:
            return None
        link = {"Link": f'<{next_url}>; rel="next"'} if "page=2" not in handler.path else {}
        return 200, json.dumps({"name": "team/app", "tags": ["a"]}).encode(), link

    registry_double.custom = answer


def _authorizations(double):
    return [h.get("Authorization") for _, _, h, _ in double.requests]


def test_a_link_to_another_host_gets_no_bearer_token(registry_double, other_host):
    _tag_pages(registry_double, f"https://{other_host.host}/v2/team/app/tags/list?page=2")
    other_host.custom = lambda handler: (200, json.dumps({"tags": ["b"]}).encode(), {})
    with client(registry_double) as registry:
        assert registry.tags("team/app") == ["a", "b"]
    assert other_host.requests and _authorizations(other_host) == [None]


def test_a_link_to_another_host_gets_no_basic_auth(registry_double, other_host):
    registry_double.basic = True
    _tag_pages(registry_double, f"https://{other_host.host}/v2/team/app/tags/list?page=2")
    other_host.custom = lambda handler: (200, json.dumps({"tags": ["b"]}).encode(), {})
    with client(registry_double) as registry:
        assert registry.tags("team/app") == ["a", "b"]
    assert _authorizations(other_host) == [None]


def test_a_later_challenge_naming_another_realm_gets_no_password(registry_double, other_host):
    with client(registry_double) as registry:
        assert registry.digest("team/app", "latest") == DIGEST  # the realm of the first challenge: this host

        def rechallenge(handler):
            if handler.path.startswith("/v2/"):
                realm = f'Bearer realm="https://{other_host.host}/token",service="evil"'
                return 401, b"", {"WWW-Authenticate": realm}
            return None

        registry_double.custom = rechallenge
        with pytest.raises(RegistryError, match="unauthorised"):
            registry.digest("team/app", "latest")
    assert [p.split("?")[0] for _, p, _, _ in other_host.requests] == ["/token"]
    assert _authorizations(other_host) == [None]


# -- bounds: sizes, pages, a deadline, shapes (item 8) --------------------------------------------------------


def test_a_token_response_over_its_cap_is_refused(registry_double):
    big = json.dumps({"token": "x" * (100 << 10)}).encode()
    registry_double.custom = lambda h: (200, big, {}) if h.path.startswith("/token") else None
    with (
        client(registry_double) as registry,
        pytest.raises(RegistryError, match=rf"registry {registry_double.host}: team/app:latest: .*more than the 64 KiB"),
    ):
        registry.digest("team/app", "latest")


def test_a_manifest_over_its_cap_is_refused(registry_double):
    registry_double.manifests[("team/app", "big")] = b'{"x": "' + b"y" * (5 << 20) + b'"}'
    with client(registry_double) as registry, pytest.raises(RegistryError, match="more than the 4 MiB allowed"):
        registry.manifest("team/app", "big")


def test_a_link_loop_is_refused(registry_double):
    loop = f"https://{registry_double.host}/v2/team/app/tags/list?n=1000&last=a"
    served = []

    def answer(handler):
        if "/tags/list" not in handler.path or handler.headers.get("Authorization") is None:
            return None
        served.append(handler.path)
        if len(served) > 20:  # the double's own bound, so the code before the fix fails instead of hanging
            return 500, b"", {}
        return 200, json.dumps({"tags": ["a"]}).encode(), {"Link": f'<{loop}>; rel="next"'}

    registry_double.custom = answer
    with client(registry_double, attempts=1) as registry, pytest.raises(RegistryError, match="Link: rel=next loop"):
        registry.tags("team/app")
    assert len(served) == 2  # the first page, then the linked one, which links to itself


def test_pages_are_capped(registry_double):
    served = []

    def answer(handler):
        if "/tags/list" not in handler.path or handler.headers.get("Authorization") is None:
            return None
        served.append(handler.path)
        if len(served) > 20:
            return 500, b"", {}
        link = f'</v2/team/app/tags/list?page={len(served) + 1}>; rel="next"'
        return 200, json.dumps({"tags": [str(len(served))]}).encode(), {"Link": link}

    registry_double.custom = answer
    with (
        client(registry_double, attempts=1, limits=Limits(pages=5)) as registry,
        pytest.raises(RegistryError, match="more than 5 pages"),
    ):
        registry.tags("team/app")
    assert len(served) == 6


@pytest.mark.parametrize(
    ("token_body", "kind"),
    [(b"{not json", "JSONDecodeError"), (b"[]", "AttributeError"), (b'{"nope": 1}', "KeyError"), (b'{"token": 5}', "TypeError")],
    ids=["not-json", "a-list", "no-token", "token-not-a-string"],
)
def test_a_malformed_token_response_is_a_registry_error(registry_double, token_body, kind):
    registry_double.custom = lambda h: (200, token_body, {}) if h.path.startswith("/token") else None
    with client(registry_double) as registry, pytest.raises(RegistryError, match=f"malformed.*{kind}"):
        registry.digest("team/app", "latest")


def test_a_challenge_without_www_authenticate_is_a_registry_error(registry_double):
    registry_double.custom = lambda h: (401, b"", {}) if h.path.startswith("/v2/") else None
    with client(registry_double) as registry, pytest.raises(RegistryError, match="malformed.*KeyError"):
        registry.digest("team/app", "latest")


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b'{"tags": "abc"}', "not a list of strings"), (b'{"tags": [1]}', "not a list of strings"), (b"[]", "not an object")],
)
def test_a_tag_list_of_another_shape_is_a_registry_error(registry_double, body, reason):
    registry_double.custom = lambda h: (200, body, {}) if "/tags/list" in h.path and h.headers.get("Authorization") else None
    with client(registry_double) as registry, pytest.raises(RegistryError, match=f"team/app:tags/list: .*{reason}"):
        registry.tags("team/app")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[1, 2]", "is JSON list, not an object"),
        (b'{"config": "sha256:x"}', "no config"),
        (b'{"a": 1', "is not JSON"),
        (b"\xff", r"malformed response \(UnicodeDecodeError\)"),
    ],
)
def test_a_manifest_of_another_shape_is_a_registry_error(registry_double, body, reason):
    registry_double.manifests[("team/app", "odd")] = body
    with client(registry_double) as registry, pytest.raises(RegistryError, match=reason):
        manifest = registry.manifest("team/app", "odd")
        registry.config("team/app", manifest)


def test_a_call_finishes_within_its_deadline_whatever_the_server_does(registry_double):
    release = threading.Event()

    def stall(handler):
        release.wait(30)  # the double's own bound
        return None

    registry_double.custom = stall
    try:
        with (
            client(registry_double, deadline=0.5, timeout=30) as registry,
            pytest.raises(RegistryError, match="did not finish within the 0.5 s deadline"),
        ):
            registry.digest("team/app", "latest")
    finally:
        release.set()


# -- integrity (item 9) ----------------------------------------------------------------------------------------


def test_a_get_by_digest_must_hash_to_it_even_without_a_digest_header(registry_double):
    other = b'{"schemaVersion": 2}'
    registry_double.custom = lambda h: (
        (200, other, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        if h.command == "GET" and h.path.endswith(DIGEST) and h.headers.get("Authorization")
        else None
    )
    with client(registry_double) as registry, pytest.raises(RegistryError, match="not the digest asked for"):
        registry.manifest("team/app", DIGEST)


@pytest.mark.parametrize("served", ["sha256:zz not-hex --insecure", "sha256:" + "A" * 64, "sha512:" + "a" * 128])
def test_a_digest_header_is_format_checked(registry_double, served):
    registry_double.custom = lambda h: (
        (200, b"", {"Docker-Content-Digest": served}) if h.command == "HEAD" and h.headers.get("Authorization") else None
    )
    with client(registry_double) as registry, pytest.raises(RegistryError, match="not sha256: and 64 lowercase hex"):
        registry.digest("team/app", "latest")


def test_a_redirect_from_https_to_plain_http_is_refused(registry_double):
    plain = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)  # answers nothing useful: never reached
    target = f"http://127.0.0.1:{plain.server_address[1]}/v2/team/app/manifests/latest"
    registry_double.custom = lambda h: (307, b"", {"Location": target}) if h.headers.get("Authorization") else None
    try:
        with client(registry_double) as registry, pytest.raises(RegistryError, match="refused a plain-HTTP request"):
            registry.manifest("team/app", "latest")
    finally:
        plain.server_close()
