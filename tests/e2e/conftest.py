"""The end-to-end tier: a real kube-apiserver and kubelet, the real Kaniko executor, a registry with auth.

`make test-e2e` starts dev/localkube and exports its env; run by hand, source its env.sh first.
"""

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.tiers import PodPoller, skip_unless_set

sys.path.insert(0, str(ROOT / "dev"))
from airflow_runs import AirflowRunner  # noqa: E402

REQUIRED = ("KUBECONFIG", "LOCALKUBE_REGISTRY", "LOCALKUBE_REGISTRY_CREDENTIALS")


def pytest_collection_modifyitems(config, items):
    skip_unless_set(items, REQUIRED, "KANIKO_E2E", "end-to-end tier", "is dev/localkube up? (source its env.sh)")


@pytest.fixture(scope="session")
def runner(cluster, tmp_path_factory):
    user, _ = cluster.credentials()
    wrong = json.dumps(
        {
            "conn_type": "docker",
            "host": cluster.registry,
            "login": user,
            "password": "not-the-password",
            "extra": {"ca_file": cluster.registry_ca},
        }
    )
    runner = AirflowRunner(
        home=Path(os.environ["AIRFLOW_HOME"]), cluster=cluster, extra_env={"AIRFLOW_CONN_KANIKO_REGISTRY_WRONG": wrong}
    )
    runner.migrate()
    return runner


class PodRecorder(PodPoller):
    """Records every pod the API server admits in the namespace, exactly as it serves them (raw JSON)."""

    def __init__(self, core, namespace):
        super().__init__(core, namespace)
        self.pods: dict[str, dict] = {}

    def poll(self):
        # Raw JSON: what the API server stored, with no model round-trip.
        response = self._core.list_namespaced_pod(self._namespace, _preload_content=False)
        for pod in json.loads(response.data)["items"]:
            self.pods[pod["metadata"]["name"]] = pod
