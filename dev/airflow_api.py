"""A small client for the local Airflow deployment's REST API (dev/deploy), as a user would drive it.

Shared by `make demo` and the deployment tests. It logs in as ``admin`` with the password that
dev/deploy/up generated (read from its 0600 file, never printed).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import requests

FINISHED = {"success", "failed"}


@dataclass
class AirflowAPI:
    url: str
    session: requests.Session

    @classmethod
    def login(cls, url: str, username: str, password: str) -> AirflowAPI:
        response = requests.post(f"{url}/auth/token", json={"username": username, "password": password}, timeout=30)
        response.raise_for_status()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return cls(url=url, session=session)

    @classmethod
    def from_env(cls, username: str = "admin") -> AirflowAPI:
        """Log in with the variables of dev/deploy's env.sh."""
        passwords = json.loads(Path(os.environ["AIRFLOW_DEPLOY_PASSWORDS"]).read_text())
        return cls.login(os.environ["AIRFLOW_DEPLOY_URL"], username, passwords[username])

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, f"{self.url}/api/v2{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response

    def get(self, path: str, **params) -> dict:
        return self.request("GET", path, params=params).json()

    # --- DAGs and runs ------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict:
        """The DAG once the dag-processor has parsed it."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.session.get(f"{self.url}/api/v2/dags/{dag_id}", timeout=30)
            if response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                errors = self.get("/importErrors")
                raise TimeoutError(f"DAG {dag_id} not parsed after {timeout}s; import errors: {errors}")
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", params={"update_mask": "is_paused"}, json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None, note: str | None = None) -> dict:
        body = {"logical_date": datetime.now(UTC).isoformat(), "conf": conf or {}}
        if note:
            body["note"] = note
        return self.request("POST", f"/dags/{dag_id}/dagRuns", json=body).json()

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances", limit=100)["task_instances"]

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict:
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
        return self.get(f"{path}/{map_index}" if map_index >= 0 else path)

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict]:
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
        return self.get(f"{path}/{map_index}/tries" if map_index >= 0 else f"{path}/tries")["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value"):
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.get(path, map_index=map_index, deserialize=True)["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> list[dict]:
        """One try's whole log as the UI reads it: structured lines, each with ``event`` (and ``level`` when it has one)."""
        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
        params = {"map_index": map_index, "full_content": True}
        return self.request("GET", path, params=params, headers={"Accept": "application/json"}).json()["content"]

    def runs(self, dag_id: str, **params) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="-run_after", **params)["dag_runs"]

    def asset_events(self, **filters) -> list[dict]:
        """Asset events, e.g. ``source_dag_id=..., source_run_id=...`` (GET /assets/events)."""
        return self.get("/assets/events", limit=100, **filters)["asset_events"]

    def triggering_asset_events(self, dag_id: str, run_id: str) -> list[dict]:
        """The asset events that triggered an asset-scheduled run."""
        return self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/upstreamAssetEvents")["asset_events"]

    def wait(self, dag_id: str, run_id: str, timeout: float = 600, progress: Callable[[str], None] | None = None) -> dict:
        """Poll until the run finishes; report each task state change through ``progress``."""
        started, seen = time.monotonic(), {}
        while True:
            run = self.run(dag_id, run_id)
            if progress:
                for ti in self.task_instances(dag_id, run_id):
                    label = ti["task_id"] + (
                        f"[{ti.get('rendered_map_index') or ti['map_index']}]" if ti["map_index"] >= 0 else ""
                    )
                    state = ti["state"] or "none"
                    if seen.get(label) != state:
                        seen[label] = state
                        progress(f"[{time.monotonic() - started:5.0f}s] {label}: {state}")
            if run["state"] in FINISHED:
                return run
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"DAG run {dag_id}/{run_id} still {run['state']} after {timeout}s")
            time.sleep(2)

    def ui_url(self, dag_id: str, run_id: str) -> str:
        return f"{self.url}/dags/{dag_id}/runs/{quote(run_id, safe='')}"
