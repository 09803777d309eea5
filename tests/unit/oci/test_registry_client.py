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


def _certificates(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test registry CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
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


@pytest.fixture
def registry_double(tmp_path):
    double = Double()
    cert_file, key_file = _certificates(tmp_path)

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
            if url.path == "/token":
                expected = "Basic " + base64.b64encode(f"user:{double.password}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send(401)
                return self._send(200, json.dumps({"token": TOKEN}).encode(), {"Content-Type": "application/json"})
            if double.fail_next:
                double.fail_next -= 1
                return self._send(503)
            repo, _, rest = url.path[len("/v2/") :].partition("/manifests/")
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    double.host = f"127.0.0.1:{server.server_address[1]}"
    double.ca = str(cert_file)
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


def test_transient_errors_are_retried_a_bounded_number_of_times(registry_double):
    registry_double.fail_next = 2
    with client(registry_double, attempts=3) as registry:
        assert registry.digest("team/app", "latest") == DIGEST
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
