"""The planner against an in-memory registry: each decision, its reason, and exactly the requests it makes."""

from datetime import datetime, timedelta, timezone

import pytest

from airflow_kaniko.maintenance.planner import PlanError, level_builds, plan_next_level, prepare_plan
from airflow_kaniko.oci.reference import split
from tests.unit.maintenance.fake_registry import FakeRegistries

REG = "reg.example.com"
BASE = f"{REG}/library/busybox:latest"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
DOCKERFILE = "ARG BASE\nFROM ${BASE}\nCOPY . /app\n"


def image(tmp_path, name, base=BASE, **extra):
    context = tmp_path / name
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / "file.txt").write_text(name)
    destinations = [f"{REG}/demo/{name}:1", f"{REG}/demo/{name}:latest"]
    return {"image_name": name, "context": str(context), "destinations": destinations, "build_args": {"BASE": base}, **extra}


@pytest.fixture
def registries():
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 1")
    registries.calls.clear()
    return registries


def plan(builds, registries, **options):
    options.setdefault("now", NOW)
    return prepare_plan(builds, registries=registries, executor_image="kaniko:1", log=lambda _: None, **options)


def push_build(registries, state, seed="build 1"):
    """What the build of ``state`` pushes: one image under every destination of its build, with its labels."""
    build = state["build"]
    tags = [split(d)[2] for d in build["destinations"]]
    digest = registries.for_host(REG).push_image(f"demo/{state['name']}", tags, build["image_labels"], seed)
    registries.calls.clear()
    return digest


def looked_up(fingerprint, name="hello"):
    """The requests of an image whose base is resolved: the base's digest, then its fingerprint tag."""
    return [("digest", REG, "library/busybox", "latest"), ("digest", REG, f"demo/{name}", f"fp-{fingerprint}")]


def test_a_first_build_is_built_with_fingerprint_tags_after_looking_for_a_previous_one(tmp_path, registries):
    result = plan([image(tmp_path, "hello")], registries)
    state = result["plan"]["images"]["hello"]
    fp = state["fingerprint"]
    assert (state["status"], state["reason"], state["previous_digest"]) == ("build", {"kind": "first"}, None)
    assert registries.calls == [
        *looked_up(fp),
        ("manifest", REG, "demo/hello", "1"),
        ("manifest", REG, "demo/hello", "latest"),
    ]
    (build,) = result["builds"]
    assert build["destinations"] == [
        f"{REG}/demo/hello:1",
        f"{REG}/demo/hello:latest",
        f"{REG}/demo/hello:fp-{fp}",
        f"{REG}/demo/hello:fp-{fp}-20261201120000",
    ]


def test_an_unchanged_image_is_retagged_in_the_registry_and_not_built(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    first = plan(builds, registries)["plan"]["images"]["hello"]
    digest = push_build(registries, first)
    result = plan(builds, registries)
    state = result["plan"]["images"]["hello"]
    fp = state["fingerprint"]
    assert fp == first["fingerprint"]
    assert state["status"] == "unchanged" and result["builds"] == []
    assert state["reason"] == {"kind": "unchanged", "fingerprint": fp, "digest": digest}
    assert state["images"] == [f"{REG}/demo/hello:1@{digest}", f"{REG}/demo/hello:latest@{digest}"]
    assert registries.calls == [*looked_up(fp), ("retag", REG, "demo/hello", f"fp-{fp}", ("1", "latest"))]


def test_a_dry_run_retags_nothing(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    state = plan(builds, registries, dry_run=True)["plan"]["images"]["hello"]
    assert state["status"] == "unchanged"
    assert registries.calls == looked_up(state["fingerprint"])


def test_a_changed_context_is_rebuilt_and_says_so_from_the_last_builds_label(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    digest = push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    (tmp_path / "hello" / "file.txt").write_text("changed")
    state = plan(builds, registries)["plan"]["images"]["hello"]
    assert (state["status"], state["reason"], state["previous_digest"]) == ("build", {"kind": "context"}, digest)
    assert registries.calls == [
        *looked_up(state["fingerprint"]),
        ("manifest", REG, "demo/hello", "1"),
        ("config", REG, "demo/hello", digest),
    ]


def test_a_moved_base_is_rebuilt_naming_the_old_and_new_digest(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    old = registries.resolve(BASE)
    push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    new = registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 2")
    registries.calls.clear()
    result = plan(builds, registries)
    state = result["plan"]["images"]["hello"]
    assert state["reason"] == {"kind": "base", "bases": [{"reference": BASE, "old": old, "new": new}]}
    assert result["builds"][0]["base_images"] == [f"{BASE}@{new}"]
    assert result["builds"][0]["image_labels"]["org.opencontainers.image.base.digest"] == new


def test_forced_rebuilds_an_unchanged_image_without_reading_its_last_build(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    digest = push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    state = plan(builds, registries, force=True)["plan"]["images"]["hello"]
    assert (state["status"], state["reason"], state["previous_digest"]) == ("build", {"kind": "forced"}, digest)
    assert registries.calls == looked_up(state["fingerprint"])


@pytest.mark.parametrize(("age", "status"), [(timedelta(days=8), "build"), (timedelta(days=6), "unchanged")])
def test_max_age_rebuilds_a_build_older_than_it_from_the_stamp_tag(tmp_path, registries, age, status):
    builds = [image(tmp_path, "hello", cache=True)]
    push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    result = plan(builds, registries, now=NOW + age, max_age={"hello": timedelta(days=7)})
    state = result["plan"]["images"]["hello"]
    assert state["status"] == status
    assert state["reason"]["kind"] == ("max_age" if status == "build" else "unchanged")
    assert registries.calls[:3] == [*looked_up(state["fingerprint"]), ("tags", REG, "demo/hello")]
    if status == "build":
        assert "cache" not in result["builds"][0]  # a cached layer would hide the fixes max_age is for


def test_an_unresolvable_base_fails_the_plan_or_with_build_is_built_unverified(tmp_path, registries):
    registries.for_host(REG).failing.add("library/busybox")
    builds = [image(tmp_path, "hello")]
    message = (
        f"base image '${{BASE}}' = {BASE} (Dockerfile line 2) cannot be resolved: registry {REG}: unreachable after 3 attempt(s)"
    )
    with pytest.raises(PlanError) as raised:
        plan(builds, registries)
    assert str(raised.value) == f"image hello: {message}"
    registries.calls.clear()
    state = plan(builds, registries, on_registry_error="build")["plan"]["images"]["hello"]
    assert (state["status"], state["reason"], state["fingerprint"]) == ("build", {"kind": "unverified", "detail": message}, None)
    assert registries.calls == [("digest", REG, "library/busybox", "latest")]  # no fingerprint without the base


def test_an_image_on_a_parent_being_rebuilt_waits_then_builds_on_the_parents_new_digest(tmp_path, registries):
    builds = [image(tmp_path, "app"), image(tmp_path, "shell", base=f"{REG}/demo/app:latest")]
    result = plan(builds, registries)
    p = result["plan"]
    assert p["levels"] == [["app"], ["shell"]]
    assert (p["images"]["shell"]["status"], p["images"]["shell"]["reason"]) == ("pending", None)
    assert [b["image_name"] for b in result["builds"]] == ["app"]
    assert registries.calls == [  # app's requests only: shell waits for app's new digest
        *looked_up(p["images"]["app"]["fingerprint"], "app"),
        ("manifest", REG, "demo/app", "1"),
        ("manifest", REG, "demo/app", "latest"),
    ]
    registries.calls.clear()
    digest = "sha256:" + "a" * 64
    app_result = {"digest": digest, "images": [f"{REG}/demo/app:1@{digest}", f"{REG}/demo/app:latest@{digest}"]}
    level = plan_next_level(p, 1, [app_result], registries=registries, log=lambda _: None)
    shell = p["images"]["shell"]
    assert (shell["status"], shell["reason"]) == ("build", {"kind": "parent", "parents": ["app"]})
    (build,) = level["builds"]
    assert build["build_args"]["BASE"] == f"{REG}/demo/app@{digest}"  # exactly what this run pushed
    assert registries.calls == [
        ("digest", REG, "demo/shell", f"fp-{shell['fingerprint']}"),  # its base is app's digest: nothing to resolve
        ("manifest", REG, "demo/shell", "1"),
        ("manifest", REG, "demo/shell", "latest"),
    ]


def test_a_multi_arch_image_is_one_build_per_platform_and_its_last_index_explains_the_change(tmp_path, registries):
    builds = [image(tmp_path, "multi", platforms=["linux/amd64", "linux/arm64"])]
    first = plan(builds, registries)
    assert [b["platform"] for b in level_builds(first["plan"], 0)] == ["linux/amd64", "linux/arm64"]
    build = first["plan"]["images"]["multi"]["build"]
    host = registries.for_host(REG)
    amd = host.push_image("demo/multi", [], build["image_labels"], "amd64")
    index = host.push_index("demo/multi", [split(d)[2] for d in build["destinations"]], [amd, "sha256:" + "b" * 64])
    registries.calls.clear()
    (tmp_path / "multi" / "file.txt").write_text("changed")
    state = plan(builds, registries)["plan"]["images"]["multi"]
    assert (state["status"], state["reason"], state["previous_digest"]) == ("build", {"kind": "context"}, index)
    assert registries.calls == [
        *looked_up(state["fingerprint"], "multi"),
        ("manifest", REG, "demo/multi", "1"),
        ("manifest", REG, "demo/multi", amd),  # an index: its first platform's labels speak for it
        ("config", REG, "demo/multi", amd),
    ]
    (tmp_path / "single").mkdir()
    single = image(tmp_path / "single", "multi")
    (tmp_path / "single" / "multi" / "file.txt").write_text("changed")
    assert state["fingerprint"] != plan([single], registries)["plan"]["images"]["multi"]["fingerprint"]  # platforms count
