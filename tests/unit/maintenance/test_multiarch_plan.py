"""A multi-arch image in the maintenance plan: one build per platform, one merge, one result per image."""

import json

import pytest

from airflow_kaniko.maintenance.planner import absorb, finish, level_builds, plan_next_level, push_level_indexes
from airflow_kaniko.maintenance.reasons import Reason
from airflow_kaniko.maintenance.report import summarize_plan
from airflow_kaniko.oci.registry_protocol import RegistryError
from tests.unit.operators.test_platforms import REG, MemoryRegistry

R = "10.244.77.1:5000/demo"
PLATFORMS = ["linux/amd64", "linux/arm64"]


def state(name, level, status, platforms=None, parents=()):
    kwargs = {"image_name": name, "destinations": [f"{R}/{name}:1", f"{R}/{name}:fp-x"], "platform_node_selector": False}
    if platforms:
        kwargs["platforms"] = platforms
    return {
        "name": name,
        "level": level,
        "status": status,
        "reason": Reason("first").to_dict() if status == "build" else None,
        "parents": list(parents),
        "fingerprint": "f" * 64,
        "digest": None,
        "previous_digest": None,
        "kwargs": kwargs,
        "build": dict(kwargs) if status == "build" else None,
        "images": [],
        "bases": [],
    }


def plan():
    return {
        "dry_run": False,
        "levels": [["multi", "single"], ["child"]],
        "images": {
            "multi": state("multi", 0, "build", PLATFORMS),
            "single": state("single", 0, "build"),
            "child": state("child", 1, "pending", parents=["multi"]),
        },
    }


def test_a_multi_arch_image_is_one_build_per_platform_and_a_single_one_has_no_platform_keys():
    builds = level_builds(plan(), 0)
    assert [(b["image_name"], b.get("platform")) for b in builds] == [
        ("multi", "linux/amd64"),
        ("multi", "linux/arm64"),
        ("single", None),
    ]
    assert all("platforms" not in b for b in builds)
    assert builds[0]["platform_node_selector"] is False and "platform_node_selector" not in builds[2]
    assert builds[0]["destinations"] == [f"{R}/multi:1", f"{R}/multi:fp-x"]  # the operator derives the staging tags


def platform_result(platform, digest):
    return {"digest": digest, "images": [], "platform": platform, "destinations": [f"{R}/multi:1", f"{R}/multi:fp-x"]}


def test_merge_pushes_the_index_under_final_and_fingerprint_tags_and_the_child_builds_on_it():
    registry = MemoryRegistry()
    registry.for_host = lambda host: registry
    amd, arm = registry.add_image("demo/multi", "linux", "amd64"), registry.add_image("demo/multi", "linux", "arm64")
    p = plan()
    builds = [
        platform_result("linux/amd64", amd),
        platform_result("linux/arm64", arm),
        {"digest": "sha256:" + "5" * 64, "images": [f"{R}/single:1@sha256:" + "5" * 64]},
    ]
    merged = push_level_indexes(p, 0, builds, registries=registry, log=lambda _: None)
    index = registry.manifests["demo/multi", "fp-x"]
    assert [m["digest"] for m in json.loads(index.body)["manifests"]] == [amd, arm]
    assert [tag for _, tag, _ in registry.puts] == ["1", "fp-x"]
    assert merged == [
        {
            "digest": index.digest,
            "images": [f"{R}/multi:1@{index.digest}", f"{R}/multi:fp-x@{index.digest}"],
            "platforms": {"linux/amd64": amd, "linux/arm64": arm},
            "destinations": [f"{R}/multi:1", f"{R}/multi:fp-x"],
        }
    ]
    absorb(p, [*builds, *merged], through_level=0)
    assert (p["images"]["multi"]["status"], p["images"]["multi"]["digest"]) == ("rebuilt", index.digest)
    assert p["images"]["multi"]["platform_digests"] == {"linux/amd64": amd, "linux/arm64": arm}
    assert p["images"]["single"]["status"] == "rebuilt"
    # The report lists the platforms, and the per-platform digests in the detail.
    row = next(r for r in summarize_plan(finish(p, [*builds, *merged])).rows if r.name == "multi")
    assert row.label == "multi [linux/amd64, linux/arm64]" and row.detail["platform_digests"]["linux/arm64"] == arm


def test_platform_results_alone_never_count_as_the_image():
    p = plan()
    absorb(
        p,
        [platform_result("linux/amd64", "sha256:" + "1" * 64), platform_result("linux/arm64", "sha256:" + "2" * 64)],
        through_level=0,
    )
    assert p["images"]["multi"]["status"] == "failed"  # no merge result: the index was never pushed


def test_a_failed_platform_fails_the_image_pushes_nothing_and_its_child_is_not_built():
    registry = MemoryRegistry()
    registry.for_host = lambda host: registry
    amd = registry.add_image("demo/multi", "linux", "amd64")
    failed = {
        "failed": True,
        "failure": {"kind": "dockerfile", "retryable": False, "detail": "exec format error"},
        "platform": "linux/arm64",
        "destinations": [f"{R}/multi:1", f"{R}/multi:fp-x"],
    }
    p = plan()
    merged = push_level_indexes(p, 0, [platform_result("linux/amd64", amd), failed], registries=registry, log=lambda _: None)
    assert registry.puts == []
    assert merged == [
        {
            "failed": True,
            "failure": {"kind": "platform", "retryable": False, "detail": "linux/arm64: dockerfile: exec format error"},
            "destinations": [f"{R}/multi:1", f"{R}/multi:fp-x"],
        }
    ]
    result = plan_next_level(
        p, 1, [platform_result("linux/amd64", amd), failed, *merged], registries=registry, log=lambda _: None
    )
    assert p["images"]["multi"]["status"] == "failed"
    assert p["images"]["child"]["status"] == "parent_failed" and result["builds"] == []


def test_dry_run_merges_nothing():
    p = {**plan(), "dry_run": True}
    assert push_level_indexes(p, 0, [], registries=None) == []


def test_the_last_build_of_a_multi_arch_image_is_its_index_and_its_inputs_are_a_platforms_label():
    from airflow_kaniko.maintenance.fingerprint import INPUTS_LABEL
    from airflow_kaniko.maintenance.planner import _last_build
    from airflow_kaniko.oci.index_push import push_index

    registry = MemoryRegistry()
    registry.for_host = lambda host: registry
    amd, arm = registry.add_image("demo/multi", "linux", "amd64"), registry.add_image("demo/multi", "linux", "arm64")
    summary = {"bases": {}, "context": "sha256:" + "c" * 64, "settings": {"platforms": PLATFORMS}}
    for digest in (amd, arm):
        registry.configs[digest]["config"] = {"Labels": {INPUTS_LABEL: json.dumps(summary)}}
    index = push_index(registry, [f"{R}/multi:1"], {"linux/amd64": amd, "linux/arm64": arm}, log=lambda _: None)
    assert _last_build(registry, "demo/multi", [f"{R}/multi:1"]) == (index, summary)


def test_multi_arch_builds_names_the_images_a_merge_step_pushes():
    from airflow_kaniko.maintenance.planner import multi_arch_builds

    p = plan()
    assert multi_arch_builds(p, 0) == ["multi"]
    assert multi_arch_builds(p, 1) == []  # child is single-platform (and still pending)
    assert multi_arch_builds(p, 2) == []  # past the last level
    p["images"]["multi"]["status"] = "unchanged"
    assert multi_arch_builds(p, 0) == []
    assert multi_arch_builds({**plan(), "dry_run": True}, 0) == []


def test_the_merge_task_skips_a_level_without_multi_arch_builds_before_reading_any_connection():
    from airflow.sdk.exceptions import AirflowSkipException
    from airflow_kaniko.tasks import maintenance

    # No connection exists in this test: the task must skip before looking one up.
    with pytest.raises(AirflowSkipException, match="level 1 builds no multi-arch image: nothing to merge"):
        maintenance.merge_level_task(plan(), 1, [], registry_conn_id="no_such_connection")


def test_the_merge_task_emits_the_index_event_with_the_reason_redacted(monkeypatch):
    import airflow.sdk
    from airflow.sdk import AssetAlias
    from airflow_kaniko.oci.registry_client import Credentials, Registries
    from airflow_kaniko.tasks import maintenance

    registry = MemoryRegistry()
    amd, arm = registry.add_image("demo/multi", "linux", "amd64"), registry.add_image("demo/multi", "linux", "arm64")

    class Clients(Registries):
        def for_host(self, host):
            return registry

    # The connection's password, echoed in a registry's error text that became the reason (kind "unverified").
    monkeypatch.setattr(maintenance, "registries", lambda *a: Clients({"10.244.77.1:5000": Credentials("bot", "pw-merge")}))
    p = plan()
    p["images"]["multi"]["build"]["build_reason"] = {"kind": "unverified", "detail": "registry refused pw-merge"}

    added = []

    class Accessor:
        def add(self, asset, extra):
            added.append((asset.uri, extra))

    alias = AssetAlias("kaniko-images")
    context = {"outlet_events": {alias: Accessor()}, "task": type("T", (), {"outlets": [alias]})()}
    monkeypatch.setattr(airflow.sdk, "get_current_context", lambda: context)
    builds = [platform_result("linux/amd64", amd), platform_result("linux/arm64", arm)]
    (merged,) = maintenance.merge_level_task(p, 0, builds, registry_conn_id="kaniko_registry")
    ((uri, extra),) = added
    assert uri == f"oci://{R}/multi" and extra["digest"] == merged["digest"]
    assert extra["reason"] == {"kind": "unverified", "detail": "registry refused ***"}


class FlakyRegistry(MemoryRegistry):
    """Its PUT of a tag fails as many times as ``failures[tag]`` says (then succeeds)."""

    def __init__(self, failures):
        super().__init__()
        self.failures = dict(failures)
        self.for_host = lambda host: self

    def put_manifest(self, repository, tag, manifest):
        if self.failures.get(tag, 0) > 0:
            self.failures[tag] -= 1
            self.puts.append((repository, tag, "failed"))
            raise RegistryError(REG, f"{repository}:{tag}", "HTTP 503 after 3 attempt(s)", 503)
        super().put_manifest(repository, tag, manifest)


FP = "f" * 64
INDEXED = [f"{R}/multi:1", f"{R}/multi:fp-{FP}", f"{R}/multi:fp-{FP}-20261201120000", f"{R}/multi:latest"]


def test_an_index_push_that_fails_part_way_is_tried_again_and_the_fingerprint_tag_goes_last():
    from airflow_kaniko.oci.index_push import push_index

    registry = FlakyRegistry({"latest": 2})
    amd, arm = registry.add_image("demo/multi", "linux", "amd64"), registry.add_image("demo/multi", "linux", "arm64")
    digest = push_index(
        registry, INDEXED, {"linux/amd64": amd, "linux/arm64": arm}, log=lambda _: None, last=[INDEXED[1]], pause=0
    )
    assert [(tag, d == digest) for _, tag, d in registry.puts] == [
        ("1", True),
        (f"fp-{FP}-20261201120000", True),
        ("latest", False),
        ("latest", False),
        ("latest", True),
        (f"fp-{FP}", True),
    ]


def test_an_index_push_that_keeps_failing_leaves_the_fingerprint_tag_on_the_previous_build(monkeypatch):
    from airflow_kaniko.oci import index_push

    pauses = []
    monkeypatch.setattr(index_push.time, "sleep", pauses.append)
    registry = FlakyRegistry({"latest": 3})
    amd, arm = registry.add_image("demo/multi", "linux", "amd64"), registry.add_image("demo/multi", "linux", "arm64")
    p = plan()
    p["images"]["multi"]["build"] |= {"destinations": INDEXED, "fingerprint": FP}
    builds = [
        {"digest": d, "images": [], "platform": platform, "destinations": INDEXED}
        for platform, d in (("linux/amd64", amd), ("linux/arm64", arm))
    ]
    (failed,) = push_level_indexes(p, 0, builds, registries=registry, log=lambda _: None)
    assert [tag for _, tag, _ in registry.puts] == ["1", f"fp-{FP}-20261201120000", "latest", "latest", "latest"]
    assert ("demo/multi", f"fp-{FP}") not in registry.manifests  # the next run does not find it built
    assert failed["failure"]["kind"] == "push" and failed["failure"]["retryable"] is True
    assert pauses == [1.0, 2.0]
    assert failed["failure"]["detail"] == (
        f"registry {REG}: demo/multi:latest: HTTP 503 after 3 attempt(s); tried 3 times; "
        f"tags written before it: {R}/multi:1, {R}/multi:fp-{FP}-20261201120000"
    )
