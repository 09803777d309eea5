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
    templated, again, plain = (run["xcom"][(task, -1)] for task in ("templated", "again", "plain"))
    digest = templated["digest"]
    assert manifest_digest(cluster.registry, f"{cluster.registry}/e2e/lineage:2", auth, cluster.registry_ca) == digest
    assert again["digest"] != digest  # another label: another image of the same repository

    links = _links(run["run_id"])
    assert links == {
        "templated": f"https://registry-ui.example.com/e2e/lineage/tags/1/{digest}",
        "again": "",  # its connection has no UI template
        "plain": "",
    }

    completes = {e["job"]["name"]: e for e in map(json.loads, events.read_text().splitlines()) if e["eventType"] == "COMPLETE"}
    namespace = f"oci://{cluster.registry}"

    def datasets(task, kind):
        return [(d["namespace"], d["name"], _facets(d)) for d in completes[f"e2e_lineage.{task}"][kind]]

    base = (namespace, "library/busybox", {"version": base_digest, "tags": ["latest"]})
    assert datasets("templated", "inputs") == datasets("again", "inputs") == [base]
    # One dataset, the repository's Asset URI split as oci://<registry> + <repository>; each build a version of it.
    assert datasets("templated", "outputs") == [(namespace, "e2e/lineage", {"version": digest, "tags": ["1", "2"]})]
    assert datasets("again", "outputs") == [(namespace, "e2e/lineage", {"version": again["digest"], "tags": ["3"]})]
    assert datasets("plain", "outputs") == [(namespace, "e2e/lineage-plain", {"version": plain["digest"], "tags": ["1"]})]
    assert auth[1] not in events.read_text()


def _facets(dataset):
    """The version (the digest) and the tags of an event's dataset, as the OpenLineage facets carry them."""
    facets = dataset["facets"]
    assert set(facets) <= {"version", "tags"}, facets
    assert all(t["key"] == "tag" and t["source"] == "oci" for t in facets.get("tags", {}).get("tags", []))
    return {
        "version": facets.get("version", {}).get("datasetVersion"),
        "tags": [t["value"] for t in facets.get("tags", {}).get("tags", [])],
    }


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
