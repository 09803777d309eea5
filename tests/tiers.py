"""What the two cluster tiers (tests/e2e, tests/deployment) share: their skip rule and cluster fixtures.

The root conftest loads this module as a plugin, so the fixtures exist in every tier that asks for them.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def skip_unless_set(items, required: tuple[str, ...], strict_var: str, tier: str, hint: str) -> None:
    """Skip every test of the tier when its environment is missing, or fail the run when ``strict_var=required``."""
    missing = [v for v in required if not os.environ.get(v)]
    if not missing:
        return
    if os.environ.get(strict_var) == "required":
        raise pytest.UsageError(f"{tier}: {', '.join(missing)} not set; {hint}")
    for item in items:
        item.add_marker(pytest.mark.skip(reason=f"{tier}: {', '.join(missing)} not set; {hint}"))


@pytest.fixture(scope="session")
def cluster():
    sys.path.insert(0, str(ROOT / "dev"))
    from airflow_runs import Cluster

    return Cluster.from_env()


@pytest.fixture(scope="session")
def core(cluster):
    from kubernetes import client, config

    config.load_kube_config(cluster.kubeconfig)
    return client.CoreV1Api()
