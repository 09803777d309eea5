"""Deferrable mode, a wrong password, several builds in one pod, and a worker killed mid-build."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from airflow_runs import latest_run
from registry import manifest_digest

from tests.e2e.kube import leftovers, run_image, wait_for

SCENARIOS = Path(__file__).parent / "dags"


def scenario(runner, dag_id, tmp_path):
    runner.dags_folder = SCENARIOS
    try:
        result = runner.dags_test(dag_id, log=tmp_path / f"{dag_id}.log", progress=False)
    finally:
        runner.dags_folder = Path(runner.dags_folder).parents[2] / "dags"
    return result, latest_run(dag_id)


def test_deferrable_mode_completes_a_build(runner, cluster, tmp_path):
    result, run = scenario(runner, "e2e_deferrable", tmp_path)
    assert run["state"] == "success", result.text()[-3000:]
    value = run["xcom"][("build", -1)]
    reference, digest = value["images"][0].split("@")
    assert manifest_digest(cluster.registry, reference, cluster.credentials(), cluster.registry_ca) == digest
    text = result.text()
    assert "Pausing task as DEFERRED" in text and "KanikoPodTrigger" in text
    # The trigger itself saw the pod finish: no error events, no re-deferral.
    assert "Unexpected error while waiting for pod" not in text and "Re-deferring" not in text


def test_wrong_password_fails_fast_with_an_authentication_error(runner, tmp_path, core, cluster):
    started = time.monotonic()
    result, run = scenario(runner, "e2e_wrong_password", tmp_path)
    assert run["state"] == "failed"
    assert time.monotonic() - started < 120
    text = result.text()
    assert "Kaniko build of" in text and "UNAUTHORIZED" in text, text[-3000:]
    assert leftovers(core, cluster.namespace) == []


def test_two_dockerfiles_in_one_pod(runner, cluster, core, tmp_path):
    result, run = scenario(runner, "e2e_multi_build", tmp_path)
    assert run["state"] == "success", result.text()[-3000:]
    first, second = run["xcom"][("builds", -1)]
    assert (first["name"], first["status"], second["name"], second["status"]) == ("first", "succeeded", "second", "succeeded")
    auth = cluster.credentials()
    for build in (first, second):
        for image in build["images"]:
            reference, digest = image.split("@")
            assert manifest_digest(cluster.registry, reference, auth, cluster.registry_ca) == digest
    assert len(second["images"]) == 2
    # --cleanup between the runs: nothing of the first build's filesystem leaked into the second image.
    assert run_image(core, cluster.namespace, second["images"][0]).split() == ["clean", "second"]
    assert "kaniko-multi-build: [1] second: pushed" in result.text()


def test_killed_worker_leaves_no_secret_behind(runner, cluster, core, tmp_path):
    """SIGKILL the task mid-build: on_kill never runs, so the pod's ownerReference must clean up."""
    runner.dags_folder = SCENARIOS
    log = open(tmp_path / "slow.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow", "dags", "test", "e2e_slow"],
        env=runner.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    runner.dags_folder = Path(__file__).resolve().parents[2] / "dags"
    try:
        selector = "airflow-kaniko/image!=none,app.kubernetes.io/managed-by=airflow-kaniko,dag_id=e2e_slow"
        pod = wait_for(
            lambda: next(
                (
                    p
                    for p in core.list_namespaced_pod(cluster.namespace, label_selector=selector).items
                    if p.status.phase == "Running"
                ),
                None,
            ),
            120,
            "the slow build to run",
        )
        secret = f"{pod.metadata.name}-credentials"
        owners = core.read_namespaced_secret(secret, cluster.namespace).metadata.owner_references
        assert [(o.kind, o.name, o.uid) for o in owners] == [("Pod", pod.metadata.name, pod.metadata.uid)]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    # The worker is gone; whoever removes the pod (a person, activeDeadlineSeconds) also removes its Secret.
    core.delete_namespaced_pod(pod.metadata.name, cluster.namespace, grace_period_seconds=0)
    wait_for(
        lambda: leftovers(core, cluster.namespace) == [], 60, "the garbage collector to delete the build's Secret and ConfigMap"
    )
