"""The Image link reads its connection through the registry hook: host[:port], and userinfo never shown."""

import json
import logging
from types import SimpleNamespace

import pytest

from airflow.sdk.execution_time.xcom import XCom
from airflow_kaniko.links.image import KanikoImageLink

D = "sha256:" + "ab" * 32
TEMPLATE = "https://ui.example.com/{registry}/{repository}/{digest}"


def link(monkeypatch, conn: dict, image: str) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_REG", json.dumps({"conn_type": "docker", "login": "robot", "password": "pw", **conn}))
    monkeypatch.setattr(XCom, "get_value", lambda **kwargs: {"digest": D, "images": [image], "destinations": [image]})
    operator = SimpleNamespace(registry_conn_id="reg", log=logging.getLogger("link"))
    return KanikoImageLink().get_link(operator, ti_key=None)


def test_template_applies_to_the_connections_host_and_port(monkeypatch):
    conn = {"host": "https://reg.example.com", "port": 5000, "extra": {"image_url_template": TEMPLATE}}
    url = link(monkeypatch, conn, f"reg.example.com:5000/team/app@{D}")
    assert url == f"https://ui.example.com/reg.example.com:5000/team/app/{D}"
    assert link(monkeypatch, conn, f"reg.example.com/team/app@{D}") == ""  # another registry: no template


@pytest.mark.parametrize(
    "conn",
    [
        {"host": "https://robot:S3cret-pw@reg.example.com", "extra": {"image_url_template": TEMPLATE}},
        {"host": "reg.example.com", "extra": {"image_url_template": "https://robot:S3cret-pw@ui.example.com/{digest}"}},
    ],
)
def test_userinfo_gives_no_link_and_is_not_logged(monkeypatch, caplog, conn):
    with caplog.at_level(logging.WARNING, logger="link"):
        assert link(monkeypatch, conn, f"reg.example.com/team/app@{D}") == ""
    assert "No Image link: connection 'reg'" in caplog.text and "userinfo" in caplog.text
    assert "S3cret" not in caplog.text and "robot:" not in caplog.text


def test_the_index_operators_link_opens_the_index_not_a_platform_image(monkeypatch):
    """The index task's own operator and XCom (``IndexResult.to_xcom()``): the link names the index digest."""
    from airflow_kaniko.operators.image_index import KanikoImageIndexOperator

    index, amd = "sha256:" + "1d" * 32, "sha256:" + "a4" * 32
    images = [f"reg.example.com:5000/team/app:1@{index}", f"reg.example.com:5000/team/app:latest@{index}"]
    value = {
        "digest": index,
        "images": images,
        "platforms": {"linux/amd64": amd},
        "destinations": [i.split("@")[0] for i in images],
    }
    conn = {"host": "reg.example.com", "port": 5000, "extra": {"image_url_template": TEMPLATE}}
    monkeypatch.setenv("AIRFLOW_CONN_REG", json.dumps({"conn_type": "docker", "login": "robot", "password": "pw", **conn}))
    monkeypatch.setattr(XCom, "get_value", lambda **kwargs: value)
    operator = KanikoImageIndexOperator(
        task_id="index", destinations=value["destinations"], platforms=["linux/amd64"], builds=[], registry_conn_id="reg"
    )
    (image_link,) = operator.operator_extra_links
    assert isinstance(image_link, KanikoImageLink)
    assert image_link.get_link(operator, ti_key=None) == f"https://ui.example.com/reg.example.com:5000/team/app/{index}"
