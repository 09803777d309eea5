"""The registry hook: one reading of a registry connection, ``host[:port]`` everywhere, userinfo never echoed."""

import json

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.hooks.registry import RegistryConnection, RegistryHook, RegistryLogin, registries
from airflow_kaniko.maintenance.planner import PlanError
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from tests.conftest import ROOT

HELLO = str(ROOT / "dags" / "images" / "hello")
USERINFO = "robot:Sup3r-S3cret-pw@"


def conn(host: str, login: str = "builder", **fields: object) -> str:
    return json.dumps({"conn_type": "docker", "host": host, "login": login, "password": f"pw-{login}", **fields})


def test_each_connection_goes_to_its_own_host_only(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BUILD", conn("reg.example.com", "builder"))
    monkeypatch.setenv("AIRFLOW_CONN_MIRROR", conn("mirror.example.com", "reader"))
    clients = registries("build", {"mirror.example.com": "mirror"})
    assert set(clients._credentials) == {"reg.example.com", "mirror.example.com"}
    with pytest.raises(PlanError, match=r"\['other.example.com'\]='mirror': that connection is for host 'mirror.example.com'"):
        registries("build", {"other.example.com": "mirror"})


def test_no_default_connection_needs_none():
    assert registries("")._credentials == {}


def test_the_connection_typed(monkeypatch):
    extra = {"ca_file": "/etc/ssl/harbor.pem", "image_url_template": "https://harbor.example.com/{digest}", "other": 1}
    monkeypatch.setenv("AIRFLOW_CONN_HARBOR", conn("harbor.example.com", extra=extra))
    assert RegistryHook("harbor").get_conn() == RegistryConnection(
        conn_id="harbor",
        conn_type="docker",
        host="harbor.example.com",
        login="builder",
        password="pw-builder",
        ca_file="/etc/ssl/harbor.pem",
        image_url_template="https://harbor.example.com/{digest}",
    )
    assert "pw-builder" not in repr(RegistryHook("harbor").get_conn())
    assert (RegistryHook.conn_name_attr, RegistryHook.default_conn_name, RegistryHook.conn_type) == (
        "registry_conn_id",
        "kaniko_registry",
        "oci_registry",
    )


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("reg.example.com", 5000, "reg.example.com:5000"),  # the docker connection's own port field
        ("reg.example.com:5000", 5000, "reg.example.com:5000"),
        ("https://reg.example.com", None, "reg.example.com"),
        ("https://reg.example.com:5000/", None, "reg.example.com:5000"),
        ("https://reg.example.com/", 5000, "reg.example.com:5000"),
        ("[fd00::1]", 5000, "[fd00::1]:5000"),
        ("  10.244.77.1:5000/ ", None, "10.244.77.1:5000"),
        ("https://index.docker.io/v1/", None, "docker.io"),  # Docker Hub's config.json key, as people copy it
        ("index.docker.io", None, "docker.io"),
        ("", None, ""),
    ],
)
def test_host_is_host_and_port(monkeypatch, host, port, expected):
    monkeypatch.setenv("AIRFLOW_CONN_REG", conn(host, port=port))
    assert RegistryHook("reg").connection.host == expected


@pytest.mark.parametrize(
    ("host", "port", "reason"),
    [
        ("http://reg.example.com", None, "must be host[:port] or https://host[:port]"),
        ("ftp://reg.example.com", None, "must be host[:port] or https://host[:port]"),
        ("reg.example.com:5000", 5001, "and port 5001 disagree"),
        ("https://reg.example.com/v2/team", None, "is not a registry"),
        ("reg example", None, "is not a registry"),
    ],
)
def test_host_that_is_not_a_registry_is_refused(monkeypatch, host, port, reason):
    monkeypatch.setenv("AIRFLOW_CONN_REG", conn(host, port=port))
    with pytest.raises(KanikoSpecError) as info:
        RegistryHook("reg", field="pull_conn_id").get_conn()
    assert (info.value.field, info.value.value) == ("pull_conn_id", "reg")
    assert reason in info.value.reason


# Issue 17, item 6: Airflow masks a connection's password and extra, never its host.
@pytest.mark.parametrize(
    "host",
    [
        f"https://{USERINFO}reg.example.com",
        f"{USERINFO}reg.example.com:5000",
        "https://robot@reg.example.com",
        f"http://{USERINFO}r",
    ],
)
def test_host_with_userinfo_is_refused_without_echo(monkeypatch, host):
    monkeypatch.setenv("AIRFLOW_CONN_REG", conn(host))
    with pytest.raises(KanikoSpecError) as info:
        RegistryHook("reg").get_conn()
    assert (info.value.field, info.value.value) == ("registry_conn_id", "reg")
    assert "userinfo" in str(info.value)
    assert "robot" not in str(info.value) and "S3cret" not in str(info.value)


def test_userinfo_refused_for_the_planner_too(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BUILD", conn("reg.example.com"))
    monkeypatch.setenv("AIRFLOW_CONN_MIRROR", conn(f"https://{USERINFO}mirror.example.com"))
    with pytest.raises(KanikoSpecError) as info:
        registries("build", {"mirror.example.com": "mirror"})
    assert str(info.value).startswith("base_registry_connections['mirror.example.com']='mirror': ")
    assert "robot" not in str(info.value) and "S3cret" not in str(info.value)


@pytest.mark.parametrize("conn_type", ["oci_registry", "docker"])  # ours, and the connections made before it
def test_login_for_a_build(monkeypatch, conn_type):
    monkeypatch.setenv("AIRFLOW_CONN_REG", conn("https://reg.example.com", port=5000, conn_type=conn_type))
    assert RegistryHook("reg").login() == RegistryLogin("reg.example.com:5000", "builder", "pw-builder")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"conn_type": "http"}, "has conn type 'http'; it must be 'oci_registry' or 'docker'"),
        ({"host": ""}, "has no host"),
        ({"login": None, "password": None}, "has no login or password"),
    ],
)
def test_login_needs_everything(monkeypatch, fields, reason):
    monkeypatch.setenv("AIRFLOW_CONN_REG", json.dumps({**json.loads(conn("reg.example.com")), **fields}))
    with pytest.raises(KanikoSpecError) as info:
        RegistryHook("reg", field="pull_conn_id").login()
    assert (info.value.field, info.value.value, info.value.reason) == ("pull_conn_id", "reg", reason)


def test_port_in_its_own_field_reaches_the_docker_config_and_the_registry_clients(monkeypatch):
    """Before, the build's config.json said 'reg.example.com' and the planner's clients were keyed by it,
    so neither matched an image on reg.example.com:5000."""
    monkeypatch.setenv("AIRFLOW_CONN_REG", conn("reg.example.com", port=5000, extra={"ca_file": "/ca.pem"}))
    op = KanikoBuildOperator(
        task_id="build",
        namespace="kaniko-builds",
        context=HELLO,
        context_roots=[HELLO],
        destinations=["reg.example.com:5000/demo/hello:1"],
        registry_conn_id="reg",
    )
    config = json.loads(op._load_credentials()["config.json"])
    assert list(config["auths"]) == ["reg.example.com:5000"]
    clients = registries("reg")
    assert (clients._credentials.keys(), clients._ca_files) == ({"reg.example.com:5000"}, {"reg.example.com:5000": "/ca.pem"})
    assert clients.for_host("reg.example.com:5000")._credentials.username == "builder"


def test_userinfo_host_never_reaches_a_build(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_REG", conn(f"https://{USERINFO}reg.example.com"))
    op = KanikoBuildOperator(
        task_id="build", namespace="kaniko-builds", context=HELLO, context_roots=[HELLO],
        destinations=["reg.example.com/demo/hello:1"], registry_conn_id="reg",
    )  # fmt: skip
    with pytest.raises(KanikoSpecError) as info:
        op._load_credentials()
    assert "S3cret" not in str(info.value) and "robot" not in str(info.value)
