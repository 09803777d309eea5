"""The fingerprint moves with every input it covers, and with nothing else."""

import dataclasses
import hashlib
import json

import pytest

from airflow_kaniko.kaniko.context_archive import pack_context
from airflow_kaniko.maintenance.fingerprint import BuildInputs, fingerprint_tag, unknowable_context

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
BASE = BuildInputs(
    bases={"reg.io/library/busybox:latest": D1},
    context=D2,
    dockerfile="Dockerfile",
    build_args={"A": "1"},
    target="runtime",
    labels={"org.opencontainers.image.title": "x"},
    extra_args=("--reproducible",),
    executor_image="ghcr.io/osscontainertools/kaniko:v1.28.3",
)


@pytest.mark.parametrize(
    "change",
    [
        {"bases": {"reg.io/library/busybox:latest": D2}},  # the base digest moved
        {"bases": {"reg.io/library/busybox:1.37": D1}},  # another base, same digest
        {"bases": {**BASE.bases, "alpine:3": D2}},  # one more base (COPY --from)
        {"context": "sha256:" + "3" * 64},
        {"dockerfile": "Dockerfile.prod"},
        {"build_args": {"A": "2"}},
        {"build_args": {"A": "1", "B": "1"}},
        {"target": None},
        {"labels": {"org.opencontainers.image.title": "y"}},
        {"extra_args": ()},
        {"executor_image": "ghcr.io/osscontainertools/kaniko:v1.28.4"},
    ],
)
def test_each_input_changes_it(change):
    assert dataclasses.replace(BASE, **change).fingerprint() != BASE.fingerprint()


def test_order_of_maps_does_not_change_it():
    reordered = dataclasses.replace(BASE, build_args={"B": "2", "A": "1"}, labels={"b": "1", "a": "2"})
    again = dataclasses.replace(BASE, build_args={"A": "1", "B": "2"}, labels={"a": "2", "b": "1"})
    assert reordered.fingerprint() == again.fingerprint()


def test_it_is_the_sha256_of_the_canonical_document():
    doc = json.loads(BASE.document())
    assert doc["version"] == 2 and doc["bases"] == dict(BASE.bases) and doc["context"] == D2
    assert BASE.fingerprint() == hashlib.sha256(BASE.document().encode()).hexdigest()
    assert fingerprint_tag(BASE.fingerprint()) == "fp-" + BASE.fingerprint()
    assert len(fingerprint_tag(BASE.fingerprint())) <= 128  # a valid tag


def test_context_digest_covers_the_dockerfile_and_files_but_not_ignored_or_mtimes(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY a /a\n")
    (ctx / "a").write_text("one")
    (ctx / ".dockerignore").write_text("*.local\n")
    first = pack_context(ctx).tar_digest

    (ctx / "notes.local").write_text("ignored")
    import os

    os.utime(ctx / "a", (1, 1))  # only the mtime
    assert pack_context(ctx).tar_digest == first

    (ctx / "a").write_text("two")
    second = pack_context(ctx).tar_digest
    assert second != first
    (ctx / "a").write_text("one")
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY a /b\n")
    assert pack_context(ctx).tar_digest not in (first, second)


@pytest.mark.parametrize(
    ("context", "why"),
    [
        ("s3://bucket/ctx.tar.gz", "s3:// context"),
        ("gs://bucket/ctx.tar.gz", "gs:// context"),
        ("https://acct.blob.core.windows.net/c/ctx.tar.gz", "Azure blob context"),
        ("git://github.com/acme/app.git#refs/heads/main", "git:// context at a branch or tag"),
        ("git://github.com/acme/app.git", "git:// context at a branch or tag"),
        ("dir:///workspace", "dir:// context"),
        ("tar:///workspace/ctx.tar.gz", "tar:// context"),
        # Pinned, but its Dockerfile (and so its bases) is only read by the build: the planner always rebuilds it.
        ("git://github.com/acme/app.git#refs/tags/v1#" + "a" * 40, "git:// context: its Dockerfile is read only by the build"),
        ("git://github.com/acme/app.git#" + "b" * 40, "git:// context: its Dockerfile is read only by the build"),
        ("images/app", None),
    ],
)
def test_contexts_whose_content_cannot_be_known(context, why):
    assert unknowable_context(context) == why


def test_platforms_are_covered_only_when_set():
    # A single-platform image keeps the fingerprint it had before platforms existed: no key, same document.
    assert "platforms" not in json.loads(BASE.document())
    assert BASE.document() == (
        '{"bases":{"reg.io/library/busybox:latest":"' + D1 + '"},"build_args":{"A":"1"},"context":"' + D2 + '",'
        '"dockerfile":"Dockerfile","executor_image":"ghcr.io/osscontainertools/kaniko:v1.28.3",'
        '"extra_args":["--reproducible"],"labels":{"org.opencontainers.image.title":"x"},"target":"runtime","version":2}'
    )
    two = dataclasses.replace(BASE, platforms=("linux/amd64", "linux/arm64"))
    assert json.loads(two.document())["platforms"] == ["linux/amd64", "linux/arm64"]
    assert len({BASE.fingerprint(), two.fingerprint(), dataclasses.replace(two, platforms=("linux/amd64",)).fingerprint()}) == 3
    assert two.summary()["settings"]["platforms"] == ["linux/amd64", "linux/arm64"]
