"""Issue 18's proofs on the local cluster: never skip what cannot be known, build the context that was
planned, and never trust a fingerprint tag without a look. Every pod the API server admits is recorded.

The runs build on each other, in order, on a copy of dags/ under a repository prefix of their own:
hello and app from the demo manifest, and `fetch`, which ADDs a file the test serves over HTTP from the
cluster bridge.
"""

import os
import shutil
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from airflow_runs import latest_run
from registry_seed import Seeder

from airflow_kaniko.kaniko.context_archive import pack_context
from airflow_kaniko.oci.reference import split
from airflow_kaniko.oci.registry_client import Credentials, Registry
from tests.conftest import ROOT

MAINTENANCE = "kaniko_image_maintenance"
EXACT = "e2e_exact_context"  # tests/e2e/dags/e2e_exact.py: prepare, an edit, the build, the report
SCENARIOS = Path(__file__).parent / "dags"
SKIPPED = ["hello", "app"]
ALL = ["hello", "app", "fetch"]


class _Payload(BaseHTTPRequestHandler):
    timeout = 10  # seconds per connection: a stuck client cannot hold a thread

    def do_GET(self):  # noqa: N802 (http.server's name)
        server = self.server
        with server.lock:
            server.gets += 1
            body = server.payload
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def payload_server(cluster):
    """A file served on the cluster bridge (the registry's host), where the build pods reach it; stopped at the end."""
    server = ThreadingHTTPServer((cluster.registry.rsplit(":", 1)[0], 0), _Payload)
    server.daemon_threads = True
    server.lock, server.gets, server.payload = threading.Lock(), 0, b"payload 1\n"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def world(cluster, payload_server, tmp_path_factory):
    prefix = f"e2e-exact-{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("exact") / "dags"
    shutil.copytree(ROOT / "dags", root, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(Path(__file__).parent / "images" / "remote-add", root / "images" / "fetch")
    path = root / "images" / "images.yaml"
    manifest = yaml.safe_load(path.read_text())
    host, port = payload_server.server_address[:2]
    url = f"http://{host}:{port}/payload.txt"
    manifest["images"] = [
        {**image, "repository": image["repository"].replace("demo/", f"{prefix}/")}
        for image in manifest["images"]
        if image["name"] in SKIPPED
    ]
    manifest["images"].append({"name": "fetch", "context": "fetch", "repository": f"{prefix}/fetch", "build_args": {"URL": url}})
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    credentials = Credentials(*cluster.credentials())
    registry = Registry(cluster.registry, credentials=credentials, ca_file=cluster.registry_ca)
    seeder = Seeder(cluster.registry, credentials, cluster.registry_ca)
    yield {"prefix": prefix, "manifest": path, "dags": root, "url": url, "registry": registry, "seeder": seeder, "runs": {}}
    registry.close()


def run(world, name, runner, core, cluster, *, dag_id=MAINTENANCE, dags=None, conf=None):
    """Run a DAG once; returns (report XCom, {image: kaniko pod}, run, result)."""
    from tests.e2e.conftest import PodRecorder

    original, runner.dags_folder = runner.dags_folder, dags or world["dags"]
    try:
        with PodRecorder(core, cluster.namespace) as recorder:
            result = runner.dags_test(
                dag_id,
                {"manifest": str(world["manifest"]), **(conf or {})},
                log=world["dags"].parent / f"{name}.log",
                progress=False,
            )
    finally:
        runner.dags_folder = original
    dag_run = latest_run(dag_id)
    pods = {
        p["metadata"]["labels"]["airflow-kaniko/image"]: p
        for p in recorder.pods.values()
        if p["metadata"].get("labels", {}).get("dag_id") == dag_id and "airflow-kaniko/image" in p["metadata"]["labels"]
    }
    report = dag_run["xcom"].get(("report", -1))
    world["runs"][name] = (report, pods, dag_run, result)
    return report, pods, dag_run, result


def rows(report):
    return {row["name"]: row for row in report["images"]}


def test_1_the_first_run_builds_every_image_and_fetches_the_remote_file(world, payload_server, runner, core, cluster):
    report, pods, dag_run, result = run(world, "first", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == sorted(ALL)
    by_name = rows(report)
    assert by_name["fetch"]["reason"] == f"always rebuilt (ADD {world['url']})"
    assert by_name["fetch"]["detail"]["fingerprint"] is None  # no fingerprint tag: nothing to skip on
    assert {n: by_name[n]["reason"] for n in SKIPPED} == dict.fromkeys(SKIPPED, "rebuilt (no previous build)")
    assert payload_server.gets >= 1  # the pod fetched it


def test_2_a_remote_add_is_rebuilt_every_run_while_the_unchanged_images_are_skipped(world, payload_server, runner, core, cluster):
    first = rows(world["runs"]["first"][0])
    gets = payload_server.gets
    with payload_server.lock:
        payload_server.payload = b"payload 2\n"  # what a moved remote file looks like
    report, pods, dag_run, result = run(world, "remote", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == ["fetch"]
    by_name = rows(report)
    assert by_name["fetch"]["reason"] == f"always rebuilt (ADD {world['url']})"
    assert by_name["fetch"]["digest"] != first["fetch"]["digest"]  # the new file is in the image
    assert not any(a.startswith("--cache") for a in pods["fetch"]["spec"]["containers"][0]["args"])
    assert payload_server.gets > gets
    for name in SKIPPED:
        assert by_name[name]["reason"].startswith("unchanged ("), by_name[name]
        assert by_name[name]["digest"] == first[name]["digest"]


def test_3_a_forged_fingerprint_tag_makes_the_next_run_rebuild(world, runner, core, cluster):
    before = rows(world["runs"]["remote"][0])
    fingerprint = before["hello"]["detail"]["fingerprint"]
    repo, registry = f"{world['prefix']}/hello", world["registry"]
    # Anyone with push rights can write a tag: here busybox, which carries no fingerprint label.
    forged = world["seeder"].copy("library/busybox", "latest", repo, [f"fp-{fingerprint}"])
    assert registry.digest(repo, f"fp-{fingerprint}") == forged != before["hello"]["digest"]
    report, pods, dag_run, result = run(world, "forged", runner, core, cluster)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == ["fetch", "hello"]
    by_name = rows(report)
    # Reproducible: the rebuild pushed the digest the forged tag hid.
    assert by_name["hello"]["reason"] == "rebuilt, identical (fingerprint tag did not match its image)"
    assert by_name["hello"]["digest"] == before["hello"]["digest"]
    assert by_name["app"]["reason"].startswith("unchanged (")
    # The fingerprint tag names the rebuilt image again, whose label the next run reads.
    assert registry.digest(repo, f"fp-{fingerprint}") == before["hello"]["digest"]
    labels = registry.config(repo, registry.manifest(repo, f"fp-{fingerprint}"))["config"]["Labels"]
    assert labels["dev.airflow-kaniko.fingerprint"] == fingerprint


def test_4_a_context_edited_after_prepare_fails_its_build_and_the_next_run_rebuilds_it(world, runner, core, cluster, monkeypatch):
    context = world["manifest"].parent / "hello"
    (context / "hello.sh").write_text((context / "hello.sh").read_text() + "# changed before the run\n")
    monkeypatch.setenv("E2E_EXACT_ROOT", str(world["dags"]))  # the test DAG's allowed root; the runner passes it on
    conf = {"images": ["hello"], "edit": "hello/hello.sh"}
    report, pods, dag_run, result = run(world, "edited", runner, core, cluster, dag_id=EXACT, dags=SCENARIOS, conf=conf)
    assert dag_run["state"] == "failed", result.text()[-4000:]
    assert dag_run["tasks"][("edit_context", -1)]["state"] == "success"
    assert dag_run["tasks"][("build", 0)]["state"] == "failed"
    assert pods == {}  # it failed before its pod
    (planned,) = [b["context_digest"] for b in dag_run["xcom"][("prepare", -1)]]
    packed = pack_context(context).tar_digest  # the edit the build task saw
    assert planned != packed
    detail = f"{context.resolve()} packs to {packed} but the plan fingerprinted {planned}"  # the path the operator packed
    row = rows(report)["hello"]
    assert row["status"] == "failed" and row["failure"] == {"kind": "context", "retryable": True, "detail": detail}
    assert (
        "KanikoContextChanged" in result.text()
        and f"The context of hello changed since it was planned: {detail}" in result.text()
    )

    # The next run of the maintenance DAG plans the context as it is now, and builds it.
    report, pods, dag_run, result = run(world, "replanned", runner, core, cluster, conf={"images": ["hello"]})
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert sorted(pods) == ["hello"]
    assert rows(report)["hello"]["reason"] == "rebuilt (context changed)"
    (build,) = dag_run["xcom"][("prepare", -1)]
    assert build["context_digest"] == packed


def test_5_a_base_tag_moved_after_prepare_still_builds_on_the_planned_digest(world, runner, core, cluster, monkeypatch):
    registry, seeder, prefix = world["registry"], world["seeder"], world["prefix"]
    planned = seeder.copy("library/busybox", "latest", f"{prefix}/base", ["1"])
    # What the tag moves to: hello's image, busybox plus hello's layers.
    moved = seeder.copy(f"{prefix}/hello", "latest", f"{prefix}/base", ["moved"])
    assert planned != moved
    base = f"{cluster.registry}/{prefix}/base:1"
    path = world["manifest"]
    original = path.read_text()
    manifest = yaml.safe_load(original)
    for entry in manifest["images"]:
        if entry["name"] == "hello":
            entry["build_args"] = {"BASE": base}
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    monkeypatch.setenv("E2E_EXACT_ROOT", str(world["dags"]))
    move = {"host": cluster.registry, "repository": f"{prefix}/base", "tag": "1", "digest": moved}
    try:
        report, pods, dag_run, result = run(
            world, "moved", runner, core, cluster, dag_id=EXACT, dags=SCENARIOS, conf={"images": ["hello"], "move_base": move}
        )
    finally:
        path.write_text(original)
    assert dag_run["state"] == "success", result.text()[-4000:]
    assert registry.digest(f"{prefix}/base", "1") == moved  # the tag had moved before the build ran
    (build,) = dag_run["xcom"][("prepare", -1)]
    assert build["base_pins"] == [{"line": 2, "written": "${BASE}", "pinned": f"{base}@{planned}"}]
    assert f"Base images pinned by digest in the packed Dockerfile: {base}@{planned}" in result.text()
    assert sorted(pods) == ["hello"]
    # ... on the executor prepare resolved: the local cluster's, by the digest its registry serves.
    executor = os.environ["LOCALKUBE_KANIKO_IMAGE"]
    _, executor_repository, executor_tag, _ = split(executor)
    (container,) = pods["hello"]["spec"]["containers"]
    assert container["image"] == f"{executor}@{registry.digest(executor_repository, executor_tag)}"
    row = rows(report)["hello"]
    image = registry.manifest(f"{prefix}/hello", row["digest"])
    config = registry.config(f"{prefix}/hello", image)
    assert config["config"]["Labels"]["org.opencontainers.image.base.digest"] == planned
    # Built on the planned image: busybox's layers plus the ones hello's Dockerfile adds, not the moved
    # tag's (busybox plus hello's). --reproducible rewrites every layer, the base's too, so layers are counted.
    busybox = registry.config(f"{prefix}/base", registry.manifest(f"{prefix}/base", planned))["rootfs"]["diff_ids"]
    moved_layers = registry.config(f"{prefix}/base", registry.manifest(f"{prefix}/base", moved))["rootfs"]["diff_ids"]
    added = len(moved_layers) - len(busybox)
    assert added > 0 and len(config["rootfs"]["diff_ids"]) == len(busybox) + added
