"""A failed build: the example DAG's report lists every image as the run's note, then fails the run."""

import re

from tests.deployment.conftest import EXAMPLE

CLEANUP = re.compile(r"; registry cleanup: \d+ tag\(s\) deleted(, \d+ warning\(s\))?$")  # docs/maintenance.md, "Registry hygiene"


def test_failed_build_is_reported_in_the_run_note_then_the_run_fails(api, report_run):
    """The run on tests/deployment/example-inputs/manifest-with-broken.yaml (hello and broken), triggered by report_run."""
    run_id = report_run
    final = api.wait(EXAMPLE, run_id, timeout=600)
    assert final["state"] == "failed"
    tis = api.task_instances(EXAMPLE, run_id)
    # The build task, or its stages ("build_level_N") where images are built in dependency order.
    builds = {ti["rendered_map_index"]: ti for ti in tis if ti["task_id"].startswith("build") and ti["map_index"] >= 0}
    assert {name: ti["state"] for name, ti in builds.items()} == {"hello": "success", "broken": "failed"}
    (report,) = [ti for ti in tis if ti["task_id"] == "report"]
    assert report["state"] == "failed"  # after reporting, so alerting fires
    assert report["start_date"] >= max(ti["end_date"] for ti in builds.values())

    report_xcom = api.xcom(EXAMPLE, run_id, "report")
    assert report_xcom["failed"] == ["broken"]
    hello = api.xcom(EXAMPLE, run_id, builds["hello"]["task_id"], builds["hello"]["map_index"])
    rows = {row["name"]: row for row in report_xcom["images"]}
    assert rows["hello"]["digest"] == hello["digest"]
    # Read back through the REST API, as the UI shows it: one table row per image, as in the XCom.
    lines = api.run(EXAMPLE, run_id)["note"].splitlines()
    counts = ", ".join(
        f"{sum(r['status'] == s for r in rows.values())} {s}" for s in dict.fromkeys(r["status"] for r in rows.values())
    )
    header = CLEANUP.sub("", lines[0])  # the header may end with what the registry cleanup deleted
    assert [header, *lines[1:4]] == [
        f"**{EXAMPLE}**: {counts}",
        "",
        "| image | status | digest | reason |",
        "| --- | --- | --- | --- |",
    ]
    assert len(lines) == 6
    assert lines[4].startswith(f"| hello | {rows['hello']['status']} | `{hello['digest'][:19]}` | ")
    assert lines[5].startswith("| broken | failed | - | ") and len(lines[5]) > len("| broken | failed | - |  |")  # says why
