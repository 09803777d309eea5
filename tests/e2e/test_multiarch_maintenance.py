"""The maintenance DAG with a multi-arch manifest entry: one pod per platform, the index merged from the
worker under the final and fingerprint tags, a child built on the index digest; unchanged on the rerun."""

import shutil
import uuid

import pytest
import yaml

from airflow_kaniko.oci.platforms import INDEX_MEDIA_TYPE
from airflow_kaniko.oci.registry_client import Credentials, Registry
from tests.conftest import ROOT
from tests.e2e.multiarch_base import push_base
from tests.e2e.test_maintenance import rows, run


@pytest.fixture(scope="module")
def world(cluster, tmp_path_factory):
    prefix = f"e2e-maint-multiarch-{uuid.uuid4().hex[:8]}"
    push_base(cluster, f"{prefix}/busybox")
    root = tmp_path_factory.mktemp("multiarch") / "dags"
    shutil.copytree(ROOT / "dags", root, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests" / "e2e" / "images" / "multiarch", root / "images" / "multiarch")
    path = root / "images" / "images.yaml"
    manifest = {
        "version": 1,
        "registry_ca": {"config_map": "registry-ca"},
        "defaults": {"tags": ["{date}", "latest"]},
        "images": [
            {
                "name": "multi",
                "context": "multiarch",
                "repository": f"{prefix}/multi",
                "build_args": {"BASE": f"{{registry}}/{prefix}/busybox:latest"},
                "platforms": ["linux/amd64", "linux/arm64"],
                "platform_node_selector": False,  # the one node is amd64; COPY/ENV/LABEL need no arm64 node
            },
            {  # FROM multi: built after it, on the index digest it just pushed (for the node's platform)
                "name": "child",
                "context": "hello",
                "repository": f"{prefix}/child",
                "build_args": {"BASE": f"{{registry}}/{prefix}/multi:latest"},
            },
        ],
    }
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    registry = Registry(cluster.registry, credentials=Credentials(*cluster.credentials()), ca_file=cluster.registry_ca)
    yield {"prefix": prefix, "manifest": path, "dags": root, "registry": registry, "runs": {}}
    registry.close()


def test_1_a_multi_arch_image_is_built_per_platform_and_merged_under_final_and_fingerprint_tags(world, runner, core, cluster):
    report, pods, dag_run, result = run(world, "first", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    by_name = rows(report)
    multi = by_name["multi"]
    assert multi["platforms"] == ["linux/amd64", "linux/arm64"]
    assert multi["reason"] == "rebuilt (no previous build)"
    # One pod per platform (both recorded under the image label), each with its --custom-platform.
    platform_pods = [p for p in dag_run["tasks"] if p[0] == "build_level_0"]
    assert len(platform_pods) == 2
    registry, repo = world["registry"], f"{world['prefix']}/multi"
    fingerprint = multi["detail"]["fingerprint"]
    index = registry.manifest(repo, f"fp-{fingerprint}")
    assert index.media_type == INDEX_MEDIA_TYPE and index.digest == multi["digest"]
    assert registry.digest(repo, "latest") == multi["digest"]
    entries = {e["platform"]["architecture"]: e["digest"] for e in index.json()["manifests"]}
    assert entries == {
        "amd64": multi["detail"]["platform_digests"]["linux/amd64"],
        "arm64": multi["detail"]["platform_digests"]["linux/arm64"],
    }
    for arch, digest in entries.items():
        assert registry.config(repo, registry.manifest(repo, digest))["architecture"] == arch
    # The child was built on the index digest the merge step just pushed.
    assert by_name["child"]["reason"] == "rebuilt (parent multi rebuilt)"
    pinned = f"{cluster.registry}/{repo}@{multi['digest']}"
    assert f"--build-arg=BASE={pinned}" in pods["child"]["spec"]["containers"][0]["args"]
    assert "--custom-platform" not in " ".join(pods["child"]["spec"]["containers"][0]["args"])
    assert dag_run["tasks"][("merge_level_0", -1)]["state"] == "success"
    # One Asset event per image: the merge step's for the index (the platform builds emit none), the child's build's.
    events = {e["uri"]: e for e in dag_run["asset_events"]}
    assert len(dag_run["asset_events"]) == 2, dag_run["asset_events"]
    multi_event = events[f"oci://{cluster.registry}/{repo}"]
    assert multi_event["task"] == "merge_level_0"
    assert multi_event["extra"]["digest"] == multi["digest"] and multi_event["extra"]["fingerprint"] == fingerprint
    assert multi_event["extra"]["reason"]["kind"] == "first"
    assert events[f"oci://{cluster.registry}/{world['prefix']}/child"]["task"] == "build_level_1"


def test_2_unchanged_on_the_rerun_starts_no_pod(world, runner, core, cluster):
    first = rows(world["runs"]["first"][0])
    report, pods, dag_run, result = run(world, "unchanged", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert pods == {} and dag_run["asset_events"] == []  # unchanged: retagged, no event
    by_name = rows(report)
    for name in ("multi", "child"):
        assert by_name[name]["reason"].startswith("unchanged ("), by_name[name]
        assert by_name[name]["digest"] == first[name]["digest"]
    assert world["registry"].manifest(f"{world['prefix']}/multi", "latest").media_type == INDEX_MEDIA_TYPE
