"""Small servers for the hostile-registry tier: HTTPS on 127.0.0.1 with a CA made for the run, plain HTTP too.

Each records what it received (method, path, ``Authorization``) and answers with its ``answer`` callable,
which writes the response itself, so it can drip, loop or send more than it announces. Every server binds
127.0.0.1 only, every handler loop is bounded, and a handler's socket has a timeout: nothing outlives the test.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path  # what the client trusts
    cert: Path  # the servers' certificate, signed by the CA, for IP 127.0.0.1
    key: Path


def make_pki(directory: Path) -> Pki:
    """A CA and a server certificate for 127.0.0.1: with ``cryptography`` if installed, else ``openssl``."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _openssl_pki(directory)
    return _cryptography_pki(directory)


def _cryptography_pki(directory: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(hours=1), now + datetime.timedelta(hours=1))

    def certificate(subject, issuer, public_key, signing_key, extensions):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile-registry test CA")])
    ca = certificate(ca_name, ca_name, ca_key.public_key(), ca_key, [(x509.BasicConstraints(ca=True, path_length=0), True)])
    leaf = certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
        ca_name,
        key.public_key(),
        ca_key,
        [
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False),
            (x509.BasicConstraints(ca=False, path_length=None), True),
        ],
    )
    pki = Pki(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pki


def _openssl_pki(directory: Path) -> Pki:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the hostile-registry tier needs the cryptography package or openssl")
    pki = Pki(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    ca_key, csr, ext = directory / "ca.key", directory / "server.csr", directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def run(*args):
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(pki.ca), "-days", "1", "-subj", "/CN=hostile-registry test CA",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0")  # fmt: skip
    run("req", *ec, "-keyout", str(pki.key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(pki.ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "1",
        "-out", str(pki.cert), "-extfile", str(ext))  # fmt: skip
    return pki


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    authorization: str | None


Answer = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    timeout = 10  # a client that stops talking does not hold a handler thread
    server: Server

    def log_message(self, *args):
        pass

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        self.body = self._read_body()
        self.server.received.append(Received(self.command, self.path, self.headers.get("Authorization")))
        try:
            self.server.answer(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True  # the client gave up, as it should

    def _read_body(self, limit: int = 1 << 20) -> bytes:
        """The request body, by Content-Length or chunked (python-dxf streams a blob upload); at most ``limit`` bytes."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(min(limit, int(self.headers.get("Content-Length") or 0)))
        chunks: list[bytes] = []
        for _ in range(1024):
            size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline(64)
                break
            chunks.append(self.rfile.read(min(size, limit)))
            self.rfile.readline(64)
        return b"".join(chunks)[:limit]

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle


class Server(ThreadingHTTPServer):
    """One host: ``https://127.0.0.1:<port>`` (or ``http://`` without a certificate)."""

    daemon_threads = True

    def __init__(self, pki: Pki | None, answer: Answer | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        if pki is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pki.cert, pki.key)
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if pki else "http"
        self.host = f"127.0.0.1:{self.server_address[1]}"
        self.url = f"{self.scheme}://{self.host}"
        self.received: list[Received] = []
        self.answer: Answer = answer or (lambda handler: handler.send(404))
        self.stop = threading.Event()  # ends every drip at teardown
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)

    def credentials_received(self) -> list[str]:
        return [r.authorization for r in self.received if r.authorization]
