import subprocess
import sys

import pytest

REGISTRY_CONN = '{"conn_type": "docker", "host": "10.244.77.1:5000", "login": "builder", "password": "Sup3r-S3cret-pw"}'
PASSWORD = "Sup3r-S3cret-pw"


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated SQLite metadata DB in the test AIRFLOW_HOME, for dag.test()."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


@pytest.fixture
def registry_conn(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_KANIKO_REGISTRY", REGISTRY_CONN)
    return "kaniko_registry"
