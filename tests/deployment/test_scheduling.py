"""The scheduler queues mapped builds and honours max_parallel; the weekly schedule is what the cron says."""

from datetime import UTC, datetime

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
    # An hour that begins while this runs moves the scheduler on to the next time: then check that hour's instead.
    for _ in range(2):
        latest, run, dag = _latest_run_and_next(api)
        if croniter(CRON, datetime.now(UTC)).get_prev(datetime) == latest:
            break
    following = croniter(CRON, latest).get_next(datetime)
    assert datetime.fromisoformat(run["logical_date"]) == latest
    assert datetime.fromisoformat(dag["next_dagrun_run_after"]) == following
    assert datetime.fromisoformat(dag["next_dagrun_logical_date"]) == following


def _latest_run_and_next(api):
    """The cron's latest time, the scheduled run the scheduler made for it, and the DAG once it awaits the next time."""
    latest = croniter(CRON, datetime.now(UTC)).get_prev(datetime)

    def scheduled():
        runs = api.get(f"/dags/{EXAMPLE}/dagRuns", run_type=["scheduled"], order_by="-run_after", limit=100)["dag_runs"]
        return next((r for r in runs if datetime.fromisoformat(r["run_after"]) == latest), None)

    run = wait_for(scheduled, 120, f"the scheduler to create the example DAG's scheduled run for {latest}")
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
    return latest, run, dag
