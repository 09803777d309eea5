import json

import pytest

from airflow_kaniko.maintenance.planner import PlanError
from airflow_kaniko.tasks.maintenance import registries


def conn(host: str, login: str) -> str:
    return json.dumps({"conn_type": "docker", "host": host, "login": login, "password": f"pw-{login}"})


def test_each_connection_goes_to_its_own_host_only(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BUILD", conn("reg.example.com", "builder"))
    monkeypatch.setenv("AIRFLOW_CONN_MIRROR", conn("mirror.example.com", "reader"))
    clients = registries("build", {"mirror.example.com": "mirror"})
    assert set(clients._credentials) == {"reg.example.com", "mirror.example.com"}
    with pytest.raises(PlanError, match=r"\['other.example.com'\]='mirror': that connection is for host 'mirror.example.com'"):
        registries("build", {"other.example.com": "mirror"})


def test_no_default_connection_needs_none():
    assert registries("")._credentials == {}
