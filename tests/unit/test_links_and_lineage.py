"""The Image link and the OpenLineage facets' pure parts; the real dag.test() run is in tests/integration."""

import subprocess
import sys

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.openlineage.naming import ImageDataset, check_base_images, image_datasets, pushed_images

BASE = "docker.io/library/python:3.12-slim@sha256:" + "ba" * 32


def test_importing_the_operators_imports_no_openlineage():
    code = (
        "import sys, airflow; "
        "ol = lambda: {m for m in sys.modules if 'openlineage' in m and not m.startswith('airflow_kaniko')}; before = ol(); "
        "import airflow_kaniko.operators.kaniko, airflow_kaniko.operators.multi_build; "
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
    d = "sha256:" + "1" * 64
    assert image_datasets(
        [f"reg.io/a:1@{d}", f"reg.io/a:latest@{d}", f"reg.io/a@{d}", "busybox:1.36", f"index.docker.io/busybox@{d}", "reg.io/b"]
    ) == [
        ImageDataset("oci://reg.io", f"a@{d}", ("a:1", "a:latest")),
        ImageDataset("oci://docker.io", "library/busybox:1.36"),  # known by tag only
        ImageDataset("oci://docker.io", f"library/busybox@{d}"),
        ImageDataset("oci://reg.io", "b:latest"),
    ]


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
