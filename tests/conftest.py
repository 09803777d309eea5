"""Test-wide Airflow settings; they must be in the environment before airflow is imported."""

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-kaniko-tests-"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")

pytest_plugins = ["tests.tiers"]  # the cluster tiers' shared fixtures
