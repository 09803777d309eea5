"""Credentials a build prints reach no log of a real deployment: task logs, scheduler, triggerer, the rest."""

import base64
import os
from pathlib import Path

from tests.e2e.kube import leftovers


def test_credentials_printed_by_a_build_reach_no_log_of_any_process(api, core, cluster):
    dag_id = "deploy_leak"
    run_id = api.trigger(dag_id)["dag_run_id"]
    final = api.wait(dag_id, run_id, timeout=420)
    assert final["state"] == "failed"  # the retried task fails twice, on purpose
    states = {t: api.task_instance(dag_id, run_id, t) for t in ("sync", "deferred", "retried")}
    assert states["sync"]["state"] == "success" and states["deferred"]["state"] == "success"
    assert (states["retried"]["state"], states["retried"]["try_number"]) == ("failed", 2)

    user, password = cluster.credentials()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    task_logs = [
        p
        for p in Path(os.environ["AIRFLOW_HOME"], "logs", f"dag_id={dag_id}").rglob("*")
        if p.is_file() and f"run_id={run_id}" in str(p)
    ]
    service_logs = [p for p in Path(os.environ["AIRFLOW_DEPLOY_LOGS"]).glob("*.log")]
    assert len(task_logs) >= 4 and service_logs  # sync, deferred (one file, resumed), retried try 1 and 2
    for path in task_logs + service_logs:
        text = path.read_text(errors="replace")
        assert password not in text and auth not in text, path
    # Not vacuous: each of the four builds printed the file, and each print was redacted where it was logged.
    redacted = sum(p.read_text(errors="replace").count("[kaniko] ***") for p in task_logs)
    assert redacted >= 4, [p.name for p in task_logs]
    assert leftovers(core, cluster.namespace) == []
