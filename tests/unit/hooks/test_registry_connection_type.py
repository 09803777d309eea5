"""The ``oci_registry`` connection type: registered with Airflow, its form as the API serves it, its Test button."""

import base64
import json
import socket
import subprocess
import sys

import pytest

import airflow_kaniko
from airflow_kaniko.hooks.registry import RegistryHook
from airflow_kaniko.oci.registry_client import Registry
from airflow_kaniko.oci.registry_protocol import RegistryError
from tests.hostile_registry.servers import Server, make_pki

PASSWORD = "R1ght-registry-pw"
BASIC = "Basic " + base64.b64encode(f"robot:{PASSWORD}".encode()).decode()


def test_the_provider_info_declares_the_hook_and_its_connection_type():
    info = airflow_kaniko.get_provider_info()
    assert info["hooks"] == [{"integration-name": "Kaniko", "python-modules": ["airflow_kaniko.hooks.registry"]}]
    (conn_type,) = info["connection-types"]
    module, _, name = conn_type["hook-class-name"].rpartition(".")
    assert getattr(__import__(module, fromlist=[name]), name) is RegistryHook
    assert conn_type["connection-type"] == RegistryHook.conn_type == "oci_registry"
    assert conn_type["hook-name"] == RegistryHook.hook_name
    # The form stores each field under its name in the extra, the keys RegistryHook reads (test_registry.py).
    assert set(conn_type["conn-fields"]) == {"ca_file", "image_url_template"}


def test_airflow_providers_hooks_lists_it_with_its_connection_type():
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "hooks", "-o", "json"], capture_output=True, text=True, check=True
    ).stdout
    (hook,) = [h for h in json.loads(out) if h["connection_type"] == "oci_registry"]
    assert hook["class"] == "airflow_kaniko.hooks.registry.RegistryHook"
    assert hook["package_name"] == "airflow-provider-kaniko"
    assert hook["conn_id_attribute_name"] == "registry_conn_id"


def test_the_form_the_api_serves():
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "oci_registry"]
    form = meta.model_dump()
    assert form["hook_name"] == "OCI registry (Kaniko)"
    standard = form["standard_fields"]
    assert standard["url_schema"]["hidden"] is True  # the schema field means nothing to a registry
    assert {k: (v["hidden"], v["title"]) for k, v in standard.items() if k in ("host", "login", "password")} == {
        "host": (False, "Registry host"),
        "login": (False, "Username"),
        "password": (False, "Password or token"),
    }
    assert standard["host"]["placeholder"].startswith("registry.example.com")
    assert standard["port"]["hidden"] is False  # honoured: host 10.244.77.1 and port 5000 push to 10.244.77.1:5000
    extra = form["extra_fields"]
    assert {k: (v["schema"]["title"], v["schema"]["type"]) for k, v in extra.items()} == {
        "ca_file": ("CA bundle path", ["string", "null"]),
        "image_url_template": ("Image URL template", ["string", "null"]),
    }


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    pki = make_pki(tmp_path_factory.mktemp("pki"))

    def answer(handler):
        if handler.path != "/v2/":
            handler.send(404)
        elif handler.headers.get("Authorization") == BASIC:
            handler.send(200, b"{}", {"Docker-Distribution-API-Version": "registry/2.0"})
        else:
            handler.send(401, headers={"WWW-Authenticate": 'Basic realm="registry"'})

    with Server(pki, answer) as server:
        yield server, pki


def _connection(monkeypatch, host, password, ca_file=None):
    extra = {"ca_file": str(ca_file)} if ca_file else {}
    monkeypatch.setenv(
        "AIRFLOW_CONN_REG",
        json.dumps({"conn_type": "oci_registry", "host": host, "login": "robot", "password": password, "extra": extra}),
    )


def test_test_connection_against_a_registry_that_takes_the_password(monkeypatch, registry):
    server, pki = registry
    _connection(monkeypatch, server.host, PASSWORD, pki.ca)
    assert RegistryHook("reg").test_connection() == (True, f"Connection successful: {server.host} answered GET /v2/ as 'robot'")
    assert server.received[-1].path == "/v2/" and server.received[-1].authorization == BASIC


def test_test_connection_with_a_wrong_password(monkeypatch, registry):
    server, pki = registry
    _connection(monkeypatch, server.host, "Wr0ng-registry-pw", pki.ca)
    assert RegistryHook("reg").test_connection() == (
        False,
        f"registry {server.host}: /v2/: unauthorised (HTTP 401) as 'robot'",
    )


def test_test_connection_without_the_ca(monkeypatch, registry):
    server, _ = registry
    _connection(monkeypatch, server.host, PASSWORD)
    reason = "unreachable after 1 attempt(s): TLS certificate not trusted (give the registry's CA)"
    assert RegistryHook("reg").test_connection() == (False, f"registry {server.host}: /v2/: {reason}")


def test_test_connection_to_an_unreachable_host(monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _connection(monkeypatch, f"127.0.0.1:{port}", PASSWORD)
    ok, message = RegistryHook("reg").test_connection()
    assert not ok and message.startswith(f"registry 127.0.0.1:{port}: /v2/: unreachable after 1 attempt(s): ")
    assert PASSWORD not in message


def test_test_connection_never_echoes_the_password(monkeypatch):
    def ping(self):
        raise RegistryError(self.host, "/v2/", f"the registry answered {PASSWORD!r}")  # whatever a registry sends back

    monkeypatch.setattr(Registry, "ping", ping)
    _connection(monkeypatch, "reg.example.com", PASSWORD)
    assert RegistryHook("reg").test_connection() == (False, "registry reg.example.com: /v2/: the registry answered '***'")


def test_test_connection_reports_a_bad_connection_without_its_host(monkeypatch):
    _connection(monkeypatch, f"https://robot:{PASSWORD}@reg.example.com", PASSWORD)
    ok, message = RegistryHook("reg").test_connection()
    assert not ok and "userinfo" in message and PASSWORD not in message and "robot" not in message
