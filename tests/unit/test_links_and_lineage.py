"""The Image link and the OpenLineage facets' pure parts; the real dag.test() run is in tests/integration."""

import subprocess
import sys

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.openlineage.naming import (
    ImageDataset,
    check_base_images,
    final_images,
    image_datasets,
    pushed_images,
    uri_dataset,
)

BASE = "docker.io/library/python:3.12-slim@sha256:" + "ba" * 32


def test_importing_the_operators_imports_no_openlineage():
    code = (
        "import sys, airflow; "
        "ol = lambda: {m for m in sys.modules if 'openlineage' in m and not m.startswith('airflow_kaniko')}; before = ol(); "
        "import airflow_kaniko.operators.kaniko, airflow_kaniko.operators.multi_build, airflow_kaniko.operators.image_index; "
        "print(sorted(ol() - before), sorted(before))"
    )
    # The last line: some Airflow versions log to stdout while importing.
    out = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
        .split("]", 1)
    )
    assert out[0] == "["  # nothing new: no openlineage client, no provider module
    # ``import airflow`` itself reads every installed provider's metadata, and nothing more of it
    assert out[1].strip() in ("[]", "['airflow.providers.openlineage', 'airflow.providers.openlineage.get_provider_info']")


def test_image_datasets_naming():
    d, e = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    assert image_datasets(
        [
            f"reg.io/a:1@{d}",
            f"reg.io/a:latest@{d}",
            f"reg.io/a@{d}",
            f"reg.io/a:2@{e}",  # another image of the same repository: the same dataset, another version
            "busybox:1.36",
            f"index.docker.io/busybox@{d}",
            "reg.io/b",
            f"Reg.IO:5000/a:1@{d}",
        ]
    ) == [
        ImageDataset("oci://reg.io", "a", d, ("1", "latest")),
        ImageDataset("oci://reg.io", "a", e, ("2",)),
        ImageDataset("oci://docker.io", "library/busybox", None, ("1.36",)),  # known by tag only: no version
        ImageDataset("oci://docker.io", "library/busybox", d),
        ImageDataset("oci://reg.io", "b", None, ("latest",)),
        ImageDataset("oci://reg.io:5000", "a", d, ("1",)),
    ]


@pytest.mark.parametrize(
    "reference",
    [
        "busybox:1.36",
        "index.docker.io/busybox@sha256:" + "1" * 64,
        "Index.Docker.IO/busybox:1",
        "registry-1.docker.io/acme/app:1",
        "Registry.Example.COM:5000/team/app:1@sha256:" + "1" * 64,
        "10.244.77.1:5000/demo/hello",
        "[::1]:5000/demo/hello:1",
        "ghcr.io/acme/tools/cli:2",
    ],
)
def test_a_dataset_is_its_repositorys_asset(reference):
    """namespace/name is the Asset URI the build emits for the same push, and Airflow's own normalized URI."""
    from airflow.sdk import Asset
    from airflow_kaniko.assets.convention import image_uri

    (dataset,) = image_datasets([reference])
    assert f"{dataset.namespace}/{dataset.name}" == dataset.uri == image_uri(reference)
    assert Asset(uri=dataset.uri).normalized_uri == dataset.uri
    assert uri_dataset(Asset(uri=image_uri(reference)).normalized_uri) == ImageDataset(dataset.namespace, dataset.name)


@pytest.mark.parametrize(
    "uri", ["s3://bucket/key", "oci://reg.io", "oci://reg.io/Team/App", "oci://reg.io/a?x=1", "oci:///a", "oci://bad host/a"]
)
def test_uri_dataset_refuses_what_is_not_a_repository_uri(uri):
    with pytest.raises(ValueError, match="is not an image repository's Asset URI such as 'oci://registry.example.com/team/app'"):
        uri_dataset(uri)


def test_final_images_leave_out_platform_staging_pushes():
    d = "sha256:" + "3" * 64
    staging = {"digest": d, "images": [f"r.io/a:1-linux-arm64@{d}"], "platform": "linux/arm64", "destinations": ["r.io/a:1"]}
    index = {"digest": d, "images": [f"r.io/a:1@{d}"], "platforms": {"linux/arm64": d}, "destinations": ["r.io/a:1"]}
    assert pushed_images(staging) == [f"r.io/a:1-linux-arm64@{d}"]  # the link still shows the staging push
    assert final_images(staging) == [] and final_images([staging, index]) == final_images(index) == [f"r.io/a:1@{d}"]


def test_pushed_images_of_every_result_shape():
    d = "sha256:" + "2" * 64
    assert pushed_images({"digest": d, "images": [f"r.io/a:1@{d}"]}) == [f"r.io/a:1@{d}"]
    assert pushed_images({"failed": True, "failure": {}, "destinations": ["r.io/a:1"]}) == []
    assert pushed_images({"dry_run": True, "pod": "p", "destinations": ["r.io/a:1"]}) == []
    assert pushed_images(None) == []
    multi = [
        {"name": "a", "status": "succeeded", "digest": d, "images": [f"r.io/a:1@{d}"]},
        {"name": "b", "status": "failed", "digest": None, "images": []},
        {"name": "c", "status": "skipped", "digest": None, "images": []},
    ]
    assert pushed_images(multi) == [f"r.io/a:1@{d}"]


@pytest.mark.parametrize("bad", ["docker.io/library/python:3.12", ["not a ref"], [None], {"a": 1}])
def test_bad_base_images_name_the_field(bad):
    with pytest.raises(KanikoSpecError, match="base_images"):
        check_base_images(bad)
    assert check_base_images([BASE]) == [BASE] and check_base_images(None) == []


def test_bad_base_images_fail_before_any_pod():
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

    op = KanikoBuildOperator(
        task_id="b",
        context="git://github.com/acme/app.git",
        destinations=["r.io/a:1"],
        base_images=["python 3"],
        render_only=True,
    )
    with pytest.raises(KanikoSpecError, match="base_images='python 3'"):
        op.build_pod_request_obj(dry_run=True)
