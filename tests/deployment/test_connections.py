"""The registry connection in the deployment: tested as an operator team tests one, and its form as the UI reads it.

dev/deploy/up imports ``kaniko_registry`` (conn type oci_registry, the local registry with TLS from its own
CA and htpasswd auth) and enables ``[core] test_connection``.
"""

import json
import os
import subprocess
import sys

import pytest

import airflow_kaniko

CONN_ID = "kaniko_registry"


def airflow_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The deployment's `airflow` (its AIRFLOW_HOME, airflow.cfg and database, from env.sh)."""
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_connection_test_passes_against_the_local_registry(api):
    proc = airflow_cli("connections", "test", CONN_ID)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Connection success!" in proc.stdout and "Connection failed!" not in proc.stdout


def test_cli_connection_test_fails_clearly_with_a_wrong_password(api, cluster):
    user, password = cluster.credentials()
    wrong_password = "not-the-registry-password"
    wrong = {"conn_type": "oci_registry", "host": cluster.registry, "login": user, "password": wrong_password}
    if cluster.registry_ca:
        wrong["extra"] = {"ca_file": cluster.registry_ca}
    proc = airflow_cli(
        "connections", "test", "kaniko_registry_wrong", env={"AIRFLOW_CONN_KANIKO_REGISTRY_WRONG": json.dumps(wrong)}
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Connection failed!" in proc.stdout
    # The hook's message: which registry refused which login, and how; never a password.
    assert f"registry {cluster.registry}: /v2/: unauthorised (HTTP 401) as '{user}'" in proc.stdout
    assert wrong_password not in output and password not in output


@pytest.mark.parametrize("correct", [True, False], ids=["right-password", "wrong-password"])
def test_the_ui_test_button_reports_the_hooks_message(api, cluster, correct):
    """POST /api/v2/connections/test, what the connection form's Test button sends: the api-server runs the hook."""
    user, password = cluster.credentials()
    body = {
        "connection_id": "kaniko_registry_form",
        "conn_type": "oci_registry",
        "host": cluster.registry,
        "login": user,
        "password": password if correct else "not-the-registry-password",
        "extra": json.dumps({"ca_file": cluster.registry_ca} if cluster.registry_ca else {}),
    }
    answer = api.request("POST", "/connections/test", json=body).json()
    if correct:
        assert answer == {"status": True, "message": f"Connection successful: {cluster.registry} answered GET /v2/ as '{user}'"}
    else:
        assert answer == {"status": False, "message": f"registry {cluster.registry}: /v2/: unauthorised (HTTP 401) as '{user}'"}


def test_the_connection_form_the_api_serves_has_the_registry_fields(api):
    """GET /ui/connections/hook_meta: what the UI's connection form is built from (the api-server's providers manager)."""
    response = api.session.get(f"{api.url}/ui/connections/hook_meta", timeout=30)
    assert response.status_code == 200, response.text[:500]
    (served,) = [meta for meta in response.json() if meta["connection_type"] == "oci_registry"]
    declared = next(c for c in airflow_kaniko.get_provider_info()["connection-types"] if c["connection-type"] == "oci_registry")
    behaviour = declared["ui-field-behaviour"]
    assert (served["hook_class_name"], served["hook_name"]) == (
        "airflow_kaniko.hooks.registry.RegistryHook",
        "OCI registry (Kaniko)",
    )

    # The standard fields: schema and extra hidden (the extra is edited through the fields below), the rest
    # relabelled and with the placeholders declared.
    fields = served["standard_fields"]
    assert fields["url_schema"]["hidden"] is True
    assert {name: fields[name]["title"] for name in ("host", "login", "password")} == {
        "host": "Registry host",
        "login": "Username",
        "password": "Password or token",
    }
    assert {name: fields[name]["placeholder"] for name in ("host", "port", "login", "password")} == {
        name: behaviour["placeholders"][name] for name in ("host", "port", "login", "password")
    }
    assert not any(fields[name]["hidden"] for name in ("host", "port", "login", "password"))

    # The extra fields, each with its label (as the JSON schema's title) and description.
    extra = served["extra_fields"]
    assert set(extra) == {"ca_file", "image_url_template"}
    assert extra["ca_file"]["schema"]["title"] == "CA bundle path"
    assert extra["image_url_template"]["schema"]["title"] == "Image URL template"
    for name, field in declared["conn-fields"].items():
        # Airflow 3.3's hook_meta carries a ui-field-behaviour placeholder for the standard fields only: an extra
        # field's is declared (for Airflow's older form) but not served, and the form shows none.
        assert extra[name] == {
            "value": None,
            "schema": {**field["schema"], "title": field["label"]},
            "description": field["description"],
            "source": None,
        }
        assert field["description"] and name in behaviour["placeholders"]
