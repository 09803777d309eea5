"""Issue 17, items 10 and 12: YAML that is cheap to send and expensive, or impossible, to read."""

import contextlib
import os
import sys
from datetime import UTC, datetime

import pytest

from airflow_kaniko.manifest.loader import ManifestError, load_manifest, read_max_parallel
from airflow_kaniko.manifest.yaml_reader import MAX_MANIFEST_BYTES, MAX_MANIFEST_NODES

DATE = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
IMAGE = "{name: a, context: app, repository: team/a}"


def write(tmp_path, text):
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    path = tmp_path / "images.yaml"
    path.write_text(text)
    return path


def load(path):
    return load_manifest(path, build_date=DATE, registry="reg.example.com")


@contextlib.contextmanager
def call_budget(limit):
    """Fail as soon as the block makes more than ``limit`` Python calls: bounded work, without timing anything."""
    calls = 0
    previous = sys.gettrace()

    def count(frame, event, arg):
        nonlocal calls
        calls += 1
        if calls > limit:
            raise AssertionError(f"more than {limit} Python calls")

    sys.settrace(count)
    try:
        yield
    finally:
        sys.settrace(previous)


def alias_bomb(levels=9, width=9):
    """The classic: each level is a list of ``width`` aliases of the one before; 544 bytes of it took 14 s."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * width) + "]" for n in range(1, levels)]
    return lines


def merge_bomb(levels=7, width=9):
    """The same through merge keys: ``<<`` copies every pair of the mappings it names."""
    lines = ["m0: &m0 {k: v}"]
    lines += [f"m{n}: &m{n} {{<<: [" + ", ".join([f"*m{n - 1}"] * width) + "]}" for n in range(1, levels)]
    return lines


# 9 levels of 9 aliases stand for 9**9 (387 million) values. The walk counts each node's expanded size once,
# from its children's, and refuses past MAX_MANIFEST_NODES: at the line of the first node that goes over.
@pytest.mark.parametrize(
    ("lines", "over_line"),
    [
        (alias_bomb() + [f"images: [{IMAGE}]"], 6),  # l5 is the first over 200,000
        (
            ["images:", "  - name: a", "    context: app", "    repository: team/a", "    build_args:"]
            + ["      " + line for line in alias_bomb()],
            11,
        ),
        (merge_bomb() + [f"images: [{IMAGE}]"], 7),
    ],
    ids=["alias-bomb", "alias-bomb-under-a-valid-key", "merge-key-bomb"],
)
def test_alias_bombs_refused_without_expanding_them(tmp_path, lines, over_line):
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert len(path.read_bytes()) < 1024
    with call_budget(100_000), pytest.raises(ManifestError) as info:
        load(path)
    assert info.value.reason == (
        f"stands for more than {MAX_MANIFEST_NODES} YAML nodes once its aliases are expanded; "
        "write the values out or share them through 'defaults'"
    )
    assert info.value.line == over_line


def test_read_max_parallel_falls_back_on_a_bomb(tmp_path):
    path = write(tmp_path, "\n".join(["max_parallel: 7", *merge_bomb(), f"images: [{IMAGE}]"]) + "\n")
    with call_budget(100_000):
        assert read_max_parallel(path, default=3) == 3


@pytest.mark.parametrize("text", ["images: &a [*a]\n", "images: [{name: a, context: app, repository: r, labels: &l {x: *l}}]\n"])
def test_an_alias_inside_its_own_anchor_refused(tmp_path, text):
    with pytest.raises(ManifestError, match="an alias refers to a collection that contains it") as info:
        load(write(tmp_path, text))
    assert info.value.line == 1


def test_aliases_that_share_values_load_as_written_out(tmp_path):
    path = write(
        tmp_path,
        """\
registry: reg.example.com
images:
  - {name: a, context: app, repository: team/a, labels: &team {team: data, tier: "1"}, build_args: &args {V: "2"}, tags: &t [x]}
  - {name: b, context: app, repository: team/b, labels: *team, build_args: *args}
  - {<<: {context: app, tags: *t}, name: c, repository: team/c}
""",
    )
    a, b, c = load(path).builds
    assert b["image_labels"] == a["image_labels"] == {"team": "data", "tier": "1"}
    assert b["build_args"] == a["build_args"] == {"V": "2"}
    assert c["destinations"] == ["reg.example.com/team/c:x"]


def test_oversized_manifest_refused_after_reading_its_limit(tmp_path):
    path = write(tmp_path, "")
    os.truncate(path, 64 * MAX_MANIFEST_BYTES)  # sparse: 64 MiB of NUL bytes, read only up to the limit
    with pytest.raises(ManifestError) as info:
        load(path)
    assert info.value.reason == f"is over {MAX_MANIFEST_BYTES} bytes; split its images over several manifests"
    assert read_max_parallel(path, default=3) == 3


def test_a_manifest_at_the_limit_is_read(tmp_path):
    head = f"registry: reg.example.com\nimages: [{IMAGE}]\n"
    path = write(tmp_path, head + "#" * (MAX_MANIFEST_BYTES - len(head) - 1) + "\n")
    assert path.stat().st_size == MAX_MANIFEST_BYTES
    assert load(path).names == ["a"]


# PyYAML's scanner does work that grows with the square of the flow nesting, and its composer recurses per level.
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("images: " + "[" * 100_000, 1),  # 100 KB: hours of scanning, then a RecursionError
        ("images:\n" + "".join(" " * n + "- \n" for n in range(1, 200)), 33),  # block nesting, one space more a level
        ("images:\n  - {name: a, context: app, repository: t/a, resources: " + "{a: " * 40 + "}" * 40 + "}\n", 2),
    ],
    ids=["flow", "block", "inside-an-entry"],
)
def test_deep_nesting_refused(tmp_path, text, line):
    with call_budget(100_000), pytest.raises(ManifestError) as info:
        load(write(tmp_path, text))
    assert (info.value.reason, info.value.line) == ("nests collections deeper than 32 levels", line)


def test_nesting_up_to_the_limit_is_read_as_yaml(tmp_path):
    # 32 levels are parsed; the schema then says what is wrong with them.
    path = write(tmp_path, "images: " + "[" * 31 + "]" * 31 + "\n")
    with pytest.raises(ManifestError, match="is not of type 'object'"):
        load(path)


# Item 12: a non-string key crashed the loader (TypeError sorting 'zz' against 1), or reached the schema and the
# error locations, which compare keys as strings (an unknown '~' key was reported at line 1). Every level.
@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (f"1: x\nzz: y\nimages: [{IMAGE}]\n", 1, "1 is read as a YAML int"),
        (f"images: [{IMAGE}]\ntrue: x\n", 2, "true is read as a YAML bool"),
        (f"~: 1\nimages: [{IMAGE}]\n", 1, "~ is read as a YAML null"),
        ("images:\n  - {name: a, context: app, repository: t/a,\n     1.5: x, zz: y}\n", 3, "1.5 is read as a YAML float"),
        (
            "images:\n  - name: a\n    context: app\n    repository: t/a\n    build_args: {2026-01-01: x}\n",
            5,
            "2026-01-01 is read as a YAML timestamp",
        ),
        (
            "images:\n  - name: a\n    context: app\n    repository: t/a\n    labels:\n      zz: y\n      7: x\n",
            7,
            "7 is read as a YAML int",
        ),
        (f"defaults: {{1: x, zz: y}}\nimages: [{IMAGE}]\n", 1, "1 is read as a YAML int"),
        (f"defaults:\n  build_args:\n    ON: x\nimages: [{IMAGE}]\n", 3, "ON is read as a YAML bool"),
        (
            "images:\n  - name: a\n    context: app\n    repository: t/a\n    resources: {1: x, zz: y}\n",
            5,
            "1 is read as a YAML int",
        ),
        (
            "images:\n  - name: a\n    context: app\n    repository: t/a\n    resources:\n      requests: {1: x}\n",
            6,
            "1 is read as a YAML int",
        ),
        (f"registry_ca: {{1: x, zz: y, secret: s}}\nimages: [{IMAGE}]\n", 1, "1 is read as a YAML int"),
        (f"registry_connections:\n  zz: y\n  5000: x\nimages: [{IMAGE}]\n", 3, "5000 is read as a YAML int"),
    ],
)
def test_keys_must_be_strings_at_every_level(tmp_path, text, line, key):
    with pytest.raises(ManifestError) as info:
        load(write(tmp_path, "registry: reg.example.com\n" + text))
    assert info.value.reason == f"key {key}, not a string; quote it if it is meant as one"
    assert info.value.line == line + 1


def test_a_collection_as_a_key_refused(tmp_path):
    with pytest.raises(ManifestError) as info:
        load(write(tmp_path, f"? [a, b]\n: x\nimages: [{IMAGE}]\n"))
    assert (info.value.reason, info.value.line) == ("a key must be a string, not a YAML seq", 1)


def test_a_quoted_number_is_a_string_key(tmp_path):
    path = write(tmp_path, 'registry: reg.example.com\nimages:\n  - {name: a, context: app, repository: t/a, labels: {"1": x}}\n')
    assert load(path).builds[0]["image_labels"] == {"1": "x"}
