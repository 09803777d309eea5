"""Registry hygiene on the local registry (Debian's docker-registry, distribution 2.8: no delete by tag):
after several forced maintenance runs, at most ``keep_stamped_tags`` stamped tags and no staging tag remain
per image, every tag the manifest names still resolves, and the multi-arch index keeps its platforms
(issue 18, item 6)."""

import re
import shutil
import uuid

import pytest
import yaml

from airflow_kaniko.oci.platforms import INDEX_MEDIA_TYPE
from airflow_kaniko.oci.registry_client import Credentials, Registry
from tests.conftest import ROOT
from tests.e2e.multiarch_base import push_base
from tests.e2e.test_maintenance import rows, run

RUNS = 4
KEEP = 2
STAMP = re.compile(r"fp-[0-9a-f]{64}-[0-9]{14}")
STAGING = re.compile(r".*-linux-(amd64|arm64)")


@pytest.fixture(scope="module")
def world(cluster, tmp_path_factory):
    prefix = f"e2e-hygiene-{uuid.uuid4().hex[:8]}"
    push_base(cluster, f"{prefix}/busybox")
    root = tmp_path_factory.mktemp("hygiene") / "dags"
    shutil.copytree(ROOT / "dags", root, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests" / "e2e" / "images" / "multiarch", root / "images" / "multiarch")
    path = root / "images" / "images.yaml"
    base = {"BASE": f"{{registry}}/{prefix}/busybox:latest"}
    manifest = {
        "version": 1,
        "registry_ca": {"config_map": "registry-ca"},
        "registry_cleanup": {"keep_stamped_tags": KEEP},
        "defaults": {"tags": ["{date}", "latest"]},
        "images": [
            {"name": "single", "context": "hello", "repository": f"{prefix}/single", "build_args": base},
            {
                "name": "multi",
                "context": "multiarch",
                "repository": f"{prefix}/multi",
                "build_args": base,
                "platforms": ["linux/amd64", "linux/arm64"],
                "platform_node_selector": False,  # the one node is amd64; COPY/ENV/LABEL need no arm64 node
            },
        ],
    }
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    registry = Registry(cluster.registry, credentials=Credentials(*cluster.credentials()), ca_file=cluster.registry_ca)
    yield {"prefix": prefix, "manifest": path, "dags": root, "registry": registry, "runs": {}}
    registry.close()


def test_forced_runs_leave_at_most_n_stamped_tags_no_staging_tag_and_every_named_tag(world, runner, core, cluster):
    registry, prefix = world["registry"], world["prefix"]
    stamps_seen: dict[str, set[str]] = {"single": set(), "multi": set()}
    for number in range(RUNS):
        report, _, dag_run, result = run(world, f"forced-{number}", runner, core, cluster, conf={"force": True})
        assert dag_run["state"] == "success", result.text()[-4000:]
        for name in stamps_seen:
            stamps_seen[name] |= {t for t in registry.tags(f"{prefix}/{name}") if STAMP.fullmatch(t)}
    by_name = rows(report)
    for name in ("single", "multi"):
        row, repo = by_name[name], f"{prefix}/{name}"
        assert row["reason"] == "rebuilt, identical (forced)"  # reproducible: the same digest each run
        tags = registry.tags(repo)
        stamps = sorted(t for t in tags if STAMP.fullmatch(t))
        # One stamp per run was pushed; the newest KEEP remain (the last run's among them).
        assert len(stamps_seen[name]) == RUNS and stamps == sorted(stamps_seen[name])[-KEEP:], tags
        assert [t for t in tags if STAGING.fullmatch(t)] == []
        # Every tag the manifest names, and the fingerprint tag, still name this run's image.
        pushed = [tag_of(image) for image in row["images"]]  # the build's: named tags, then fp- and the stamp
        named = [tag for tag in pushed if not tag.startswith("fp-")]
        assert len(named) == 2  # {date} and latest
        for tag in [*named, f"fp-{row['detail']['fingerprint']}"]:
            assert registry.digest(repo, tag) == row["digest"], (repo, tag)
        # The last run deleted the stamp that fell out of the newest KEEP (and a multi-arch image's staging tags).
        deleted = row["cleanup"]["deleted"]
        assert row["cleanup"]["warnings"] == []
        assert sum(bool(STAMP.fullmatch(t.rsplit(":", 1)[1])) for t in deleted) == 1, deleted
    first_tag = tag_of(by_name["multi"]["images"][0])
    staged = sorted(t for t in by_name["multi"]["cleanup"]["deleted"] if STAGING.fullmatch(t))
    assert staged == [f"{prefix}/multi:{first_tag}-linux-amd64", f"{prefix}/multi:{first_tag}-linux-arm64"]
    # The index still resolves with both platform manifests, though their staging tags are gone.
    repo = f"{prefix}/multi"
    index = registry.manifest(repo, "latest")
    assert index.media_type == INDEX_MEDIA_TYPE and index.digest == by_name["multi"]["digest"]
    for entry in index.json()["manifests"]:
        platform_manifest = registry.manifest(repo, entry["digest"])
        assert platform_manifest is not None, entry
        assert registry.config(repo, platform_manifest)["architecture"] == entry["platform"]["architecture"]


def tag_of(image):
    """The tag of ``host:port/repo:tag@sha256:…``."""
    return image.split("@")[0].rsplit(":", 1)[1]


def test_delete_tag_on_the_local_registry_removes_that_tag_alone(world):
    """Distribution 2.8 has no delete by tag and deletes every tag of a digest: the tombstone leaves the others."""
    registry, repo = world["registry"], f"{world['prefix']}/single"
    digest = registry.retag(repo, "latest", ["hygiene-a", "hygiene-b"])
    assert registry.delete_tag(repo, "hygiene-a", expected=digest) == "deleted"
    assert registry.digest(repo, "hygiene-a") is None
    assert registry.digest(repo, "hygiene-b") == digest == registry.digest(repo, "latest")
    assert registry.manifest(repo, digest) is not None
    assert registry.delete_tag(repo, "hygiene-a") == "absent"
    assert registry.delete_tag(repo, "hygiene-b", expected="sha256:" + "0" * 64) == "moved"
    assert "hygiene-b" in registry.tags(repo)
