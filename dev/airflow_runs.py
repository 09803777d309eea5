"""Run a DAG with `airflow dags test` against a real cluster, then read back what it did.

Shared by dev/demo.py and the end-to-end tests. The registry password reaches Airflow
only through the environment of the `airflow` process, as an AIRFLOW_CONN_* connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_CONN_ID = "kaniko_registry"


@dataclass
class Cluster:
    """Where builds run and push: read from dev/localkube's env.sh variables."""

    kubeconfig: str
    namespace: str
    registry: str
    registry_ca: str | None
    credentials_file: str
    #: What the Airflow worker uses: a token bound to deploy/worker-rbac.yaml's Role only.
    worker_kubeconfig: str | None = None

    @classmethod
    def from_env(cls) -> Cluster:
        namespace = os.environ.get("LOCALKUBE_NAMESPACE", "kaniko-builds")
        return cls(
            kubeconfig=os.environ["KUBECONFIG"],
            worker_kubeconfig=_worker_kubeconfig(namespace),
            namespace=namespace,
            registry=os.environ["LOCALKUBE_REGISTRY"],
            registry_ca=os.environ.get("LOCALKUBE_REGISTRY_CA"),
            credentials_file=os.environ["LOCALKUBE_REGISTRY_CREDENTIALS"],
        )

    def credentials(self) -> tuple[str, str]:
        data = json.loads(Path(self.credentials_file).read_text())
        return data["username"], data["password"]


def _worker_kubeconfig(namespace: str) -> str | None:
    """The token kubeconfig dev/localkube/namespace wrote for this namespace's worker Role, if any."""
    known = os.environ.get("LOCALKUBE_WORKER_KUBECONFIG")
    if not known:
        return None
    path = Path(known).with_name(f"worker-{namespace}.kubeconfig")
    return str(path) if path.is_file() else None


@dataclass
class AirflowRunner:
    """An AIRFLOW_HOME with a SQLite DB, and the connections a Kaniko DAG needs."""

    home: Path
    cluster: Cluster
    dags_folder: Path = ROOT / "dags"
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, password: str | None = None) -> dict[str, str]:
        user, real_password = self.cluster.credentials()
        registry = {"conn_type": "docker", "host": self.cluster.registry, "login": user, "password": password or real_password}
        if self.cluster.registry_ca:  # for prepare's registry requests from the worker (the pods mount a ConfigMap)
            registry["extra"] = {"ca_file": self.cluster.registry_ca}
        # No kube_config_path: the hook reads $KUBECONFIG, and deferrable mode passes that file's
        # contents to the trigger, which refuses a connection that also names a path.
        kube = {"conn_type": "kubernetes", "extra": {"namespace": self.cluster.namespace}}
        return {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "KUBECONFIG": self.cluster.worker_kubeconfig or self.cluster.kubeconfig,
            f"AIRFLOW_CONN_{REGISTRY_CONN_ID.upper()}": json.dumps(registry),
            "AIRFLOW_CONN_KUBERNETES_DEFAULT": json.dumps(kube),
            # The venv is shared between checkouts; the airflow process imports this checkout's package.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **self.extra_env,
        }

    def airflow(
        self, *args: str, log: Path | None = None, timeout: float = 900, password: str | None = None
    ) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "airflow", *args]
        if log is None:
            return subprocess.run(cmd, env=self.env(password), capture_output=True, text=True, timeout=timeout)
        with open(log, "w") as out:
            return subprocess.run(cmd, env=self.env(password), stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout)

    def migrate(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        proc = self.airflow("db", "migrate")
        if proc.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    def dags_test(
        self, dag_id: str, conf: dict | None = None, *, log: Path, timeout: float = 900, progress: bool = True
    ) -> DagRunResult:
        """Run the DAG once, with its full output in ``log`` and a line per task step on stdout."""
        started = time.monotonic()
        cmd = [sys.executable, "-m", "airflow", "dags", "test", dag_id, "-c", json.dumps(conf or {})]
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                if progress and any(marker in line for marker in _PROGRESS_MARKERS):
                    print(f"  [{time.monotonic() - started:5.0f}s] {_shorten(line)}", flush=True)
            returncode = proc.wait(timeout=timeout)
        return DagRunResult(dag_id=dag_id, returncode=returncode, seconds=time.monotonic() - started, log=log)


@dataclass
class DagRunResult:
    dag_id: str
    returncode: int
    seconds: float
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


_PROGRESS_MARKERS = (
    "[DAG TEST] starting task",
    "[DAG TEST] end task",
    "image(s) to build",
    "Kaniko build of",
    "Created Secret",
    "Deleted Secret",
)


def _shorten(line: str) -> str:
    text = line.strip()
    for cut in (" [airflow", " loc="):
        text = text.split(cut, 1)[0]
    return text.split("] ", 1)[-1][:160] if text.startswith("20") else text[:160]


def latest_run(dag_id: str) -> dict:
    """Task states, XComs and Asset events of the DAG's latest run, read with Airflow's own models.

    The calling process must have AIRFLOW_HOME set to the runner's home before importing airflow.
    """
    from sqlalchemy import select

    from airflow.models import DagRun, TaskInstance
    from airflow.models.asset import AssetEvent
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id).all()
        xcoms = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value")
            .all()
        )
        events = session.scalars(select(AssetEvent).where(AssetEvent.source_run_id == run.run_id).order_by(AssetEvent.id))
        return {
            "run_id": run.run_id,
            "state": str(run.state),
            "tasks": {
                (ti.task_id, ti.map_index): {"state": str(ti.state), "label": ti.rendered_map_index, "try_number": ti.try_number}
                for ti in tis
            },
            "xcom": {(x.task_id, x.map_index): _value(x.value) for x in xcoms},
            "asset_events": [{"task": e.source_task_id, "uri": e.asset.uri, "extra": e.extra} for e in events],
        }


def _value(raw):
    return json.loads(raw) if isinstance(raw, (str, bytes)) else raw
