"""The decision per image and the report's words for it."""

from datetime import UTC, datetime, timedelta

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.maintenance.decisions import decide, last_built, parse_max_age, pinned, rebuild_kwargs, stamp_tag
from airflow_kaniko.maintenance.reasons import BaseChange, Outcome, Reason, explain_change

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
FP = "f" * 64
D1, D2 = "sha256:ab12" + "0" * 60, "sha256:cd34" + "0" * 60


def call(**kw):
    args = dict(
        unknowable=None, force=False, fingerprint=FP, found=None, built_at=None, max_age=None, now=NOW, rebuilt_parents=()
    )
    return decide(**{**args, **kw})


def test_unchanged_when_the_fingerprint_is_in_the_registry():
    assert call(found=D1) == Reason("unchanged", fingerprint=FP, digest=D1)


def test_new_fingerprint_is_left_to_explain():
    assert call() is None


def test_precedence_unknowable_then_force_then_parent_then_age():
    assert call(unknowable="s3:// context", force=True, found=D1).kind == "unknowable"
    assert call(force=True, found=D1).kind == "forced"
    assert call(rebuilt_parents=["etl-base"]) == Reason("parent", parents=("etl-base",))
    # a parent rebuilt identically: the child's fingerprint is found, nothing to do
    assert call(rebuilt_parents=["etl-base"], found=D1).kind == "unchanged"


def test_max_age():
    age = timedelta(days=7)
    assert call(found=D1, max_age=age, built_at=NOW - timedelta(days=6, hours=23)).kind == "unchanged"
    assert call(found=D1, max_age=age, built_at=NOW - age).kind == "max_age"
    assert call(found=D1, max_age=age, built_at=None).kind == "max_age"  # unknown age counts as old


def test_parse_max_age():
    assert parse_max_age("7d") == timedelta(days=7)
    assert parse_max_age("1w2d12h30m") == timedelta(days=9, hours=12, minutes=30)
    assert parse_max_age("") is None and parse_max_age(None) is None
    for bad in ("7", "7days", "-1d", "0d", 3):
        with pytest.raises(KanikoSpecError, match=r"max_age=.*must be"):
            parse_max_age(bad)


def test_stamp_tags_record_the_build_time():
    tags = [
        "latest",
        stamp_tag(FP, NOW - timedelta(days=3)),
        stamp_tag(FP, NOW - timedelta(days=1)),
        stamp_tag("e" * 64, NOW),
        f"fp-{FP}-junk",
    ]
    assert tags[1] == f"fp-{FP}-20261127030000" and len(tags[1]) <= 128
    assert last_built(FP, tags) == NOW - timedelta(days=1)
    assert last_built(FP, ["latest"]) is None


def test_reason_texts_as_the_issue_lists_them():
    assert (
        Reason("base", bases=(BaseChange("python:3.12-slim", D1, D2),)).text()
        == "rebuilt (base python:3.12-slim sha256:ab1200000000… → sha256:cd3400000000…)"
    )
    assert Reason("context").text() == "rebuilt (context changed)"
    assert Reason("parent", parents=("etl-base",)).text() == "rebuilt (parent etl-base rebuilt)"
    assert Reason("max_age").text() == "rebuilt (older than max_age)"
    assert Reason("forced").text() == "rebuilt (forced)"
    assert (
        Reason("unchanged", fingerprint=FP, digest=D1).text()
        == "unchanged (fingerprint ffffffffffff…, digest sha256:ab1200000000…)"
    )
    assert Reason("unknowable", detail="s3:// context").text() == "always rebuilt (s3:// context)"
    assert Reason("failed").text() == "failed"
    assert Reason("forced").text(identical=True) == "rebuilt, identical (forced)"
    assert Reason("parent_failed", parents=("etl-base",)).text() == "failed (parent etl-base failed)"
    assert Reason("first").text() == "rebuilt (no previous build)"
    with pytest.raises(ValueError, match="unknown reason kind"):
        Reason("maybe")


def test_reasons_survive_xcom():
    reason = Reason("base", bases=(BaseChange("a", None, D2), BaseChange("b", D1, D2)))
    assert Reason.from_dict(reason.to_dict()) == reason
    assert reason.to_dict() == {
        "kind": "base",
        "bases": [{"reference": "a", "old": None, "new": D2}, {"reference": "b", "old": D1, "new": D2}],
    }


def test_explain_change_names_the_input_that_moved():
    old = {"bases": {"busybox": D1}, "context": "sha256:c1", "settings": {"build_args": {"A": "1"}, "target": None}}
    assert explain_change(None, old, last_digest=None) == Reason("first")
    assert explain_change(None, old, last_digest=D1).text() == "rebuilt (the last build recorded no fingerprint)"
    assert explain_change(old, {**old, "bases": {"busybox": D2}}, last_digest=D1) == Reason(
        "base", bases=(BaseChange("busybox", D1, D2),)
    )
    assert explain_change(old, {**old, "context": "sha256:c2"}, last_digest=D1) == Reason("context")
    changed = explain_change(old, {**old, "settings": {"build_args": {"A": "2"}, "target": None}}, last_digest=D1)
    assert changed.text() == "rebuilt (build settings changed: build_args)"


def test_outcome_identical_only_when_the_pushed_digest_was_already_there():
    assert Outcome("a", Reason("forced"), "rebuilt", D1, D1).text() == "rebuilt, identical (forced)"
    assert Outcome("a", Reason("forced"), "rebuilt", D2, D1).text() == "rebuilt (forced)"
    assert Outcome("a", Reason("context"), "failed", None, D1).text() == "failed"
    assert Outcome("a", Reason("context"), "planned").text() == "would be rebuilt (context changed)"


def test_rebuild_kwargs_add_fingerprint_tags_labels_and_pins():
    kwargs = {
        "image_name": "app",
        "destinations": ["reg.io:5000/demo/app:20261130", "reg.io:5000/demo/app:latest"],
        "build_args": {"BASE": "reg.io:5000/demo/base:latest"},
        "image_labels": {"a": "b"},
        "extra_args": ["--reproducible"],
        "cache": True,
        "cache_ttl": "24h",
    }
    base = (pinned("reg.io:5000/demo/base:latest", D1), D1)
    out = rebuild_kwargs(
        kwargs,
        reason=Reason("max_age"),
        fingerprint=FP,
        summary={"bases": {}},
        base=base,
        build_args={"BASE": base[0]},
        built_at=NOW,
        reproducible=True,
        bases={base[0]: D1, "docker.io/library/python:3.12-slim": D2},
    )
    # For the Asset event (typed kwargs, not labels) and for lineage (every resolved base, by digest, tag kept).
    assert out["fingerprint"] == FP and out["build_reason"] == {"kind": "max_age"}
    assert out["base_images"] == [f"reg.io:5000/demo/base@{D1}", f"docker.io/library/python:3.12-slim@{D2}"]
    assert out["destinations"] == [
        *kwargs["destinations"],
        f"reg.io:5000/demo/app:fp-{FP}",
        f"reg.io:5000/demo/app:fp-{FP}-20261130030000",
    ]
    assert out["build_args"] == {"BASE": f"reg.io:5000/demo/base@{D1}"}
    assert out["image_labels"] == {
        "a": "b",
        "org.opencontainers.image.base.name": f"reg.io:5000/demo/base@{D1}",
        "org.opencontainers.image.base.digest": D1,
        "dev.airflow-kaniko.fingerprint": FP,
        "dev.airflow-kaniko.inputs": '{"bases":{}}',
    }
    assert out["extra_args"] == ["--reproducible"]  # not twice
    assert "cache" not in out and "cache_ttl" not in out  # max_age rebuilds bypass the layer cache
    assert kwargs["destinations"] == ["reg.io:5000/demo/app:20261130", "reg.io:5000/demo/app:latest"]  # input untouched
    kept = rebuild_kwargs(
        kwargs, reason=Reason("context"), fingerprint=FP, summary={}, base=None, build_args={}, built_at=NOW, reproducible=False
    )
    assert kept["cache"] is True
    assert kept["base_images"] == [] and kept["build_reason"] == {"kind": "context"}
    # The kwargs a rebuild gets are ones the operator takes, and its checks accept them.
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

    op = KanikoBuildOperator(task_id="t", context="git://github.com/acme/app.git", **out)
    assert (op.fingerprint, op.build_reason, op.lineage_base_images()) == (FP, {"kind": "max_age"}, out["base_images"])


# Issue 18: a remote ADD source and a fingerprint tag that did not match its image.
def test_a_remote_source_comes_after_an_unknowable_context_and_before_force_and_a_mismatch_after_force():
    assert call(unknowable="s3:// context", remote_source="https://a.example/x").kind == "unknowable"
    assert call(remote_source="https://a.example/x", force=True, found=D1) == Reason(
        "remote_source", detail="https://a.example/x"
    )
    assert call(force=True, tag_mismatch=True).kind == "forced"
    assert call(tag_mismatch=True, rebuilt_parents=["etl-base"]) == Reason("tag_mismatch")


def test_the_words_for_a_remote_source_and_a_mismatched_tag():
    assert Reason("remote_source", detail="https://a.example/x").text() == "always rebuilt (ADD https://a.example/x)"
    assert Reason("tag_mismatch").text() == "rebuilt (fingerprint tag did not match its image)"
    assert Reason("tag_mismatch").text(identical=True) == "rebuilt, identical (fingerprint tag did not match its image)"


def test_a_remote_source_rebuild_runs_without_cache_and_a_pinned_executor_passes_through():
    kwargs = {"destinations": ["reg.io/a:1"], "cache": True, "cache_repo": "reg.io/cache", "cache_ttl": "1h"}
    executor = "reg.io/kaniko:v1@" + D1
    result = rebuild_kwargs(
        kwargs,
        reason=Reason("remote_source", detail="https://a.example/x"),
        fingerprint=None,
        summary=None,
        base=None,
        build_args={},
        built_at=NOW,
        reproducible=False,
        executor_image=executor,
    )
    assert not {"cache", "cache_repo", "cache_ttl"} & set(result) and result["executor_image"] == executor


def test_a_version_1_label_explains_the_upgrade_as_the_fingerprint_format():
    current = {"bases": {}, "context": D2, "settings": {}, "version": 2}
    assert explain_change({"bases": {}, "context": D1, "settings": {}}, current, last_digest=D1) == Reason(
        "settings", detail="fingerprint format"
    )
    assert explain_change({**current, "context": D1}, current, last_digest=D1) == Reason("context")
