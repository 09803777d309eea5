"""What the two cluster tiers (tests/e2e, tests/deployment) share: their skip rule and cluster fixtures.

The root conftest loads this module as a plugin, so the fixtures exist in every tier that asks for them.
"""

import os
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def skip_unless_set(items, required: tuple[str, ...], strict_var: str, tier: str, hint: str) -> None:
    """Skip every test of the tier when its environment is missing, or fail the run when ``strict_var=required``.

    A cluster tier also reports deprecation warnings instead of failing on them (setup.cfg makes them errors):
    the kubernetes client and the registry clients run in its test process, and their warnings are not ours to fix.
    """
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("default::DeprecationWarning"))
        item.add_marker(pytest.mark.filterwarnings("default::PendingDeprecationWarning"))
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


class PodPoller:
    """Polls the API server every 0.3 s on a thread of its own while used as a context manager.

    Polling, not a watch: build pods live for seconds. Subclasses say what one poll records.
    """

    def __init__(self, core, namespace: str):
        self._core, self._namespace = core, namespace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def poll(self) -> None:
        raise NotImplementedError

    def _run(self):
        while not self._stop.wait(0.3):
            self.poll()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
