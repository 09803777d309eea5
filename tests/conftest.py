"""Test-wide Airflow settings; they must be in the environment before airflow is imported."""

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-kaniko-tests-"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")

pytest_plugins = ["tests.tiers"]  # the cluster tiers' shared fixtures

PASSWORD = "Sup3r-S3cret-pw"
REGISTRY_CONN = f'{{"conn_type": "docker", "host": "10.244.77.1:5000", "login": "builder", "password": "{PASSWORD}"}}'


@pytest.fixture
def registry_conn(monkeypatch):
    """The kaniko_registry connection, for the unit and integration tiers."""
    monkeypatch.setenv("AIRFLOW_CONN_KANIKO_REGISTRY", REGISTRY_CONN)
    return "kaniko_registry"


@pytest.fixture(scope="module")
def dagbag():
    """The example DAGs folder, parsed (no metadata DB needed)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(ROOT / "dags"))
