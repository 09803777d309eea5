"""The integration tier: no cluster, but a migrated metadata DB and real `dag.test()` runs."""

import subprocess
import sys

import pytest


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated SQLite metadata DB in the test AIRFLOW_HOME, for dag.test()."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
