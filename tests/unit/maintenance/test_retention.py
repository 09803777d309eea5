"""Registry hygiene (issue 18, item 6): which tags the cleanup deletes, which it keeps, and that it never fails a run."""

from datetime import timedelta

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.maintenance.planner import finish
from airflow_kaniko.maintenance.report import summarize_plan
from airflow_kaniko.maintenance.retention import RegistryCleanup, clean_registry, staging_tags, stale_stamped_tags
from airflow_kaniko.oci.reference import split
from tests.unit.maintenance.fake_registry import FakeRegistries
from tests.unit.maintenance.test_planner import NOW, REG, image, plan, push_build

A, B, C = "a" * 64, "b" * 64, "c" * 64


def stamp(fingerprint, day, hour=0):
    return f"fp-{fingerprint}-202612{day:02d}{hour:02d}0000"


# -- selection ----------------------------------------------------------------------------------------------


def test_the_stamps_beyond_the_newest_n_go_oldest_last_and_nothing_else_is_a_candidate():
    tags = [
        "latest",
        "20261201",
        f"fp-{A}",  # a fingerprint tag: what "built before?" asks, never deleted
        *(stamp(A, day) for day in (1, 2, 3, 4, 5)),
        f"fp-{A}-2026120100",  # look-alikes: too short, upper case, a suffix, a prefix, a short fingerprint
        f"fp-{A.upper()}-20261201000000",
        f"{stamp(A, 1)}-linux-amd64",
        f"x{stamp(A, 1)}",
        "fp-abc-20261201000000",
    ]
    assert stale_stamped_tags(tags, keep=3) == [stamp(A, 2), stamp(A, 1)]
    assert stale_stamped_tags(tags, keep=5) == []


def test_the_newest_stamp_of_a_current_fingerprint_and_every_protected_tag_stay_whatever_their_age():
    tags = [stamp(B, 1), stamp(B, 2), *(stamp(A, day) for day in (3, 4, 5, 6)), stamp(C, 7)]
    # B is what the image is now (a revert to old content): max_age reads its newest stamp, day 2.
    assert stale_stamped_tags(tags, keep=2, current=[B], protected=[stamp(A, 3)]) == [stamp(A, 5), stamp(A, 4), stamp(B, 1)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, RegistryCleanup(3)),
        (True, RegistryCleanup(3)),
        ({}, RegistryCleanup(3)),
        ({"keep_stamped_tags": 1}, RegistryCleanup(1)),
    ],
)
def test_the_setting(value, expected):
    assert RegistryCleanup.from_manifest(value) == expected


def test_the_opt_out_and_bad_values():
    assert RegistryCleanup.from_manifest(False) is None
    with pytest.raises(KanikoSpecError, match=r"registry_cleanup.keep_stamped_tags.*must be an integer from 1 to 1000"):
        RegistryCleanup.from_manifest({"keep_stamped_tags": 0})
    with pytest.raises(KanikoSpecError, match=r"unknown key 'keep'"):
        RegistryCleanup.from_manifest({"keep": 1})
    with pytest.raises(KanikoSpecError, match=r"must be an integer"):
        RegistryCleanup(True)


def test_staging_tags_are_the_ones_the_platform_builds_pushed():
    destinations = [f"{REG}/demo/m:1", f"{REG}/demo/m:latest", f"{REG}/demo/m:fp-{A}"]
    assert staging_tags(destinations, ["linux/amd64", "linux/arm/v7"]) == [
        (REG, "demo/m", "1-linux-amd64", "linux/amd64"),
        (REG, "demo/m", "1-linux-arm-v7", "linux/arm/v7"),
    ]


# -- forced runs through the planner ------------------------------------------------------------------------


def forced_runs(tmp_path, registries, runs, start=0, **setting):
    """``runs`` forced rebuilds an hour apart from ``NOW + start`` hours, each finished and cleaned as the
    report task does; a fresh copy of the same context per call (the fingerprint does not depend on where it lies)."""
    (tmp_path / f"run-{start}").mkdir()
    builds = [image(tmp_path / f"run-{start}", "hello")]
    logs = []
    for run in range(start, start + runs):
        stage = plan(builds, registries, force=True, now=NOW + timedelta(hours=run))
        p = stage["plan"]
        if setting:
            p["registry_cleanup"] = setting["registry_cleanup"]
        state = p["images"]["hello"]
        digest = push_build(registries, state, seed=f"build {run}")
        finish(p, [{"digest": digest, "images": [f"{d}@{digest}" for d in state["build"]["destinations"]]}])
        clean_registry(p, registries, log=logs.append)
    return p, logs


def test_after_five_forced_runs_three_stamps_remain_and_every_named_tag(tmp_path):
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 1")
    p, logs = forced_runs(tmp_path, registries, 5)
    fp = p["images"]["hello"]["fingerprint"]
    tags = registries.for_host(REG).tagged["demo/hello"]
    assert sorted(tags) == sorted(["1", "latest", f"fp-{fp}", *(f"fp-{fp}-20261201{h}0000" for h in (14, 15, 16))])
    assert tags["latest"].digest == tags[f"fp-{fp}"].digest  # the named tags still name the last build
    # One stamp deleted per run from the fourth on, each named in the log and on the image's record.
    assert p["images"]["hello"]["cleanup"] == {"deleted": [f"demo/hello:fp-{fp}-20261201130000"], "warnings": []}
    assert [m for m in logs if "deleted the tag" in m] == [
        f"hello: deleted the tag {REG}/demo/hello:fp-{fp}-20261201{h}0000" for h in (12, 13)
    ]
    assert summarize_plan(p).cleanup_text() == "registry cleanup: 1 tag(s) deleted"


def test_registry_cleanup_false_deletes_nothing(tmp_path):
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 1")
    p, _ = forced_runs(tmp_path, registries, 5, registry_cleanup=None)
    assert sum(t.startswith("fp-") for t in registries.for_host(REG).tagged["demo/hello"]) == 6
    assert not any(c[0] in ("delete_tag", "tags") for c in registries.calls)
    assert "cleanup" not in p["images"]["hello"]


def test_a_failed_delete_is_a_warning_in_the_log_and_the_report_not_an_error(tmp_path):
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 1")
    fp = forced_runs(tmp_path, registries, 1)[0]["images"]["hello"]["fingerprint"]
    registries.for_host(REG).undeletable.add(f"fp-{fp}-20261201120000")
    p, logs = forced_runs(tmp_path, registries, 1, start=1, registry_cleanup={"keep_stamped_tags": 1})
    warning = (
        f"tag not deleted: registry {REG}: demo/hello:fp-{fp}-20261201120000: not deleted: the registry refuses DELETE (HTTP 405)"
    )
    assert p["images"]["hello"]["cleanup"] == {"deleted": [], "warnings": [warning]}
    assert f"WARNING hello: registry cleanup: {warning}" in logs
    summary = summarize_plan(p)
    assert summary.failed == [] and summary.cleanup_warnings == [f"hello: {warning}"]
    assert summary.table().splitlines()[-2:] == ["registry cleanup: 0 tag(s) deleted, 1 warning(s)", f"WARNING hello: {warning}"]


def test_deletions_are_bounded_per_run_and_the_rest_go_next_time(tmp_path):
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 1")
    repo = registries.for_host(REG)
    old = [stamp(A, 1, hour) for hour in range(10)]
    repo.push_image("demo/hello", old, seed="old")
    p = forced_runs(tmp_path, registries, 1, start=1, registry_cleanup=None)[0]
    p["registry_cleanup"] = {"keep_stamped_tags": 3}
    logs = []
    clean_registry(p, registries, log=logs.append, max_deletions=4)
    assert len(p["images"]["hello"]["cleanup"]["deleted"]) == 4
    assert logs[-1] == "registry cleanup: stopped at the most deletions one run makes; the rest is deleted at the next run"
    clean_registry(p, registries, log=logs.append, deadline_seconds=0)
    assert p["images"]["hello"]["cleanup"]["deleted"] == []
    assert logs[-1] == "registry cleanup: stopped at the cleanup's deadline; the rest is deleted at the next run"


def test_a_dry_run_and_images_not_rebuilt_delete_nothing(tmp_path):
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 1")
    p = forced_runs(tmp_path, registries, 1)[0]
    registries.calls.clear()
    p["images"]["hello"]["status"] = "unchanged"
    assert clean_registry(p, registries, log=lambda _: None) == {}
    p["images"]["hello"]["status"], p["dry_run"] = "rebuilt", True
    assert clean_registry(p, registries, log=lambda _: None) == {}
    assert registries.calls == []


# -- multi-arch ------------------------------------------------------------------------------------------


def multi_arch_plan(registries, destinations, named=()):
    """A finished plan of a multi-arch image whose index was pushed, its platforms still under staging tags."""
    repo = registries.for_host(REG)
    platforms = {"linux/amd64": None, "linux/arm64": None}
    for platform in platforms:
        tags = [tag for host, repository, tag, p in staging_tags(destinations, [platform])]
        platforms[platform] = repo.push_image("demo/m", tags, seed=platform)
    index = repo.push_index("demo/m", [split(d)[2] for d in destinations], list(platforms.values()))
    kwargs = {"image_name": "m", "destinations": [*destinations[:1], *named], "platforms": list(platforms)}
    state = {
        "name": "m",
        "status": "rebuilt",
        "kwargs": kwargs,
        "build": {**kwargs, "destinations": destinations},
        "fingerprint": None,
        "digest": index,
        "platform_digests": dict(platforms),
        "images": [],
    }
    return {"dry_run": False, "levels": [["m"]], "images": {"m": state}}, platforms, index


def test_the_staging_tags_of_a_merged_image_go_and_its_index_keeps_its_platforms():
    registries = FakeRegistries()
    p, platforms, index = multi_arch_plan(registries, [f"{REG}/demo/m:1", f"{REG}/demo/m:fp-{A}"])
    clean_registry(p, registries, log=lambda _: None)
    repo = registries.for_host(REG)
    assert {t: m.digest for t, m in repo.tagged["demo/m"].items()} == {"1": index, f"fp-{A}": index}
    assert all(d in repo.by_digest for d in platforms.values())
    assert p["images"]["m"]["cleanup"]["deleted"] == ["demo/m:1-linux-amd64", "demo/m:1-linux-arm64"]
    deletes = [c for c in registries.calls if c[0] == "delete_tag"]
    assert deletes == [
        ("delete_tag", REG, "demo/m", f"1-{p}", d)
        for p, d in zip(["linux-amd64", "linux-arm64"], platforms.values(), strict=True)
    ]


def test_a_staging_tag_the_manifest_names_or_that_moved_stays():
    registries = FakeRegistries()
    p, platforms, _ = multi_arch_plan(registries, [f"{REG}/demo/m:1"], named=[f"{REG}/demo/m:1-linux-amd64"])
    moved = registries.for_host(REG).push_image("demo/m", ["1-linux-arm64"], seed="someone else's")
    clean_registry(p, registries, log=lambda _: None)
    tags = registries.for_host(REG).tagged["demo/m"]
    assert tags["1-linux-amd64"].digest == platforms["linux/amd64"]  # named: never asked
    assert tags["1-linux-arm64"].digest == moved  # asked with the digest this run pushed: left
    assert [c[3] for c in registries.calls if c[0] == "delete_tag"] == ["1-linux-arm64"]
    assert p["images"]["m"]["cleanup"] == {"deleted": [], "warnings": []}


# -- the report task's step ----------------------------------------------------------------------------------


def rebuilt_plan(tmp_path):
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"], seed="busybox 1")
    return forced_runs(tmp_path, registries, 1, registry_cleanup=None)[0] | {"registry_cleanup": {"keep_stamped_tags": 1}}


def test_the_task_step_never_fails_the_run_when_the_cleanup_cannot_start(tmp_path, capsys):
    from airflow_kaniko.tasks import maintenance

    p = rebuilt_plan(tmp_path)
    # No connection exists in this test: the registry clients cannot be made.
    maintenance.clean_registry_task(p, registry_conn_id="no_such_connection")
    (warning,) = p["images"]["hello"]["cleanup"]["warnings"]
    assert warning.startswith("registry cleanup skipped: ") and "no_such_connection" in warning
    assert f"WARNING {warning}" in capsys.readouterr().out


def test_the_task_step_redacts_the_connection_password_from_its_warnings(tmp_path, monkeypatch, capsys):
    from airflow_kaniko.oci.registry_protocol import RegistryError
    from airflow_kaniko.tasks import maintenance

    p = rebuilt_plan(tmp_path)

    class Echoing(FakeRegistries):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def passwords(self):
            return ["pw-clean"]

    def tags(repository):  # a registry that echoes the password in its answer
        raise RegistryError(REG, f"{repository}:tags/list", "refused pw-clean (HTTP 400)", 400)

    clients = Echoing()
    monkeypatch.setattr(clients.for_host(REG), "tags", tags)
    monkeypatch.setattr(maintenance, "registries", lambda *a: clients)
    maintenance.clean_registry_task(p, registry_conn_id="kaniko_registry")
    assert p["images"]["hello"]["cleanup"]["warnings"] == [
        f"stamped tags not cleaned: registry {REG}: demo/hello:tags/list: refused *** (HTTP 400)"
    ]
    assert "pw-clean" not in capsys.readouterr().out
