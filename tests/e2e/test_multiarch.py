"""Multi-arch images on the real cluster and registry: a two-platform base, one Kaniko pod per platform,
the OCI index pushed from the worker; and a failed platform leaving the final tags untouched."""

import json
import uuid

import pytest
from airflow_runs import latest_run

from airflow_kaniko.oci.platforms import INDEX_MEDIA_TYPE
from airflow_kaniko.oci.registry_client import Credentials, Registry
from tests.e2e.kube import run_image
from tests.e2e.multiarch_base import push_base
from tests.e2e.test_scenarios import SCENARIOS


@pytest.fixture(scope="module")
def world(cluster):
    prefix = f"e2e-multiarch-{uuid.uuid4().hex[:8]}"
    base = push_base(cluster, f"{prefix}/busybox")
    with Registry(cluster.registry, credentials=Credentials(*cluster.credentials()), ca_file=cluster.registry_ca) as registry:
        yield {"prefix": prefix, "base": base, "registry": registry}


def run_dag(runner, dag_id, conf, tmp_path):
    """The DAG run, with the OpenLineage provider writing its events to ``tmp_path / "openlineage.jsonl"``."""
    transport = {"type": "file", "log_file_path": str(tmp_path / "openlineage.jsonl"), "append": True}
    saved = (dict(runner.extra_env), runner.dags_folder)
    runner.extra_env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(transport)
    runner.dags_folder = SCENARIOS
    try:
        result = runner.dags_test(dag_id, conf, log=tmp_path / f"{dag_id}.log", progress=False)
    finally:
        runner.extra_env, runner.dags_folder = saved
    return result, latest_run(dag_id)


def completes(tmp_path, dag_id):
    """Each task's OpenLineage COMPLETE events: (inputs, outputs) as (namespace, name, version, tags)."""

    def datasets(items):
        out = []
        for d in items:
            tags = [t["value"] for t in d["facets"].get("tags", {}).get("tags", [])]
            out.append((d["namespace"], d["name"], d["facets"].get("version", {}).get("datasetVersion"), tags))
        return out

    found: dict[str, list] = {}
    for event in map(json.loads, (tmp_path / "openlineage.jsonl").read_text().splitlines()):
        if event["eventType"] == "COMPLETE" and event["job"]["name"].startswith(f"{dag_id}."):
            task = event["job"]["name"][len(dag_id) + 1 :]
            found.setdefault(task, []).append((datasets(event["inputs"]), datasets(event["outputs"])))
    return found


def test_the_base_is_a_two_platform_index(world, cluster):
    registry, repo = world["registry"], f"{world['prefix']}/busybox"
    index = registry.manifest(repo, "latest")
    assert index.media_type == INDEX_MEDIA_TYPE and index.digest == world["base"]["index"]
    platforms = {m["platform"]["architecture"]: m["digest"] for m in index.json()["manifests"]}
    assert platforms == {"amd64": world["base"]["linux/amd64"], "arm64": world["base"]["linux/arm64"]}


def test_copy_env_label_build_for_both_platforms_and_one_index(world, runner, cluster, core, tmp_path):
    registry, repo = world["registry"], f"{world['prefix']}/app"
    conf = {"repository": f"{cluster.registry}/{repo}", "base": f"{cluster.registry}/{world['prefix']}/busybox:latest"}
    result, run = run_dag(runner, "e2e_multiarch", conf, tmp_path)
    assert run["state"] == "success", result.text()[-4000:]
    builds = {run["xcom"][("build", i)]["platform"]: run["xcom"][("build", i)] for i in (0, 1)}
    value = run["xcom"][("index", -1)]
    # The index is what the final tags point at, and what the result says.
    assert registry.digest(repo, "1") == registry.digest(repo, "latest") == value["digest"]
    assert value["images"] == [
        f"{cluster.registry}/{repo}:1@{value['digest']}",
        f"{cluster.registry}/{repo}:latest@{value['digest']}",
    ]
    assert value["platforms"] == {p: b["digest"] for p, b in builds.items()}
    # Each platform pod pushed only its staging tag.
    assert sorted(registry.tags(repo)) == ["1", "1-linux-amd64", "1-linux-arm64", "latest"]
    index = registry.manifest(repo, "latest")
    assert index.media_type == INDEX_MEDIA_TYPE
    for entry in index.json()["manifests"]:
        platform = f"{entry['platform']['os']}/{entry['platform']['architecture']}"
        assert entry["digest"] == value["platforms"][platform]
        manifest = registry.manifest(repo, entry["digest"])
        assert entry["size"] == len(manifest.body) and entry["mediaType"] == manifest.media_type
        config = registry.config(repo, manifest)
        assert (config["os"], config["architecture"]) == tuple(platform.split("/"))
        assert config["config"]["Labels"]["org.opencontainers.image.title"] == "multiarch e2e"
        assert "GREETING=hello from a multi-arch image" in config["config"]["Env"]
        # Each platform is built on its own base: the base's layer for that architecture comes first.
        base_manifest = registry.manifest(f"{world['prefix']}/busybox", world["base"][platform])
        assert manifest.json()["layers"][0]["digest"] == base_manifest.json()["layers"][0]["digest"]
    # One Asset event, the index's, from the index step; the platform builds emitted none.
    assert [(e["task"], e["uri"], e["extra"]["digest"], e["extra"]["tags"]) for e in run["asset_events"]] == [
        ("index", f"oci://{cluster.registry}/{repo}", value["digest"], ["1", "latest"])
    ]
    # OpenLineage: the index task's output is the repository at the index digest; the platform builds
    # report their base but not their staging pushes. The base is known by tag only here: no version.
    namespace = f"oci://{cluster.registry}"
    base = [(namespace, f"{world['prefix']}/busybox", None, ["latest"])]
    lineage = completes(tmp_path, "e2e_multiarch")
    assert lineage["index"] == [(base, [(namespace, repo, value["digest"], ["1", "latest"])])]
    assert lineage["build"] == [(base, []), (base, [])]
    # The amd64 variant runs (the runtime picks it from the index by the node's platform).
    assert run_image(core, cluster.namespace, f"{cluster.registry}/{repo}:latest").strip() == "multi-arch greeting"


def test_a_failed_platform_pushes_nothing_under_the_final_tags(world, runner, cluster, tmp_path):
    registry, repo = world["registry"], f"{world['prefix']}/run"
    conf = {"repository": f"{cluster.registry}/{repo}", "base": f"{cluster.registry}/{world['prefix']}/busybox:latest"}
    result, run = run_dag(runner, "e2e_multiarch_run", conf, tmp_path)
    assert run["state"] == "failed"
    tasks = run["tasks"]
    assert tasks[("build", 0)]["state"] == "success"  # amd64: the RUN step runs natively
    assert tasks[("build", 1)]["state"] == "failed"  # arm64 RUN on an amd64 node without binfmt emulation
    assert tasks[("index", -1)]["state"] == "failed"
    text = result.text()
    assert "exec format error" in text, text[-4000:]
    assert "not merged, nothing pushed under its tags: linux/arm64: dockerfile" in text
    assert registry.digest(repo, "1") is None and registry.digest(repo, "latest") is None
    assert sorted(registry.tags(repo)) == ["1-linux-amd64"]
    assert run["asset_events"] == []  # the amd64 build succeeded, but emits nothing for a staging push
    assert json.loads(json.dumps(run["xcom"][("index", -1)]))["failed"] is True
