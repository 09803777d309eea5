"""A task process SIGKILLed mid-build: the retry re-attaches to the running pod instead of starting another."""

import signal

from registry import manifest_digest

from tests.deployment.conftest import BuildPodSampler, daemon, task_process, wait_for
from tests.e2e.kube import leftovers


def test_killed_task_process_is_retried_and_reattaches_to_its_pod(api, core, cluster):
    dag_id = "deploy_killed_worker"
    with BuildPodSampler(core, cluster.namespace, dag_id) as pods:
        run_id = api.trigger(dag_id)["dag_run_id"]
        wait_for(lambda: pods.samples and pods.samples[-1][1], 180, "the slow build to run")
        first = api.task_instance(dag_id, run_id, "build", 0)
        assert (first["state"], first["try_number"]) == ("running", 1)

        victim = task_process(first["id"])
        scheduler = daemon("scheduler")
        assert scheduler in victim.parents()  # the task's own process, under the scheduler's LocalExecutor
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        assert scheduler.is_running()

        final = api.wait(dag_id, run_id, timeout=300)
    assert final["state"] == "success"
    retry = api.task_instance(dag_id, run_id, "build", 0)
    assert (retry["state"], retry["try_number"]) == ("success", 2)
    tries = api.tries(dag_id, run_id, "build", 0)
    # Try 1 was reported up_for_retry by its supervisor; its history keeps it as failed.
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "failed"), (2, "success")]

    # One pod for map index 0 over the whole test: the retry re-attached to the first try's pod.
    mine = {name: p for name, p in pods.seen.items() if p["labels"].get("map_index") == "0"}
    assert len(mine) == 1, mine
    assert next(iter(mine.values()))["labels"]["try_number"] == "1"

    value = api.xcom(dag_id, run_id, "build", 0)
    (image,) = value["images"]
    reference, digest = image.split("@")
    assert manifest_digest(cluster.registry, reference, cluster.credentials(), cluster.registry_ca) == digest == value["digest"]
    # The pod is deleted after the build; the garbage collector removes the Secret and ConfigMap it owned.
    wait_for(lambda: leftovers(core, cluster.namespace) == [], 60, "no Secret or ConfigMap of ours left")
