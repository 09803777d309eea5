"""The Image link and the OpenLineage events of real builds, pushed to the local registry."""

import json

from airflow_runs import latest_run
from registry import manifest_digest

from tests.e2e.test_scenarios import SCENARIOS

TEMPLATE = "https://registry-ui.example.com/{repository}/tags/{tag}/{digest}"


def test_image_link_and_lineage_of_a_real_build(runner, cluster, tmp_path):
    auth = cluster.credentials()
    base_digest = manifest_digest(cluster.registry, f"{cluster.registry}/library/busybox:latest", auth, cluster.registry_ca)
    base = f"{cluster.registry}/library/busybox:latest@{base_digest}"
    events = tmp_path / "openlineage.jsonl"
    ui_conn = {
        "conn_type": "docker",
        "host": cluster.registry,
        "login": auth[0],
        "password": auth[1],
        "extra": {"image_url_template": TEMPLATE},
    }
    saved = (dict(runner.extra_env), runner.dags_folder)
    runner.extra_env.update(
        {
            "AIRFLOW_CONN_KANIKO_REGISTRY_UI": json.dumps(ui_conn),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
            "E2E_BASE_IMAGE": base,
        }
    )
    runner.dags_folder = SCENARIOS
    try:
        result = runner.dags_test("e2e_lineage", log=tmp_path / "e2e_lineage.log", progress=False)
    finally:
        runner.extra_env, runner.dags_folder = saved
    run = latest_run("e2e_lineage")
    assert run["state"] == "success", result.text()[-3000:]
    templated, plain = run["xcom"][("templated", -1)], run["xcom"][("plain", -1)]
    digest = templated["digest"]
    assert manifest_digest(cluster.registry, f"{cluster.registry}/e2e/lineage:2", auth, cluster.registry_ca) == digest

    links = _links(run["run_id"])
    assert links == {"templated": f"https://registry-ui.example.com/e2e/lineage/tags/1/{digest}", "plain": ""}

    completes = {e["job"]["name"]: e for e in map(json.loads, events.read_text().splitlines()) if e["eventType"] == "COMPLETE"}
    event = completes["e2e_lineage.templated"]
    namespace = f"oci://{cluster.registry}"
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [(namespace, f"library/busybox@{base_digest}")]
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [(namespace, f"e2e/lineage@{digest}")]
    assert [i["name"] for i in event["outputs"][0]["facets"]["symlinks"]["identifiers"]] == ["e2e/lineage:1", "e2e/lineage:2"]
    assert [d["name"] for d in completes["e2e_lineage.plain"]["outputs"]] == [f"e2e/lineage-plain@{plain['digest']}"]
    assert auth[1] not in events.read_text()


def _links(run_id):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(XComModel)
            .filter(XComModel.dag_id == "e2e_lineage", XComModel.run_id == run_id, XComModel.key == "_link_KanikoImageLink")
            .all()
        )
        return {row.task_id: row.value for row in rows}  # the task runner stores a link as the bare string
