import json

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.hooks.git import GitHook, GitLogin


def test_login_of_any_conn_type(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_GIT", json.dumps({"conn_type": "generic", "login": "bot", "password": "tok"}))
    assert GitHook("git").login() == GitLogin("", "bot", "tok")


@pytest.mark.parametrize(("fields", "reason"), [({"login": "bot"}, "has no password"), ({}, "has no login or password")])
def test_login_needs_both(monkeypatch, fields, reason):
    monkeypatch.setenv("AIRFLOW_CONN_GIT", json.dumps({"conn_type": "generic", **fields}))
    with pytest.raises(KanikoSpecError) as info:
        GitHook("git", field="git_conn_id").login()
    assert (info.value.field, info.value.value, info.value.reason) == ("git_conn_id", "git", reason)
