"""Deferrable builds under the real triggerer, including a triggerer SIGKILLed and started again."""

import os
import re
import signal
import subprocess
import sys

import psutil
from registry import manifest_digest

from tests.conftest import ROOT
from tests.deployment.conftest import BuildPodSampler, daemon, wait_for
from tests.e2e.kube import leftovers


def deferred_while_building(api, pods, dag_id, run_id):
    def check():
        ti = api.task_instance(dag_id, run_id, "build")
        return ti["state"] == "deferred" and pods.samples and pods.samples[-1][1] and ti

    return wait_for(check, 180, "the build to run while its task is deferred")


def task_processes(ti_id):
    return [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == [f"airflow worker -- {ti_id}"]]


def assert_pushed(api, cluster, dag_id, run_id):
    value = api.xcom(dag_id, run_id, "build")
    (image,) = value["images"]
    reference, digest = image.split("@")
    assert manifest_digest(cluster.registry, reference, cluster.credentials(), cluster.registry_ca) == digest == value["digest"]


def test_deferred_build_frees_the_worker_and_completes(api, core, cluster):
    dag_id = "deploy_deferrable"
    with BuildPodSampler(core, cluster.namespace, dag_id) as pods:
        run_id = api.trigger(dag_id)["dag_run_id"]
        ti = deferred_while_building(api, pods, dag_id, run_id)
        # While the pod builds, no process runs the task: the triggerer waits for the pod. The worker process
        # exits just after it reports the deferral, so the state can be "deferred" a moment before: wait, bounded.
        wait_for(lambda: task_processes(ti["id"]) == [], 30, "the deferred task's worker process to exit")
        assert pods.samples[-1][1], "the build finished before its worker process exited: nothing was freed while it ran"
        final = api.wait(dag_id, run_id, timeout=300)
    assert final["state"] == "success"
    assert len(pods.seen) == 1
    assert_pushed(api, cluster, dag_id, run_id)
    wait_for(lambda: leftovers(core, cluster.namespace) == [], 60, "no Secret or ConfigMap of ours left")
    # Progress while deferred, in the task's log as the UI shows it: the triggerer's status lines (the worker
    # holds the registry password, so no build output from there), then the build log, read by the worker.
    events = [line["event"] for line in api.task_log(dag_id, run_id, "build", 1)]
    (pod_name,) = pods.seen
    status = [i for i, e in enumerate(events) if re.fullmatch(rf"Pod {cluster.namespace}/{pod_name}: .*, \d+ s elapsed; .*", e)]
    assert status, events
    assert any("Running, running kaniko" in events[i] for i in status)
    kaniko = [i for i, e in enumerate(events) if "Pushed " in e or "Pushing image" in e]
    assert kaniko and max(status) < min(kaniko), events


def test_triggerer_killed_and_restarted_while_a_build_waits(api, core, cluster):
    dag_id = "deploy_triggerer_restart"
    with BuildPodSampler(core, cluster.namespace, dag_id) as pods:
        run_id = api.trigger(dag_id)["dag_run_id"]
        deferred_while_building(api, pods, dag_id, run_id)
        old = daemon("triggerer")
        # The whole triggerer: its main process and its trigger runner, by session.
        session = [p for p in psutil.process_iter() if _sid(p.pid) == old.pid]
        assert old in session
        for process in session:
            process.send_signal(signal.SIGKILL)
        psutil.wait_procs(session, timeout=10)
        assert api.task_instance(dag_id, run_id, "build")["state"] == "deferred"
        # Start it again the way an operator would: dev/deploy/up starts what is not running.
        subprocess.run(
            [str(ROOT / "dev/deploy/up")], check=True, stdout=subprocess.DEVNULL, env={**os.environ, "VENV": sys.prefix}
        )
        new = daemon("triggerer")
        assert new.pid != old.pid
        final = api.wait(dag_id, run_id, timeout=300)
    assert final["state"] == "success", api.task_instance(dag_id, run_id, "build")
    assert len(pods.seen) == 1
    assert_pushed(api, cluster, dag_id, run_id)


def _sid(pid):
    try:
        return os.getsid(pid)
    except OSError:
        return None
