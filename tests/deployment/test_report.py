"""A failed build: the example DAG's report lists every image as the run's note, then fails the run."""

from tests.deployment.conftest import EXAMPLE


def test_failed_build_is_reported_in_the_run_note_then_the_run_fails(api, report_run):
    """The run on tests/deployment/example-inputs/manifest-with-broken.yaml (hello and broken), triggered by report_run."""
    run_id = report_run
    final = api.wait(EXAMPLE, run_id, timeout=600)
    assert final["state"] == "failed"
    tis = {(ti["task_id"], ti["rendered_map_index"]): ti for ti in api.task_instances(EXAMPLE, run_id)}
    assert tis[("build", "hello")]["state"] == "success"
    assert tis[("build", "broken")]["state"] == "failed"
    report = tis[("report", None)]
    assert report["state"] == "failed"  # after reporting, so alerting fires
    assert report["start_date"] >= max(ti["end_date"] for (task, _), ti in tis.items() if task == "build")

    hello = api.xcom(EXAMPLE, run_id, "build", tis[("build", "hello")]["map_index"])
    assert api.xcom(EXAMPLE, run_id, "report")["failed"] == ["broken"]
    # Read back through the REST API, as the UI shows it.
    note = api.run(EXAMPLE, run_id)["note"]
    lines = note.splitlines()
    assert lines[:5] == [
        f"**{EXAMPLE}**: 1 pushed, 1 failed",
        "",
        "| image | status | digest | reason |",
        "| --- | --- | --- | --- |",
        f"| hello | pushed | `{hello['digest'][:19]}` |  |",
    ]
    assert len(lines) == 6 and lines[5].startswith("| broken | failed | - | ") and len(lines[5]) > len("| broken | failed | - |  |")
