"""The scheduler queues mapped builds and honours max_parallel; the weekly schedule is what the cron says."""

from datetime import datetime, timezone

from croniter import croniter
from registry import manifest_digest

from tests.deployment.conftest import EXAMPLE, BuildPodSampler, wait_for

CRON = "0 * * * *"  # the example DAG's schedule (dags/kaniko_image_maintenance.py): hourly


def test_six_builds_never_more_than_two_at_once(api, core, cluster):
    dag_id = "deploy_throttle"
    with BuildPodSampler(core, cluster.namespace, dag_id) as pods:
        run = api.trigger(dag_id)
        final = api.wait(dag_id, run["dag_run_id"], timeout=420)
    assert final["state"] == "success", api.task_instances(dag_id, run["dag_run_id"])
    # Seen from the API server: never more than max_parallel Kaniko containers running, and the limit was reached.
    assert pods.max_running == 2, [sorted(r) for _, r in pods.samples if r]
    assert len(pods.seen) == 6
    builds = [ti for ti in api.task_instances(dag_id, run["dag_run_id"]) if ti["task_id"] == "build"]
    assert sorted(ti["rendered_map_index"] for ti in builds) == sorted(["one", "two", "three", "four", "five", "six"])
    auth = cluster.credentials()
    for ti in builds:
        value = api.xcom(dag_id, run["dag_run_id"], "build", ti["map_index"])
        (image,) = value["images"]
        reference, digest = image.split("@")
        assert manifest_digest(cluster.registry, reference, auth, cluster.registry_ca) == digest == value["digest"]


def test_the_schedule_fires_and_the_next_run_is_the_crons_next_time(api):
    """Unpaused (by the api fixture), the scheduler runs the cron's latest missed time (catchup=False), then awaits the next."""
    dag = api.get(f"/dags/{EXAMPLE}")
    assert dag["timetable_summary"] == CRON and not dag["is_paused"]
    now = datetime.now(timezone.utc)
    latest = croniter(CRON, now).get_prev(datetime)
    following = croniter(CRON, now).get_next(datetime)

    def scheduled():
        runs = api.get(f"/dags/{EXAMPLE}/dagRuns", run_type=["scheduled"], order_by="-run_after", limit=100)["dag_runs"]
        return next((r for r in runs if datetime.fromisoformat(r["run_after"]) == latest), None)

    run = wait_for(scheduled, 120, f"the scheduler to create the example DAG's scheduled run for {latest}")
    assert datetime.fromisoformat(run["logical_date"]) == latest
    # The scheduler's view of what comes next.
    dag = wait_for(
        lambda: (
            (d := api.get(f"/dags/{EXAMPLE}"))["next_dagrun_run_after"]
            and datetime.fromisoformat(d["next_dagrun_run_after"]) > latest
            and d
        ),
        60,
        "next_dagrun to move on",
    )
    assert datetime.fromisoformat(dag["next_dagrun_run_after"]) == following
    assert datetime.fromisoformat(dag["next_dagrun_logical_date"]) == following
    assert latest <= now < following
