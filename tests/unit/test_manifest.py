import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_kaniko.manifest import ManifestError, load_manifest, read_max_parallel

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "dags" / "images" / "images.yaml"
DATE = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
REG = "10.244.77.1:5000"


def load(tmp_path, text, **kwargs):
    path = tmp_path / "images.yaml"
    path.write_text(textwrap.dedent(text))
    (tmp_path / "app").mkdir(exist_ok=True)
    return load_manifest(path, build_date=DATE, registry=kwargs.pop("registry", REG), **kwargs)


def test_shipped_manifest():
    manifest = load_manifest(SHIPPED, build_date=DATE, registry=REG)
    assert manifest.names == ["hello", "app", "web", "app-shell"]
    assert manifest.max_parallel == 3
    hello, app, web, app_shell = manifest.builds
    assert hello == {
        "image_name": "hello",
        "context": str(SHIPPED.parent / "hello"),
        "dockerfile": "Dockerfile",
        "destinations": [f"{REG}/demo/hello:20261130", f"{REG}/demo/hello:latest"],
        "build_args": {"BASE": f"{REG}/library/busybox:latest"},
        "image_labels": {"org.opencontainers.image.vendor": "data-platform"},
        "container_resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "registry_ca": {"registry": REG, "config_map": "registry-ca"},
    }
    assert app["build_args"] == {"BASE": f"{REG}/library/busybox:latest", "APP_VERSION": "1.4"}
    assert web["target"] == "runtime"
    assert web["image_labels"] == {"org.opencontainers.image.vendor": "data-platform", "org.opencontainers.image.title": "web"}
    assert app_shell["build_args"] == {"BASE": f"{REG}/demo/app:latest"}  # built FROM app


def test_subset_and_tag_policies(tmp_path):
    manifest = load(
        tmp_path,
        """
        registry: reg.example.com
        images:
          - {name: a, context: app, repository: team/a, tags: ["{datetime}", stable]}
          - {name: b, context: "git://github.com/acme/b.git#refs/tags/v1.2", repository: team/b, tags: ["{git_ref}"]}
          - {name: c, context: app, repository: other.io/team/c}
        """,
        only=["b", "a", "c"],
    )
    assert [b["destinations"] for b in manifest.builds] == [
        ["reg.example.com/team/a:20261130T030000", "reg.example.com/team/a:stable"],
        ["reg.example.com/team/b:v1.2"],
        ["other.io/team/c:20261130", "other.io/team/c:latest"],
    ]
    assert load(tmp_path, "images: [{name: a, context: app, repository: r/a}, {name: b, context: app, repository: r/b}]", only=["b"]).names == ["b"]


def test_parse_time_max_parallel(tmp_path):
    assert read_max_parallel(SHIPPED) == 3
    assert read_max_parallel(tmp_path / "missing.yaml") == 4
    (tmp_path / "bad.yaml").write_text("max_parallel: [")
    assert read_max_parallel(tmp_path / "bad.yaml") == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", r"images.yaml: is empty; it needs an 'images' list"),
        ("images: [\n  {name: a\n", r"images.yaml:3: is not valid YAML"),
        ("- a\n- b\n", r"images.yaml:1: must be a mapping with an 'images' list, not list"),
        ("images: {name: a}\n", r"images.yaml:1: images: 'images' must be a list of images, not dict"),
        ("images: []\nfoo: 1\n", r"images.yaml:2: unknown key 'foo'; allowed keys: defaults, images, max_parallel, registry, registry_ca, version"),
        ("version: 2\nimages: []\n", r"images.yaml:1: version: 1 was expected"),
        ("images:\n  - name: a\n    context: app\n", r"images.yaml:2: images\[0\] \(a\): 'repository' is a required property"),
        ("images:\n  - name: a\n    context: app\n    repository: r/a\n    tag: [x]\n", r"images.yaml:5: images\[0\] \(a\): unknown key 'tag'"),
        ("images:\n  - name: a\n    context: 7\n    repository: r/a\n", r"images.yaml:3: images\[0\] \(a\) field 'context': 7 is not of type 'string'"),
        ("images:\n  - {name: a, context: app, repository: r/a, cache: maybe}\n", r"images.yaml:2: images\[0\] \(a\) field 'cache': 'maybe' is not of type 'boolean'"),
        ("images:\n  - {name: a, context: app, repository: r/a, build_args: [A=1]}\n", r"field 'build_args': \['A=1'\] is not of type 'object'"),
        ("images:\n  - {name: a, context: app, repository: r/a}\n  - {name: a, context: app, repository: r/b}\n", r"images.yaml:3: images\[1\] \(a\): duplicate image name 'a', first used by images\[0\]"),
        ("images:\n  - {name: a, context: app, repository: r/x}\n  - {name: b, context: app, repository: r/x}\n", r"images.yaml:3: images\[1\] \(b\): destination '10.244.77.1:5000/r/x:20261130' is also pushed by images\[0\]"),
        ("images:\n  - name: a\n    context: app\n    repository: 'Team/App'\n", r"images.yaml:4: images\[0\] \(a\) field 'repository': '10.244.77.1:5000/Team/App:20261130' is not a valid image reference"),
        ("images:\n  - {name: a, context: app, repository: r/a, tags: ['bad tag']}\n", r"field 'repository': .* is not a valid image reference"),
        ("images:\n  - {name: a, context: app, repository: r/a, tags: ['{branch}']}\n", r"images.yaml:2: images\[0\] \(a\) field 'tags': unknown tag placeholder \{branch\}"),
        ("images:\n  - {name: a, context: app, repository: r/a, tags: ['{git_ref}']}\n", r"tag '\{git_ref\}' needs a git:// context"),
        ("images:\n  - {name: a, context: 'ftp://x/y', repository: r/a}\n", r"images.yaml:2: images\[0\] \(a\) field 'context': 'ftp://x/y' unknown scheme"),
        ("images:\n  - {name: A_B, context: app, repository: r/a}\n", r"field 'name': 'A_B' must be 1-63 lowercase"),
        ("images:\n  - {name: a, context: app, repository: r/a, build_args: {'1X': y}}\n", r"field 'build_args': '1X' is not a valid name"),
        ("images:\n  - {name: a, context: app, repository: r/a, extra_args: ['--destination=x/y:1']}\n", r"field 'extra_args': .* is set by the operator"),
        ("images:\n  - name: a\n    name: b\n    context: app\n    repository: r/a\n", r"images.yaml:3: key 'name' appears twice"),
        ("max_parallel: 0\nimages: []\n", r"images.yaml:1: max_parallel: 0 is less than the minimum of 1"),
        ("registry_ca: {key: ca.crt}\nimages: []\n", r"registry_ca: .* is not valid under any of the given schemas"),
    ],
)
def test_malformed_manifests(tmp_path, text, expected):
    with pytest.raises(ManifestError, match=expected):
        load(tmp_path, text)


def test_missing_file(tmp_path):
    with pytest.raises(ManifestError, match=r"nope.yaml: cannot be read: No such file or directory"):
        load_manifest(tmp_path / "nope.yaml", build_date=DATE)


def test_no_registry_anywhere(tmp_path):
    with pytest.raises(ManifestError, match=r"images.yaml:2: images\[0\] \(a\): no registry"):
        load(tmp_path, "images:\n  - {name: a, context: app, repository: r/a}\n", registry=None)


def test_unknown_subset_name(tmp_path):
    with pytest.raises(ManifestError, match=r"no image named 'zzz'; the manifest has a"):
        load(tmp_path, "images:\n  - {name: a, context: app, repository: r/a}\n", only=["zzz"])


def test_over_long_list(tmp_path):
    entries = "".join(f"  - {{name: i{i}, context: app, repository: r/i{i}}}\n" for i in range(6))
    with pytest.raises(ManifestError, match=r"images.yaml:2: 6 images exceed Airflow's core.max_map_length=5; raise it \(AIRFLOW__CORE__MAX_MAP_LENGTH\) or split"):
        load(tmp_path, "images:\n" + entries, max_images=5)


def test_max_age_is_inherited_overridden_and_checked(tmp_path):
    manifest = load(
        tmp_path,
        """
        defaults: {max_age: 7d}
        images:
          - {name: a, context: app, repository: t/a}
          - {name: b, context: app, repository: t/b, max_age: 12h}
        """,
    )
    assert manifest.max_age == {"a": "7d", "b": "12h"}
    assert all("max_age" not in b for b in manifest.builds)  # not an operator argument
    with pytest.raises(ManifestError, match=r"images.yaml:4: images\[1\] \(b\) field 'max_age': 'soon' must be a duration such as '7d'"):
        load(tmp_path, "images:\n  - {name: a, context: app, repository: t/a}\n  - name: b\n    max_age: soon\n    context: app\n    repository: t/b\n")
    with pytest.raises(ManifestError, match=r"images.yaml:2: defaults field 'max_age': '0d' must be positive"):
        load(tmp_path, "defaults:\n  max_age: 0d\nimages:\n  - {name: a, context: app, repository: t/a}\n")
