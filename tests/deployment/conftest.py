"""The deployment tier: the example DAG and tests/deployment/dags under a real Airflow deployment.

`make test-deployment` starts dev/deploy (which starts dev/localkube) and exports its env.sh; run by
hand, `source "$(VENV=... dev/deploy/up)"` first. A running deployment is reused between runs.
"""

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT
from tests.e2e.kube import wait_for  # noqa: F401  (the tier's tests import it from here)
from tests.tiers import PodPoller, skip_unless_set

sys.path.insert(0, str(ROOT / "dev"))
from airflow_api import AirflowAPI  # noqa: E402

REQUIRED = ("AIRFLOW_DEPLOY_URL", "AIRFLOW_DEPLOY_PASSWORDS", "AIRFLOW_DEPLOY_RUN", "KUBECONFIG", "LOCALKUBE_REGISTRY")
EXAMPLE = "kaniko_image_maintenance"
CONSUMER = "kaniko_image_consumer"
TIER_DAGS = ("deploy_throttle", "deploy_killed_worker", "deploy_deferrable", "deploy_triggerer_restart", "deploy_leak")


def pytest_collection_modifyitems(config, items):
    # The report test's run is triggered at the start (see report_run) and checked late; the hygiene
    # checks come last, so they see every run's logs.
    last = {"test_report.py": 1, "test_hygiene.py": 2}
    items.sort(key=lambda item: last.get(Path(str(item.fspath)).name, 0))
    skip_unless_set(items, REQUIRED, "KANIKO_DEPLOYMENT", "deployment tier", "is dev/deploy up? (source its env.sh)")


@pytest.fixture(scope="session")
def api():
    """Logged in as admin; every DAG of the tier parsed and unpaused, as a user would in the UI."""
    api = AirflowAPI.from_env()
    for dag_id in (EXAMPLE, *TIER_DAGS):
        api.wait_for_dag(dag_id)
        # Unpausing the example DAG lets the scheduler run its latest missed Monday at once
        # (catchup=False); test_schedule checks that run.
        api.unpause(dag_id)
    return api


@pytest.fixture(scope="session", autouse=True)
def report_run(request, api, cluster):
    """The example DAG on a manifest with a broken image, triggered as the session starts when test_report runs.

    The whole run takes a while (the DAG may retry a failed build with backoff), so the other tests run meanwhile.
    """
    if not any(Path(str(item.fspath)).name == "test_report.py" for item in request.session.items):
        return None
    # Inside the deployment's copy of the example DAG's folder (dev/deploy/up puts it there).
    manifest = Path(os.environ["AIRFLOW_HOME"], "dags", "example", "deployment-tier", "manifest-with-broken.yaml")
    # force: hello may be unchanged since an earlier run of the tier; it must build here.
    return api.trigger(EXAMPLE, {"manifest": str(manifest), "force": True})["dag_run_id"]


@dataclass(frozen=True)
class Rebuild:
    run_id: str
    consumed_before: frozenset[str]  # the consumer DAG's runs before it was triggered


@pytest.fixture(scope="session")
def hello_rebuild(api) -> Rebuild:
    """A forced rebuild of hello by the example DAG, run to success: its Asset event (test_assets), its pages in
    the UI (test_ui_browser). The consumer DAG is unpaused first, as a user would, so the event starts it."""
    api.wait_for_dag(CONSUMER)
    api.unpause(CONSUMER)  # dags_are_paused_at_creation
    consumed_before = frozenset(r["dag_run_id"] for r in api.runs(CONSUMER))
    run_id = api.trigger(EXAMPLE, {"images": ["hello"], "force": True})["dag_run_id"]
    assert api.wait(EXAMPLE, run_id, timeout=600)["state"] == "success", api.task_instances(EXAMPLE, run_id)
    return Rebuild(run_id, consumed_before)


DAEMONS = ("postgres", "api-server", "scheduler", "dag-processor", "triggerer")


def daemon(name: str) -> psutil.Process:
    """A deployment service, from the PID and start time (clock ticks since boot) dev/deploy/up recorded."""
    pid, start = Path(os.environ["AIRFLOW_DEPLOY_RUN"], f"{name}.pid").read_text().split()
    stat = Path(f"/proc/{pid}/stat").read_text()
    assert stat.rsplit(")", 1)[1].split()[19] == start, f"{name}: pid {pid} is no longer the process up started"
    return psutil.Process(int(pid))


def task_process(ti_id: str) -> psutil.Process:
    """The process running a task instance: the supervisor's child titled `airflow worker -- <ti id>`, under the scheduler."""
    found = []
    for process in daemon("scheduler").children(recursive=True):
        try:
            if " ".join(process.cmdline()).strip() == f"airflow worker -- {ti_id}":
                found.append(process)
        except psutil.Error:  # a worker that just exited
            continue
    assert len(found) == 1, f"expected one task process for {ti_id}, found {found}"
    return found[0]


class BuildPodSampler(PodPoller):
    """Samples the build pods of one DAG from the API server every 0.3 s: which exist, and whose Kaniko container runs."""

    def __init__(self, core, namespace: str, dag_id: str):
        super().__init__(core, namespace)
        self.samples: list[tuple[float, set[str]]] = []
        self.seen: dict[str, dict] = {}
        self._selector = f"dag_id={dag_id},app.kubernetes.io/managed-by=airflow-kaniko"

    def poll(self):
        pods = self._core.list_namespaced_pod(self._namespace, label_selector=self._selector).items
        running = set()
        for pod in pods:
            self.seen[pod.metadata.name] = {"labels": pod.metadata.labels, "phase": pod.status.phase}
            states = [s.state for s in pod.status.container_statuses or [] if s.name == "kaniko"]
            if states and states[0].running:
                running.add(pod.metadata.name)
        self.samples.append((time.monotonic(), running))

    @property
    def max_running(self) -> int:
        return max((len(r) for _, r in self.samples), default=0)
