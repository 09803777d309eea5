"""Change-aware maintenance, end to end: the example DAG run again and again on a copy of the demo
manifest under a repository prefix of its own, with every pod the API server admits recorded.

The runs build on each other, in order: first build, nothing changed, one file changed, a new
base image, max_age, force, and an unauthorised registry.
"""

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import time
import uuid
from datetime import UTC, datetime

import pytest
import yaml
from airflow_runs import latest_run
from registry import manifest_digest
from registry_seed import Seeder

from airflow_kaniko.maintenance.decisions import last_built
from airflow_kaniko.oci.registry_client import Credentials, Registry
from airflow_kaniko.oci.registry_protocol import ServedManifest
from tests.conftest import ROOT

DAG_ID = "kaniko_image_maintenance"
BUILT_ON_BUSYBOX = ["hello", "app", "web"]  # FROM the test's own busybox; app-shell is FROM app
ALL = ["hello", "app", "web", "app-shell", "tools"]


@pytest.fixture(scope="module")
def world(cluster, tmp_path_factory):
    """A copy of dags/images under a fresh prefix, its own busybox, and a `tools` image on the shared one."""
    prefix = f"e2e-maint-{uuid.uuid4().hex[:8]}"
    # The DAG reads a manifest param only inside its own folder: the tests run a copy of that folder.
    root = tmp_path_factory.mktemp("maintenance") / "dags"
    shutil.copytree(ROOT / "dags", root, ignore=shutil.ignore_patterns("__pycache__"))
    path = root / "images" / "images.yaml"
    manifest = yaml.safe_load(path.read_text())
    manifest["defaults"]["build_args"]["BASE"] = f"{{registry}}/{prefix}/busybox:latest"
    for image in manifest["images"]:
        image["repository"] = image["repository"].replace("demo/", f"{prefix}/")
        if "BASE" in image.get("build_args", {}):
            image["build_args"]["BASE"] = image["build_args"]["BASE"].replace("/demo/", f"/{prefix}/")
    # Built on the shared library/busybox, which no test changes: it must never rebuild below.
    manifest["images"].append(
        {
            "name": "tools",
            "context": "hello",
            "repository": f"{prefix}/tools",
            "build_args": {"BASE": "{registry}/library/busybox:latest"},
        }
    )
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    registry = Registry(cluster.registry, credentials=Credentials(*cluster.credentials()), ca_file=cluster.registry_ca)
    seeder = Seeder(cluster.registry, Credentials(*cluster.credentials()), cluster.registry_ca)
    seeder.copy("library/busybox", "latest", f"{prefix}/busybox", ["latest"])
    yield {"prefix": prefix, "manifest": path, "dags": root, "registry": registry, "seeder": seeder, "runs": {}}
    registry.close()


def run(world, name, runner, core, cluster, conf=None):
    """Run the DAG once; returns (report XCom, {image: kaniko pod}, run)."""
    from tests.e2e.conftest import PodRecorder

    log = world["manifest"].parent.parent / f"{name}.log"
    original, runner.dags_folder = runner.dags_folder, world["dags"]
    try:
        with PodRecorder(core, cluster.namespace) as recorder:
            result = runner.dags_test(
                DAG_ID,
                {"manifest": str(world["manifest"]), **(conf or {})},
                log=log,
                progress=False,
            )
    finally:
        runner.dags_folder = original
    dag_run = latest_run(DAG_ID)
    pods = {
        p["metadata"]["labels"].get("airflow-kaniko/image"): p
        for p in recorder.pods.values()
        if "airflow-kaniko/image" in p["metadata"].get("labels", {})
    }
    report = dag_run["xcom"].get(("report", -1))
    world["runs"][name] = (report, pods, dag_run, result)
    return report, pods, dag_run, result


def rows(report):
    return {row["name"]: row for row in report["images"]}


def test_1_first_run_builds_parents_first_and_pins_the_child_to_the_parent_digest(world, runner, core, cluster):
    report, pods, dag_run, result = run(world, "first", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == sorted(ALL)
    by_name = rows(report)
    assert {n: r["reason"] for n, r in by_name.items()} == {
        "hello": "rebuilt (no previous build)",
        "app": "rebuilt (no previous build)",
        "web": "rebuilt (no previous build)",
        "app-shell": "rebuilt (parent app rebuilt)",
        "tools": "rebuilt (no previous build)",
    }
    # The parent's pod finished before the child's pod was created.
    app_finished = pods["app"]["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"]
    assert pods["app-shell"]["metadata"]["creationTimestamp"] >= app_finished
    # The child's FROM went through ARG BASE: pinned to the digest app just pushed.
    app_digest = by_name["app"]["digest"]
    pinned = f"{cluster.registry}/{world['prefix']}/app@{app_digest}"
    assert f"--build-arg=BASE={pinned}" in pods["app-shell"]["spec"]["containers"][0]["args"]
    registry = world["registry"]
    repo = f"{world['prefix']}/app-shell"
    labels = registry.config(repo, registry.manifest(repo, "latest"))["config"]["Labels"]
    assert labels["org.opencontainers.image.base.name"] == pinned
    assert labels["org.opencontainers.image.base.digest"] == app_digest
    assert labels["dev.airflow-kaniko.fingerprint"] == by_name["app-shell"]["detail"]["fingerprint"]
    # The fingerprint tag is there, on the same digest, for the next run's one-request lookup.
    assert registry.digest(repo, f"fp-{labels['dev.airflow-kaniko.fingerprint']}") == by_name["app-shell"]["digest"]


def test_2_nothing_changed_starts_no_pod_and_retags(world, runner, core, cluster):
    first = rows(world["runs"]["first"][0])
    report, pods, dag_run, result = run(world, "unchanged", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert pods == {}  # 0 Kaniko pods
    by_name = rows(report)
    for name in ALL:
        fingerprint = by_name[name]["detail"]["fingerprint"]
        assert by_name[name]["reason"] == f"unchanged (fingerprint {fingerprint[:12]}…, digest {first[name]['digest'][:19]}…)"
        assert by_name[name]["digest"] == first[name]["digest"]
    # This run's date tag resolves to the same digest as before (retagged registry side).
    date = datetime.now(UTC).strftime("%Y%m%d")
    for name in ALL:
        reference = f"{cluster.registry}/{world['prefix']}/{name}:{date}"
        assert manifest_digest(cluster.registry, reference, cluster.credentials(), cluster.registry_ca) == first[name]["digest"]


def test_3_one_changed_file_rebuilds_that_image_alone(world, runner, core, cluster):
    (world["manifest"].parent / "web" / "site" / "index.html").write_text("<h1>changed</h1>\n")
    report, pods, dag_run, result = run(world, "context", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == ["web"]
    by_name = rows(report)
    assert by_name["web"]["reason"] == "rebuilt (context changed)"
    assert all(by_name[n]["reason"].startswith("unchanged (") for n in ALL if n != "web")


def _push_changed_base(registry, seeder, repo):
    """A new busybox:latest in ``repo``: the old layers plus one small layer, so a new digest."""
    old = registry.manifest(repo, "latest")
    body, config = old.json(), registry.config(repo, old)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = f"patched {uuid.uuid4()}\n".encode()
        info = tarfile.TarInfo("etc/e2e-patch")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
    config_bytes = json.dumps(config).encode()
    body["config"] = {**body["config"], "digest": seeder.push_blob(repo, config_bytes), "size": len(config_bytes)}
    body["layers"].append(
        {"mediaType": body["layers"][0]["mediaType"], "digest": seeder.push_blob(repo, layer), "size": len(layer)}
    )
    data = json.dumps(body).encode()
    new = ServedManifest(body=data, media_type=old.media_type, digest="sha256:" + hashlib.sha256(data).hexdigest())
    registry.put_manifest(repo, "latest", new)
    return old.digest, new.digest


def test_4_a_new_base_rebuilds_exactly_the_images_built_on_it(world, runner, core, cluster):
    before = rows(world["runs"]["context"][0])
    old, new = _push_changed_base(world["registry"], world["seeder"], f"{world['prefix']}/busybox")
    report, pods, dag_run, result = run(world, "base", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == sorted([*BUILT_ON_BUSYBOX, "app-shell"])  # not tools
    by_name = rows(report)
    base = f"{cluster.registry}/{world['prefix']}/busybox:latest"
    for name in BUILT_ON_BUSYBOX:
        assert by_name[name]["reason"] == f"rebuilt (base {base} {old[:19]}… → {new[:19]}…)"
        assert by_name[name]["digest"] != before[name]["digest"]
    assert by_name["app-shell"]["reason"] == "rebuilt (parent app rebuilt)"
    assert by_name["tools"]["reason"].startswith("unchanged (")
    assert (
        pods["app-shell"]["metadata"]["creationTimestamp"]
        >= pods["app"]["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"]
    )


def test_5_max_age_rebuilds_without_cache_and_reproducibly(world, runner, core, cluster):
    before = rows(world["runs"]["base"][0])
    # max_age is 1 minute: wait until the newest build-time tag (stamped when the base run's prepare
    # ran) is older than that; this run's prepare comes later still.
    registry = world["registry"]
    stamps = [last_built(before[n]["detail"]["fingerprint"], registry.tags(f"{world['prefix']}/{n}")) for n in ("hello", "app")]
    time.sleep(max(0.0, 61 - (datetime.now(UTC) - max(stamps)).total_seconds()))
    report, pods, dag_run, result = run(world, "max_age", runner, core, cluster, {"max_age": "1m", "images": ["hello", "app"]})
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == ["app", "hello"]
    by_name = rows(report)
    for name in ("hello", "app"):
        assert by_name[name]["reason"] == "rebuilt, identical (older than max_age)"
        assert by_name[name]["digest"] == before[name]["digest"]
        assert not any(a.startswith("--cache") for a in pods[name]["spec"]["containers"][0]["args"])


def test_6_forced_rebuilds_push_the_same_digest(world, runner, core, cluster):
    before = rows(world["runs"]["base"][0])
    report, pods, dag_run, result = run(world, "force", runner, core, cluster, {"force": True})
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == sorted(ALL)
    by_name = rows(report)
    for name in ALL:
        assert by_name[name]["reason"] == "rebuilt, identical (forced)", by_name[name]
        assert by_name[name]["digest"] == before[name]["digest"]
    assert "--reproducible" in pods["hello"]["spec"]["containers"][0]["args"]


def test_7_unauthorised_base_registry_fails_prepare_naming_image_base_and_registry(world, runner, core, cluster):
    # The connection is the DAG author's, not a param: an authored manifest maps the registry to a wrong password.
    manifest = yaml.safe_load(world["manifest"].read_text())
    manifest["registry_connections"] = {cluster.registry: "kaniko_registry_wrong"}
    wrong = world["manifest"].with_name("images-wrong-connection.yaml")
    wrong.write_text(yaml.safe_dump(manifest, sort_keys=False))
    report, pods, dag_run, result = run(world, "unauthorised", runner, core, cluster, {"manifest": str(wrong)})
    assert dag_run["state"] == "failed"
    assert pods == {}
    assert dag_run["tasks"][("prepare", -1)]["state"] == "failed"
    user, _ = cluster.credentials()
    expected = (
        f"PlanError: image hello: base image '${{BASE}}' = {cluster.registry}/{world['prefix']}/busybox:latest "
        f"(Dockerfile line 2) "
        f"cannot be resolved: registry {cluster.registry}: unauthorised (HTTP 401) as '{user}'"
    )
    assert expected in result.text()
