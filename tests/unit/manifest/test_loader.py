import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_kaniko.manifest.loader import ManifestError, load_manifest, read_max_parallel

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "dags" / "images" / "images.yaml"
DATE = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
REG = "10.244.77.1:5000"


def load(tmp_path, text, **kwargs):
    path = tmp_path / "images.yaml"
    path.write_text(textwrap.dedent(text))
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
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
        "registry_conn_id": None,
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
    assert load(
        tmp_path, "images: [{name: a, context: app, repository: r/a}, {name: b, context: app, repository: r/b}]", only=["b"]
    ).names == ["b"]


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
        (
            "images: []\nfoo: 1\n",
            r"images.yaml:2: unknown key 'foo'; allowed keys: defaults, images, max_parallel, registry, registry_ca, "
            r"registry_cleanup, registry_connections, registry_mirrors, version",
        ),
        ("version: 2\nimages: []\n", r"images.yaml:1: version: 1 was expected"),
        ("images:\n  - name: a\n    context: app\n", r"images.yaml:2: images\[0\] \(a\): 'repository' is a required property"),
        (
            "images:\n  - name: a\n    context: app\n    repository: r/a\n    tag: [x]\n",
            r"images.yaml:5: images\[0\] \(a\): unknown key 'tag'",
        ),
        (
            "images:\n  - name: a\n    context: 7\n    repository: r/a\n",
            r"images.yaml:3: images\[0\] \(a\) field 'context': 7 is not of type 'string'",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/a, cache: maybe}\n",
            r"images.yaml:2: images\[0\] \(a\) field 'cache': 'maybe' is not of type 'boolean'",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/a, build_args: [A=1]}\n",
            r"field 'build_args': \['A=1'\] is not of type 'object'",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/a}\n  - {name: a, context: app, repository: r/b}\n",
            r"images.yaml:3: images\[1\] \(a\): duplicate image name 'a', first used by images\[0\]",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/x}\n  - {name: b, context: app, repository: r/x}\n",
            r"images.yaml:3: images\[1\] \(b\): destination '10.244.77.1:5000/r/x:20261130' is also pushed by images\[0\]",
        ),
        (
            "images:\n  - name: a\n    context: app\n    repository: 'Team/App'\n",
            r"images.yaml:4: images\[0\] \(a\) field 'repository': '10.244.77.1:5000/Team/App:20261130' is not a "
            r"valid image reference",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/a, tags: ['bad tag']}\n",
            r"field 'repository': .* is not a valid image reference",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/a, tags: ['{branch}']}\n",
            r"images.yaml:2: images\[0\] \(a\) field 'tags': unknown tag placeholder \{branch\}",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/a, tags: ['{git_ref}']}\n",
            r"tag '\{git_ref\}' needs a git:// context",
        ),
        (
            "images:\n  - {name: a, context: 'ftp://x/y', repository: r/a}\n",
            r"images.yaml:2: images\[0\] \(a\) field 'context': 'ftp://x/y' unknown scheme",
        ),
        ("images:\n  - {name: A_B, context: app, repository: r/a}\n", r"field 'name': 'A_B' must be 1-63 lowercase"),
        (
            "images:\n  - {name: a, context: app, repository: r/a, build_args: {'1X': y}}\n",
            r"field 'build_args': '1X' is not a valid name",
        ),
        (
            "images:\n  - {name: a, context: app, repository: r/a, extra_args: ['--destination=x/y:1']}\n",
            r"field 'extra_args': .* is set by the operator",
        ),
        (
            "images:\n  - name: a\n    name: b\n    context: app\n    repository: r/a\n",
            r"images.yaml:3: key 'name' appears twice",
        ),
        ("max_parallel: 0\nimages: []\n", r"images.yaml:1: max_parallel: 0 is less than the minimum of 1"),
        ("registry_ca: {key: ca.crt}\nimages: []\n", r"registry_ca: .* is not valid under any of the given schemas"),
        (
            "registry_cleanup: {keep_stamped_tags: 0}\nimages: []\n",
            r"images.yaml:1: registry_cleanup field 'keep_stamped_tags': 0 is less than the minimum of 1",
        ),
        (
            "registry_cleanup: {keep_stamped_tags: 3, keep: 1}\nimages: []\n",
            r"images.yaml:1: registry_cleanup: unknown key 'keep'; allowed keys: keep_stamped_tags",
        ),
        ("registry_cleanup: 3\nimages: []\n", r"registry_cleanup: 3 is not of type 'boolean', 'object'"),
        (
            "registry_cleanup: {keep_stamped_tags: '3'}\nimages: []\n",
            r"registry_cleanup field 'keep_stamped_tags': '3' is not of type 'integer'",
        ),
    ],
)
def test_malformed_manifests(tmp_path, text, expected):
    with pytest.raises(ManifestError, match=expected):
        load(tmp_path, text)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", {"keep_stamped_tags": 3}),  # absent: on, the default N
        ("registry_cleanup: true\n", {"keep_stamped_tags": 3}),
        ("registry_cleanup: {}\n", {"keep_stamped_tags": 3}),
        ("registry_cleanup: {keep_stamped_tags: 7}\n", {"keep_stamped_tags": 7}),
        ("registry_cleanup: false\n", None),  # the opt-out
    ],
)
def test_registry_cleanup_setting(tmp_path, setting, expected):
    manifest = load(tmp_path, setting + "images:\n  - {name: a, context: app, repository: r/a}\n")
    assert manifest.registry_cleanup == expected


def test_missing_file(tmp_path):
    with pytest.raises(ManifestError, match=r"nope.yaml: cannot be read: No such file or directory"):
        load_manifest(tmp_path / "nope.yaml", build_date=DATE)


def test_each_image_gets_the_connection_of_its_own_registry(tmp_path):
    manifest = load(
        tmp_path,
        """
        registry_connections: {mirror.example.com: mirror_pusher}
        images:
          - {name: a, context: app, repository: team/a}
          - {name: b, context: app, repository: mirror.example.com/team/b}
        """.replace("\n        ", "\n"),
        registry_conn_id="kaniko_registry",
    )
    assert [b["registry_conn_id"] for b in manifest.builds] == ["kaniko_registry", "mirror_pusher"]


def test_a_manifest_that_names_its_registry_needs_no_connection(tmp_path):
    def no_connection():
        raise AssertionError("the connection was read")

    manifest = load(
        tmp_path, "registry: reg.example.com\nimages:\n  - {name: a, context: app, repository: r/a}\n", registry=no_connection
    )
    assert manifest.builds[0]["destinations"][0].startswith("reg.example.com/r/a:")


def test_throttle_warning_says_when_the_run_asks_for_another_limit(tmp_path):
    from airflow_kaniko.manifest.loader import throttle_warning

    manifest = load(tmp_path, "max_parallel: 7\nimages:\n  - {name: a, context: app, repository: r/a}\n")
    assert throttle_warning(manifest, 7) is None
    assert "asks for max_parallel=7, but this run builds at most 3 at once" in throttle_warning(manifest, 3)


def test_no_registry_anywhere(tmp_path):
    with pytest.raises(ManifestError, match=r"images.yaml:2: images\[0\] \(a\): no registry"):
        load(tmp_path, "images:\n  - {name: a, context: app, repository: r/a}\n", registry=None)


def test_unknown_subset_name(tmp_path):
    with pytest.raises(ManifestError, match=r"no image named 'zzz'; the manifest has a"):
        load(tmp_path, "images:\n  - {name: a, context: app, repository: r/a}\n", only=["zzz"])


def test_over_long_list(tmp_path):
    entries = "".join(f"  - {{name: i{i}, context: app, repository: r/i{i}}}\n" for i in range(6))
    with pytest.raises(
        ManifestError,
        match=(
            r"images.yaml:2: 6 images exceed Airflow's core.max_map_length=5; raise it "
            r"\(AIRFLOW__CORE__MAX_MAP_LENGTH\) or split"
        ),
    ):
        load(tmp_path, "images:\n" + entries, max_images=5)


def test_each_platform_counts_against_max_map_length(tmp_path):
    # Three images of two platforms are six mapped build instances.
    entries = "".join(f"  - {{name: i{i}, context: app, repository: r/i{i}}}\n" for i in range(3))
    text = "defaults:\n  platforms: [linux/amd64, linux/arm64]\nimages:\n" + entries
    assert len(load(tmp_path, text, max_images=6).builds) == 3
    with pytest.raises(ManifestError, match=r"6 builds \(3 images, one per platform\) exceed Airflow's core.max_map_length=5"):
        load(tmp_path, text, max_images=5)


# Issue 8, item 5: a manifest named by a param, and the contexts it names, stay inside the allowed roots.
@pytest.fixture
def dags(tmp_path):
    root = tmp_path / "dags"
    (root / "images" / "app").mkdir(parents=True)
    (root / "images" / "app" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "elsewhere" / "app").mkdir(parents=True)
    (tmp_path / "elsewhere" / "app" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "elsewhere" / "images.yaml").write_text("images:\n  - {name: a, context: app, repository: r/a}\n")
    return root


def test_manifest_outside_the_allowed_roots_is_not_read(dags, tmp_path):
    for path in (tmp_path / "elsewhere" / "images.yaml", Path("/etc/passwd"), dags / ".." / "elsewhere" / "images.yaml"):
        with pytest.raises(ManifestError) as info:
            load_manifest(path, build_date=DATE, registry=REG, allowed_roots=[dags])
        assert "outside the allowed roots" in info.value.reason and str(dags) in info.value.reason
        assert info.value.path == str(path) and info.value.line is None


def test_manifest_symlinked_out_of_the_roots_refused(dags, tmp_path):
    (dags / "images" / "linked.yaml").symlink_to(tmp_path / "elsewhere" / "images.yaml")
    with pytest.raises(ManifestError, match="outside the allowed roots"):
        load_manifest(dags / "images" / "linked.yaml", build_date=DATE, registry=REG, allowed_roots=[dags])


@pytest.mark.parametrize("context", ["/etc", "../../elsewhere/app", "app/../../../elsewhere/app"])
def test_manifest_context_outside_the_roots_refused(dags, context):
    path = dags / "images" / "images.yaml"
    path.write_text(f"images:\n  - name: a\n    repository: r/a\n    context: {context}\n")
    with pytest.raises(ManifestError) as info:
        load_manifest(path, build_date=DATE, registry=REG, allowed_roots=[dags])
    assert info.value.line == 4 and info.value.where == "images[0] (a) field 'context'"
    assert "outside the allowed roots" in info.value.reason and str(dags) in info.value.reason


def test_manifest_contexts_default_to_the_manifest_folder(dags):
    path = dags / "images" / "images.yaml"
    path.write_text("images:\n  - {name: a, context: app, repository: r/a}\n")
    assert load_manifest(path, build_date=DATE, registry=REG).builds[0]["context"] == str(dags / "images" / "app")
    path.write_text("images:\n  - {name: a, context: ../images/../../elsewhere/app, repository: r/a}\n")
    with pytest.raises(ManifestError, match=r"images.yaml:2: images\[0\] \(a\) field 'context': .*outside the allowed roots"):
        load_manifest(path, build_date=DATE, registry=REG)


def test_manifest_inside_the_roots_loads(dags):
    path = dags / "images" / "images.yaml"
    path.write_text(
        "images:\n  - {name: a, context: app, repository: r/a}\n  - {name: b, context: 'git://h/r.git', repository: r/b}\n"
    )
    manifest = load_manifest(path, build_date=DATE, registry=REG, allowed_roots=[dags])
    assert [b["context"] for b in manifest.builds] == [str(dags / "images" / "app"), "git://h/r.git"]


def test_shipped_manifest_inside_the_dag_folder():
    assert load_manifest(SHIPPED, build_date=DATE, registry=REG, allowed_roots=[ROOT / "dags"]).names == [
        "hello",
        "app",
        "web",
        "app-shell",
    ]


# Issue 8, item 16: what would fail only inside a build task fails in prepare, with file:line, entry and field.
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "{name: a, context: nope, repository: r/a}",
            r"images.yaml:2: images\[0\] \(a\) field 'context': .*nope.* is not a directory",
        ),
        (
            "{name: a, context: app, repository: r/a, dockerfile: Dockerfile.prod}",
            r"images.yaml:2: images\[0\] \(a\) field 'dockerfile': 'Dockerfile.prod' does not exist in",
        ),
        (
            "{name: a, context: app, repository: r/a, dockerfile: ../Dockerfile}",
            r"field 'dockerfile': '../Dockerfile' must be a relative path inside the context",
        ),
        (
            "{name: a, context: 'git://h/r.git', repository: r/a, dockerfile: /kaniko/.docker/config.json}",
            r"field 'dockerfile': .* must be a relative path inside the context",
        ),
        (
            "{name: a, context: app, repository: r/a, resources: {requests: {cpu: lots}}}",
            r"field 'resources': requests.cpu 'lots' is not a Kubernetes quantity",
        ),
        (
            "{name: a, context: app, repository: r/a, resources: {limits: {memory: 1_000Mi}}}",
            r"field 'resources': limits.memory '1_000Mi' is not a Kubernetes quantity",
        ),
        (
            "{name: a, context: app, repository: r/a, resources: {limits: {memory: ' 1Gi'}}}",
            r"field 'resources': limits.memory ' 1Gi' is not a Kubernetes quantity",
        ),
        (
            "{name: a, context: app, repository: r/a, resources: {limits: {memory: NaN}}}",
            r"field 'resources': limits.memory 'NaN' is not a Kubernetes quantity",
        ),
        (
            "{name: a, context: app, repository: r/a, resources: {requests: {memory: -1Gi}}}",
            r"field 'resources': requests.memory '-1Gi' must not be negative",
        ),
        (
            "{name: a, context: app, repository: r/a, resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}}",
            r"field 'resources': requests.memory '2Gi' is more than limits.memory '1Gi'",
        ),
        (
            "{name: a, context: app, repository: r/a, resources: {requests: {gpu: 1}}}",
            r"field 'resources': requests 'gpu' is not a resource name",
        ),
    ],
)
def test_values_that_fail_later_fail_in_prepare(tmp_path, entry, expected):
    with pytest.raises(ManifestError, match=expected):
        load(tmp_path, f"images:\n  - {entry}\n")


def test_valid_resources_pass(tmp_path):
    text = (
        "images:\n  - {name: a, context: app, repository: r/a, resources: {requests: {cpu: 0.5, memory: 1Gi, "
        "nvidia.com/gpu: 1, ephemeral-storage: 2G}, limits: {memory: 1Gi, nvidia.com/gpu: 1}}}\n"
    )
    assert load(tmp_path, text).builds[0]["container_resources"]["requests"]["cpu"] == "0.5"


def test_inherited_resources_point_at_the_defaults_line(tmp_path):
    with pytest.raises(ManifestError, match=r"images.yaml:3: images\[0\] \(a\) field 'resources': requests.cpu '1x'"):
        load(tmp_path, "defaults: {resources: {requests: {cpu: 1x}}}\nimages:\n  - {name: a, context: app, repository: r/a}\n")


def test_the_quantity_parser_is_not_imported_at_dag_parse():
    import subprocess
    import sys

    code = "import sys, airflow_kaniko.manifest.loader; print(sorted(m for m in sys.modules if m.startswith('kubernetes')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


# Issue 8, item 4: a pull-through mirror for every image, now that --registry-mirror is refused in extra_args.
def test_registry_mirrors(tmp_path):
    manifest = load(tmp_path, "registry_mirrors: [mirror.example.com]\nimages:\n  - {name: a, context: app, repository: r/a}\n")
    assert manifest.builds[0]["registry_mirrors"] == ["mirror.example.com"]
    with pytest.raises(ManifestError, match=r"images.yaml:1: registry_mirrors: 'http://m' is not a registry host"):
        load(tmp_path, "registry_mirrors: ['http://m']\nimages:\n  - {name: a, context: app, repository: r/a}\n")
    with pytest.raises(
        ManifestError,
        match=r"field 'extra_args': '--registry-mirror=m.io' --registry-mirror defeats TLS verification or redirects image pulls",
    ):
        load(tmp_path, "images:\n  - {name: a, context: app, repository: r/a, extra_args: ['--registry-mirror=m.io']}\n")


def test_registry_ca_secret_refused_in_prepare(tmp_path):
    """Issue 17, item 2: the manifest is a param; a Secret named here would be mounted where RUN steps read it."""
    with pytest.raises(ManifestError, match=r"images.yaml:1: registry_ca: 'prod-pull-secret' is refused: a CA bundle is not"):
        load(
            tmp_path,
            "registry_ca: {secret: prod-pull-secret, key: ca.crt}\nimages:\n  - {name: a, context: app, repository: r}\n",
        )


def test_registry_ca_key_checked_in_prepare(tmp_path):
    with pytest.raises(ManifestError, match=r"images.yaml:1: registry_ca: '\.\.' is not a valid ConfigMap key"):
        load(
            tmp_path, "registry_ca: {config_map: registry-ca, key: '..'}\nimages:\n  - {name: a, context: app, repository: r/a}\n"
        )


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
    with pytest.raises(
        ManifestError, match=r"images.yaml:4: images\[1\] \(b\) field 'max_age': 'soon' must be a duration such as '7d'"
    ):
        load(
            tmp_path,
            "images:\n  - {name: a, context: app, repository: t/a}\n  - name: b\n    max_age: soon\n    context: "
            "app\n    repository: t/b\n",
        )
    with pytest.raises(ManifestError, match=r"images.yaml:2: defaults field 'max_age': '0d' must be positive"):
        load(tmp_path, "defaults:\n  max_age: 0d\nimages:\n  - {name: a, context: app, repository: t/a}\n")


def test_platforms_are_validated_and_inherited(tmp_path):
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\n")
    path = tmp_path / "images.yaml"
    path.write_text(
        "registry: reg.io\n"
        "defaults:\n  platforms: [linux/amd64, linux/arm64]\n"
        "images:\n"
        "  - {name: multi, context: ctx, repository: a}\n"
        "  - {name: one, context: ctx, repository: b, platforms: [linux/arm64], platform_node_selector: false}\n"
    )
    builds = {b["image_name"]: b for b in load_manifest(path, build_date=datetime(2026, 1, 1)).builds}
    assert builds["multi"]["platforms"] == ["linux/amd64", "linux/arm64"] and "platform_node_selector" not in builds["multi"]
    assert builds["one"]["platforms"] == ["linux/arm64"] and builds["one"]["platform_node_selector"] is False
    path.write_text(
        "registry: reg.io\nimages:\n  - name: bad\n    context: ctx\n    repository: a\n"
        "    platforms: [linux/amd64, 'linux/arm64;x']\n"
    )
    with pytest.raises(ManifestError) as err:
        load_manifest(path, build_date=datetime(2026, 1, 1))
    assert str(err.value) == (
        f"{path}:6: images[0] (bad) field 'platforms': 'linux/arm64;x' must be 'os/arch' or 'os/arch/variant', "
        "e.g. 'linux/amd64' or 'linux/arm/v7'"
    )
    path.write_text("registry: reg.io\nimages:\n  - {name: e, context: ctx, repository: a, platforms: []}\n")
    with pytest.raises(ManifestError, match="should be non-empty|is too short"):
        load_manifest(path, build_date=datetime(2026, 1, 1))
