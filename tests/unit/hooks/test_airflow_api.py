import json

import pytest

from airflow_kaniko.hooks.airflow_api import AirflowApiHook, ApiLogin, set_dag_run_note


def api_conn(host: str, **fields: object) -> str:
    return json.dumps({"conn_type": "http", "host": host, "login": "admin", "password": "pw-api", **fields})


def test_base_url_from_schema_host_and_port(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("api-server", port=8080))
    assert AirflowApiHook().login() == ApiLogin("http://api-server:8080", "admin", "pw-api")
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("airflow.example.com", schema="https"))
    assert AirflowApiHook().login().base_url == "https://airflow.example.com"


def test_no_connection_sets_no_note(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_API", raising=False)
    assert set_dag_run_note("dag", "run", "note", conn_id="no_such_api") is False


def test_incomplete_connection_is_refused(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", json.dumps({"conn_type": "http", "host": "api-server", "login": "admin"}))
    with pytest.raises(ValueError, match="needs a host, a login and a password"):
        AirflowApiHook().login()


def test_userinfo_in_the_host_is_refused_without_echo(monkeypatch):
    """The base URL is logged; a login in the host would be logged with it."""
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", api_conn("robot:pw-in-host@api-server"))
    with pytest.raises(ValueError, match="userinfo") as info:
        AirflowApiHook().login()
    assert "pw-in-host" not in str(info.value) and "robot" not in str(info.value)
