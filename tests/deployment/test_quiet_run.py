"""A successful run of the example DAG is quiet: no line at level error in any task's log, read as a user would."""

from tests.deployment.conftest import EXAMPLE

LOUD = {"error", "critical"}


def test_a_successful_run_of_the_example_dag_logs_no_error_in_any_task(api):
    """Every image rebuilt (force): three builds at level 0, one at level 1, levels 2 and 3 empty, and a skipped
    merge task per level (no multi-arch image), the run's note written. Each try's log through the REST API."""
    run_id = api.trigger(EXAMPLE, {"force": True})["dag_run_id"]
    final = api.wait(EXAMPLE, run_id, timeout=900)  # max_active_runs=1: it may queue behind the tier's other runs
    tis = api.task_instances(EXAMPLE, run_id)
    assert final["state"] == "success", [(ti["task_id"], ti["map_index"], ti["state"]) for ti in tis]
    states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in tis}
    merges = {k: s for k, s in states.items() if k[0].startswith("merge")}
    assert merges == {(f"merge_level_{n}", -1): "skipped" for n in range(4)}
    assert sorted(k for k, s in states.items() if k[0].startswith("build") and s == "success") == [
        ("build_level_0", 0),
        ("build_level_0", 1),
        ("build_level_0", 2),
        ("build_level_1", 0),
    ]
    assert final["note"].startswith(f"**{EXAMPLE}**: ")
    loud, read = {}, 0
    for ti in tis:
        if ti["start_date"] is None:  # an empty level's build: skipped by the scheduler, it never ran
            continue
        for try_number in range(1, ti["try_number"] + 1):
            lines = api.task_log(EXAMPLE, run_id, ti["task_id"], try_number, ti["map_index"])
            assert lines, (ti["task_id"], ti["map_index"], try_number)
            read += 1
            found = [line["event"] for line in lines if line.get("level") in LOUD]
            if found:
                loud[(ti["task_id"], ti["map_index"], try_number)] = found
    assert read >= 13  # prepare, 3 plan, 4 merge, 4 builds, report: every try that ran
    assert loud == {}
