"""The planner against an in-memory registry: each decision, its reason, and exactly the requests it makes."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airflow_kaniko.maintenance.planner import PlanError, level_builds, plan_next_level, prepare_plan
from airflow_kaniko.maintenance.reasons import Reason
from airflow_kaniko.oci.reference import split
from airflow_kaniko.oci.registry_protocol import RegistryError
from tests.unit.maintenance.fake_registry import FakeRegistries, served

REG = "reg.example.com"
BASE = f"{REG}/library/busybox:latest"
# Pinned, so the request lists below are the images' alone; a tag is resolved (the executor tests at the end).
EXECUTOR = f"{REG}/kaniko/executor:v1@sha256:" + "e" * 64
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
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
    return prepare_plan(builds, registries=registries, executor_image=EXECUTOR, log=lambda _: None, **options)


def push_build(registries, state, seed="build 1"):
    """What the build of ``state`` pushes: one image under every destination of its build, with its labels."""
    build = state["build"]
    tags = [split(d)[2] for d in build["destinations"]]
    digest = registries.for_host(REG).push_image(f"demo/{state['name']}", tags, build["image_labels"], seed)
    registries.calls.clear()
    return digest


def looked_up(fingerprint, name="hello", found=None):
    """The requests of a plan of one image whose base is resolved: the base's digest, then its fingerprint
    tag, and when that tag is there, the config whose label must carry the fingerprint."""
    base, tag = ("digest", REG, "library/busybox", "latest"), ("manifest", REG, f"demo/{name}", f"fp-{fingerprint}")
    return [base, tag] + ([("config", REG, f"demo/{name}", found)] if found else [])


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
    assert registries.calls == [*looked_up(fp, found=digest), ("retag", REG, "demo/hello", digest, ("1", "latest"))]


def test_a_dry_run_retags_nothing(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    digest = push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    state = plan(builds, registries, dry_run=True)["plan"]["images"]["hello"]
    assert state["status"] == "unchanged"
    assert registries.calls == looked_up(state["fingerprint"], found=digest)


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
    assert registries.calls == looked_up(state["fingerprint"], found=digest)


@pytest.mark.parametrize(("age", "status"), [(timedelta(days=8), "build"), (timedelta(days=6), "unchanged")])
def test_max_age_rebuilds_a_build_older_than_it_from_the_stamp_tag(tmp_path, registries, age, status):
    builds = [image(tmp_path, "hello", cache=True)]
    digest = push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    result = plan(builds, registries, now=NOW + age, max_age={"hello": timedelta(days=7)})
    state = result["plan"]["images"]["hello"]
    assert state["status"] == status
    assert state["reason"]["kind"] == ("max_age" if status == "build" else "unchanged")
    assert registries.calls[:4] == [*looked_up(state["fingerprint"], found=digest), ("tags", REG, "demo/hello")]
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
    # No fingerprint without the base.
    assert registries.calls == [("digest", REG, "library/busybox", "latest")]


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
        ("manifest", REG, "demo/shell", f"fp-{shell['fingerprint']}"),  # its base is app's digest: nothing to resolve
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


# -- issue 18 ------------------------------------------------------------------------------------


def remote_image(tmp_path, name, dockerfile, **extra):
    build = image(tmp_path, name, **extra)
    (tmp_path / name / "Dockerfile").write_text(dockerfile)
    return build


def test_an_add_of_a_url_is_rebuilt_every_run_without_cache_while_the_rest_is_skipped(tmp_path, registries):
    url = "https://user:s3cret@files.example.com/tool.tgz?sig=s3cret"
    dockerfile = f"ARG BASE\nFROM ${{BASE}}\nARG URL={url}\nADD ${{URL}} /opt/\n"
    builds = [remote_image(tmp_path, "fetch", dockerfile, cache=True), image(tmp_path, "hello")]
    first = plan(builds, registries)["plan"]
    push_build(registries, first["images"]["fetch"])
    push_build(registries, first["images"]["hello"])
    result = plan(builds, registries)
    fetch, hello = result["plan"]["images"]["fetch"], result["plan"]["images"]["hello"]
    assert (hello["status"], fetch["status"]) == ("unchanged", "build")
    reason = Reason.from_dict(fetch["reason"])
    assert fetch["reason"] == {"kind": "remote_source", "detail": "https://***@files.example.com/tool.tgz?***"}
    assert reason.text() == "always rebuilt (ADD https://***@files.example.com/tool.tgz?***)"
    assert fetch["fingerprint"] is None and "cache" not in result["builds"][0]  # the cache key leaves the file out
    assert not any(call[2] == "demo/fetch" and call[3].startswith("fp-") for call in registries.calls)  # no lookup
    assert "s3cret" not in json.dumps(result)


@pytest.mark.parametrize(
    ("dockerfile", "build_args", "shown"),
    [
        ("ARG BASE\nFROM ${BASE}\nARG SRC=app.tgz\nADD ${SRC} /app/\n", {"SRC": "https://a.example/x"}, "https://a.example/x"),
        ("ARG BASE\nFROM ${BASE}\nADD git@github.com:org/repo.git /src\n", {}, "***@github.com:org/repo.git"),
        (
            "ARG BASE\nFROM ${BASE}\nADD https://github.com/org/repo.git#v1 https://a.example/y /src/\n",
            {},
            "https://github.com/org/repo.git#v1 and 1 more",
        ),
    ],
)
def test_a_remote_add_through_a_build_arg_or_of_a_git_repository_is_always_rebuilt(
    tmp_path, registries, dockerfile, build_args, shown
):
    build = remote_image(tmp_path, "fetch", dockerfile)
    build["build_args"] = {**build["build_args"], **build_args}
    state = plan([build], registries, force=True)["plan"]["images"]["fetch"]
    assert state["reason"] == {"kind": "remote_source", "detail": shown}  # before forced: the stronger reason


def forge(registries, fp, labels, tag_prefix="fp-"):
    digest = registries.for_host(REG).push_image("demo/hello", [f"{tag_prefix}{fp}"], labels, seed="forged")
    registries.calls.clear()
    return digest


@pytest.mark.parametrize(
    "labels", [{"dev.airflow-kaniko.fingerprint": "0" * 64}, {}], ids=["another fingerprint", "no fingerprint label"]
)
def test_a_fingerprint_tag_on_an_image_without_that_fingerprint_is_rebuilt_not_retagged(tmp_path, registries, labels):
    builds = [image(tmp_path, "hello")]
    first = plan(builds, registries)["plan"]["images"]["hello"]
    built = push_build(registries, first)
    forged = forge(registries, first["fingerprint"], labels)
    state = plan(builds, registries)["plan"]["images"]["hello"]
    assert (state["status"], state["reason"], state["previous_digest"]) == ("build", {"kind": "tag_mismatch"}, built)
    assert Reason.from_dict(state["reason"]).text() == "rebuilt (fingerprint tag did not match its image)"
    assert registries.calls == [
        *looked_up(state["fingerprint"], found=forged),
        ("manifest", REG, "demo/hello", "1"),  # the last build, for the previous digest
        ("config", REG, "demo/hello", built),
    ]


def test_a_fingerprint_tag_on_an_image_whose_config_is_missing_is_rebuilt(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    first = plan(builds, registries)["plan"]["images"]["hello"]
    push_build(registries, first)
    registries.for_host(REG).configs.clear()  # every config blob gone: the registry answers 404
    assert plan(builds, registries)["plan"]["images"]["hello"]["reason"] == {"kind": "tag_mismatch"}


def test_a_fingerprint_tag_on_a_manifest_without_a_config_is_rebuilt(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    fp = plan(builds, registries)["plan"]["images"]["hello"]["fingerprint"]
    host = registries.for_host(REG)
    host._store("demo/hello", [f"fp-{fp}"], served({"schemaVersion": 2, "layers": []}))
    registries.calls.clear()
    assert plan(builds, registries)["plan"]["images"]["hello"]["reason"] == {"kind": "tag_mismatch"}


def test_a_registry_that_cannot_answer_the_label_read_fails_the_plan(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    push_build(registries, plan(builds, registries)["plan"]["images"]["hello"])
    host = registries.for_host(REG)

    def unreachable(repository, manifest):
        raise RegistryError(REG, repository, "unreachable after 3 attempt(s)")

    host.config = unreachable
    with pytest.raises(RegistryError, match="unreachable"):
        plan(builds, registries)


def multi_arch_built(tmp_path, registries, platform_labels):
    """A multi-arch image built once: its index under every tag, each platform image with the labels given."""
    builds = [image(tmp_path, "multi", platforms=["linux/amd64", "linux/arm64"])]
    build = plan(builds, registries)["plan"]["images"]["multi"]["build"]
    host = registries.for_host(REG)
    digests = [host.push_image("demo/multi", [], build["image_labels"] | extra, seed) for seed, extra in platform_labels]
    index = host.push_index("demo/multi", [split(d)[2] for d in build["destinations"]], digests)
    registries.calls.clear()
    return builds, index, digests


def test_an_unchanged_multi_arch_image_is_retagged_once_every_platform_carries_its_fingerprint(tmp_path, registries):
    builds, index, (amd, arm) = multi_arch_built(tmp_path, registries, [("amd64", {}), ("arm64", {})])
    state = plan(builds, registries)["plan"]["images"]["multi"]
    fp = state["fingerprint"]
    assert (state["status"], state["digest"]) == ("unchanged", index)
    assert registries.calls == [
        ("digest", REG, "library/busybox", "latest"),
        ("manifest", REG, "demo/multi", f"fp-{fp}"),
        ("manifest", REG, "demo/multi", amd),
        ("config", REG, "demo/multi", amd),
        ("manifest", REG, "demo/multi", arm),
        ("config", REG, "demo/multi", arm),
        ("retag", REG, "demo/multi", index, ("1", "latest")),
    ]


def test_a_multi_arch_index_with_a_platform_image_without_the_fingerprint_is_rebuilt(tmp_path, registries):
    forged = {"dev.airflow-kaniko.fingerprint": "0" * 64}
    builds, index, (amd, arm) = multi_arch_built(tmp_path, registries, [("amd64", {}), ("arm64", forged)])
    state = plan(builds, registries)["plan"]["images"]["multi"]
    assert (state["status"], state["reason"], state["previous_digest"]) == ("build", {"kind": "tag_mismatch"}, index)


def test_a_single_image_under_a_multi_arch_fingerprint_tag_is_rebuilt(tmp_path, registries):
    builds = [image(tmp_path, "multi", platforms=["linux/amd64", "linux/arm64"])]
    build = plan(builds, registries)["plan"]["images"]["multi"]["build"]
    tags = [split(d)[2] for d in build["destinations"]]
    registries.for_host(REG).push_image("demo/multi", tags, build["image_labels"], "one image, labelled")
    registries.calls.clear()
    assert plan(builds, registries)["plan"]["images"]["multi"]["reason"] == {"kind": "tag_mismatch"}


def test_after_the_upgrade_each_image_rebuilds_once_for_the_fingerprint_format(tmp_path, registries):
    builds = [image(tmp_path, "hello")]
    state = plan(builds, registries)["plan"]["images"]["hello"]
    labels = dict(state["build"]["image_labels"])
    summary = json.loads(labels["dev.airflow-kaniko.inputs"])
    del summary["version"]  # as version 1 wrote it
    labels["dev.airflow-kaniko.inputs"] = json.dumps(summary)
    registries.for_host(REG).push_image("demo/hello", ["1", "latest"], labels, seed="0.0.x")
    registries.calls.clear()
    state = plan(builds, registries)["plan"]["images"]["hello"]
    assert state["reason"] == {"kind": "settings", "detail": "fingerprint format"}
    assert Reason.from_dict(state["reason"]).text() == "rebuilt (build settings changed: fingerprint format)"


LAST_BUILD = [("manifest", REG, "demo/hello", "1"), ("manifest", REG, "demo/hello", "latest")]  # a first build's


def test_an_executor_tag_is_resolved_fingerprinted_by_digest_and_every_build_runs_on_it(tmp_path, registries):
    tag = f"{REG}/kaniko/executor:v1"
    digest = registries.for_host(REG).push_image("kaniko/executor", ["v1"], seed="executor 1")
    registries.calls.clear()
    builds = [image(tmp_path, "hello")]
    result = prepare_plan(builds, registries=registries, executor_image=tag, now=NOW, log=lambda _: None)
    state = result["plan"]["images"]["hello"]
    assert result["builds"][0]["executor_image"] == f"{tag}@{digest}"
    inputs = json.loads(state["build"]["image_labels"]["dev.airflow-kaniko.inputs"])
    assert inputs["settings"]["executor_image"] == f"{tag}@{digest}"
    base, *lookup = looked_up(state["fingerprint"])  # the bases first, then the executor
    assert registries.calls == [base, ("digest", REG, "kaniko/executor", "v1"), *lookup, *LAST_BUILD]

    # The tag re-pushed: a changed input, named as such.
    push_build(registries, state)
    moved = registries.for_host(REG).push_image("kaniko/executor", ["v1"], seed="executor 2")
    result = prepare_plan(builds, registries=registries, executor_image=tag, now=NOW, log=lambda _: None)
    state = result["plan"]["images"]["hello"]
    assert result["builds"][0]["executor_image"] == f"{tag}@{moved}"
    assert Reason.from_dict(state["reason"]).text() == "rebuilt (build settings changed: executor_image)"


def test_an_executor_that_cannot_be_resolved_fails_the_plan_or_with_build_makes_every_image_unverified(tmp_path, registries):
    tag = f"{REG}/kaniko/executor:v9"  # not in the registry
    builds = [image(tmp_path, "hello"), image(tmp_path, "app")]
    with pytest.raises(PlanError, match=rf"^executor image {tag} cannot be resolved: registry {REG}: "):
        prepare_plan(builds, registries=registries, executor_image=tag, now=NOW, log=lambda _: None)
    lines = []
    result = prepare_plan(builds, registries=registries, executor_image=tag, now=NOW, on_registry_error="build", log=lines.append)
    assert [b["image_name"] for b in result["builds"]] == ["hello", "app"]
    assert all("executor_image" not in b for b in result["builds"])  # the operator's tag, as configured
    for name in ("hello", "app"):
        reason = Reason.from_dict(result["plan"]["images"][name]["reason"])
        assert reason.kind == "unverified" and reason.detail.startswith(f"executor image {tag} cannot be resolved")
    assert lines[0].startswith(f"WARNING executor image {tag} cannot be resolved") and "on_registry_error=build" in lines[0]


def test_an_executor_pinned_by_digest_is_passed_to_the_builds_without_a_request(tmp_path, registries):
    result = plan([image(tmp_path, "hello")], registries)
    state = result["plan"]["images"]["hello"]
    assert result["builds"][0]["executor_image"] == EXECUTOR
    assert json.loads(state["build"]["image_labels"]["dev.airflow-kaniko.inputs"])["settings"]["executor_image"] == EXECUTOR
    assert registries.calls == [*looked_up(state["fingerprint"]), *LAST_BUILD]  # none for the executor


def test_every_resolved_base_is_pinned_by_digest_where_the_dockerfile_names_it(tmp_path, registries):
    host = registries.for_host(REG)
    tools = host.push_image("library/tools", ["2"], seed="tools 2")
    busybox = host.digest("library/busybox", "latest")
    context = tmp_path / "hello"
    context.mkdir()
    text = f"ARG BASE\nFROM ${{BASE}}\nCOPY --from={REG}/library/tools:2 /t /t\nCOPY --from={REG}/library/tools@{tools} /u /u\n"
    (context / "Dockerfile").write_text(text)
    destinations = [f"{REG}/demo/hello:1"]
    build = {"image_name": "hello", "context": str(context), "destinations": destinations, "build_args": {"BASE": BASE}}
    (built,) = plan([build], registries)["builds"]
    assert built["base_pins"] == [  # the reference written with its digest is exact already
        {"line": 2, "written": "${BASE}", "pinned": f"{BASE}@{busybox}"},
        {"line": 3, "written": f"{REG}/library/tools:2", "pinned": f"{REG}/library/tools:2@{tools}"},
    ]


def test_a_parent_named_literally_is_pinned_to_the_digest_this_run_pushed(tmp_path, registries):
    shell = image(tmp_path, "shell")
    (Path(shell["context"]) / "Dockerfile").write_text(f"FROM {REG}/demo/app:latest\nCOPY . /app\n")
    result = plan([image(tmp_path, "app"), shell], registries)
    digest = "sha256:" + "a" * 64
    app_result = {"digest": digest, "images": [f"{REG}/demo/app:1@{digest}", f"{REG}/demo/app:latest@{digest}"]}
    (build,) = plan_next_level(result["plan"], 1, [app_result], registries=registries, log=lambda _: None)["builds"]
    assert build["base_pins"] == [{"line": 1, "written": f"{REG}/demo/app:latest", "pinned": f"{REG}/demo/app:latest@{digest}"}]
