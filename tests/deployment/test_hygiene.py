"""What the deployment exposes: nothing listens beyond loopback, and no password reaches a log."""

import base64
import json
import os
from pathlib import Path

import psutil

from tests.deployment.conftest import DAEMONS, daemon


def deployment_processes() -> list[psutil.Process]:
    """Every process of the sessions dev/deploy/up started: services, workers, task and trigger runners."""
    sessions = {daemon(name).pid for name in DAEMONS}
    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) in sessions:
                found.append(process)
        except OSError:
            pass
    return found


def test_nothing_listens_beyond_loopback(api):
    processes = deployment_processes()
    assert len(processes) >= len(DAEMONS)
    pids = {p.pid for p in processes}
    listening = [c for c in psutil.net_connections(kind="inet") if c.pid in pids and c.status == psutil.CONN_LISTEN]
    # The API server on 127.0.0.1; PostgreSQL has no TCP socket at all; no log servers.
    assert [(c.laddr.ip, c.laddr.port) for c in listening] == [
        ("127.0.0.1", int(os.environ["AIRFLOW_DEPLOY_URL"].rsplit(":", 1)[1]))
    ]


def test_no_password_in_any_log(api, cluster):
    """After the tier's runs (conftest orders this file last): registry and API passwords in no task or service log."""
    user, password = cluster.credentials()
    secrets = {
        "registry password": password,
        "registry basic auth": base64.b64encode(f"{user}:{password}".encode()).decode(),
        **{
            f"API password of {name}": value
            for name, value in json.loads(Path(os.environ["AIRFLOW_DEPLOY_PASSWORDS"]).read_text()).items()
        },
    }
    logs = [*Path(os.environ["AIRFLOW_HOME"], "logs").rglob("*"), *Path(os.environ["AIRFLOW_DEPLOY_LOGS"]).glob("*")]
    files = [f for f in logs if f.is_file()]
    assert files
    for f in files:
        text = f.read_text(errors="replace")
        for what, value in secrets.items():
            assert value not in text, f"{what} in {f}"
