"""The build packs the context the plan fingerprinted, or fails before any pod (issue 18, item 3)."""

import shutil

import pytest

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.context_archive import pack_context
from airflow_kaniko.operators.kaniko import KanikoBuildFailed, KanikoBuildOperator, KanikoContextChanged
from airflow_kaniko.results import BuildFailure
from tests.unit.operators.fake_kube import FakeCoreV1, FakeTI
from tests.unit.operators.test_kaniko import CONTEXT, REG

DESTINATIONS = [f"{REG}/demo/hello:1", f"{REG}/demo/hello:latest"]


@pytest.fixture
def context(tmp_path):
    copy = tmp_path / "hello"
    shutil.copytree(CONTEXT, copy)
    return copy


def operator(directory, **overrides):
    kwargs = {
        "task_id": "build",
        "namespace": "kaniko-builds",
        "context": str(directory),
        "destinations": DESTINATIONS,
        "registry_conn_id": "kaniko_registry",
        "image_name": "hello",
        "durable": False,
        "context_roots": [str(directory.parent)],
    }
    op = KanikoBuildOperator(**{**kwargs, **overrides})
    op.__dict__["client"] = FakeCoreV1()
    return op


def test_the_planned_context_builds(context):
    planned = pack_context(context).tar_digest
    pod = operator(context, context_digest=planned).build_pod_request_obj(dry_run=True)
    assert pod.metadata.name.startswith("kaniko-hello-")


def test_a_context_edited_since_the_plan_fails_before_any_pod_naming_both_digests(context, registry_conn):
    planned = pack_context(context).tar_digest
    (context / "hello.sh").write_text("echo edited after prepare\n")
    packed = pack_context(context).tar_digest
    op = operator(context, context_digest=planned)
    ti = FakeTI()
    with pytest.raises(KanikoContextChanged) as info:
        op.execute({"ti": ti})
    detail = f"{context} packs to {packed} but the plan fingerprinted {planned}"
    assert str(info.value) == (
        f"The context of hello changed since it was planned: {detail}; not built, no pod created "
        "(a retry packs it again; the next run plans the context as it is now)"
    )
    assert isinstance(info.value, KanikoBuildFailed) and not isinstance(info.value, AirflowFailException)  # retried
    assert info.value.failure == BuildFailure("context", True, detail)
    assert op.client.calls == []  # no pod, no Secret, no ConfigMap
    assert ti.xcoms == {
        "return_value": {
            "failed": True,
            "failure": {"kind": "context", "retryable": True, "detail": detail},
            "destinations": DESTINATIONS,
        }
    }


def test_a_platform_build_of_an_edited_context_fails_as_that_platform(context, registry_conn):
    planned = pack_context(context).tar_digest
    (context / "new-file").write_text("added after prepare\n")
    ti = FakeTI()
    with pytest.raises(KanikoContextChanged):
        operator(context, context_digest=planned, platform="linux/arm64").execute({"ti": ti})
    assert ti.xcoms["return_value"]["platform"] == "linux/arm64"
    assert ti.xcoms["return_value"]["destinations"] == DESTINATIONS  # the image's, which the merge step matches


def test_without_a_context_digest_an_edited_context_is_packed_as_it_is(context):
    (context / "hello.sh").write_text("echo edited\n")
    operator(context).build_pod_request_obj(dry_run=True)  # an operator used directly checks nothing


@pytest.mark.parametrize(
    "value",
    ["sha256:" + "A" * 64, "sha256:" + "a" * 63, "a" * 64, "sha512:" + "a" * 64, " sha256:" + "a" * 64, 7, "{{ x }}"],
)
def test_a_context_digest_that_is_not_a_sha256_is_refused(context, value):
    with pytest.raises(KanikoSpecError) as info:
        operator(context, context_digest=value)
    assert info.value.field == "context_digest" and info.value.value == value


def test_a_context_digest_needs_a_local_context(context):
    op = operator(context, context="git://github.com/acme/app.git#refs/heads/main", context_digest="sha256:" + "a" * 64)
    with pytest.raises(KanikoSpecError, match="needs a local context") as info:
        op.build_pod_request_obj(dry_run=True)
    assert info.value.field == "context_digest"


def test_context_digest_is_not_templated():
    assert "context_digest" not in KanikoBuildOperator.template_fields


def _packed_dockerfile(op):
    import io
    import tarfile

    (archive,) = op._archives.values()
    with tarfile.open(fileobj=io.BytesIO(archive.data), mode="r:gz") as tar:
        return tar.extractfile("./Dockerfile").read().decode()


def test_the_planned_bases_are_pinned_in_the_packed_dockerfile_and_the_file_on_disk_is_untouched(context):
    text = (context / "Dockerfile").read_text()
    planned = pack_context(context).tar_digest
    digest = "sha256:" + "b" * 64
    base = f"{REG}/library/busybox:latest"
    pins = [{"line": 2, "written": "${BASE}", "pinned": f"{base}@{digest}"}]
    op = operator(context, context_digest=planned, base_pins=pins, build_args={"BASE": base})
    op.build_pod_request_obj(dry_run=True)
    assert text.splitlines()[1] == "FROM ${BASE}"
    assert _packed_dockerfile(op) == text.replace("FROM ${BASE}", f"FROM {base}@{digest}")
    assert (context / "Dockerfile").read_text() == text


def test_pins_that_do_not_fit_the_dockerfile_fail_before_any_pod_naming_the_field(context):
    pins = [{"line": 2, "written": "reg.io/other:1", "pinned": "reg.io/other:1@sha256:" + "b" * 64}]
    op = operator(context, base_pins=pins, build_args={"BASE": f"{REG}/library/busybox:latest"})
    expected = r"^base_pins=.*cannot be applied to the packed Dockerfile: Dockerfile:2: cannot pin"
    with pytest.raises(KanikoSpecError, match=expected):
        op.build_pod_request_obj(dry_run=True)
    with pytest.raises(KanikoSpecError, match=r"^base_pins='x': must be a list"):
        operator(context, base_pins="x")
