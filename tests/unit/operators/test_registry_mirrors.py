"""Issue 8, item 4: a pull-through mirror is a typed parameter, since --registry-mirror is refused in extra_args."""

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator
from tests.conftest import ROOT

REG = "10.244.77.1:5000"
HELLO = str(ROOT / "dags" / "images" / "hello")
COMMON = {"task_id": "build", "namespace": "kaniko-builds", "context_roots": [HELLO]}


def test_single_build_renders_registry_mirrors():
    op = KanikoBuildOperator(
        context=HELLO, destinations=[f"{REG}/demo/hello:1"], registry_mirrors=["mirror.example.com:5000"], **COMMON
    )
    assert op.build_pod_request_obj(dry_run=True).spec.containers[0].args[-3] == "--registry-mirror=mirror.example.com:5000"
    assert "registry_mirrors" not in KanikoBuildOperator.template_fields


def test_multi_build_renders_registry_mirrors_for_every_build():
    builds = [{"name": n, "context": HELLO, "destinations": [f"{REG}/demo/{n}:1"]} for n in ("a", "b")]
    op = KanikoMultiBuildOperator(builds=builds, registry_mirrors=["mirror.example.com"], **COMMON)
    assert op.build_pod_request_obj(dry_run=True).spec.containers[0].args.count("--registry-mirror=mirror.example.com") == 2


def test_mirror_must_be_a_host():
    op = KanikoBuildOperator(
        context=HELLO, destinations=[f"{REG}/demo/hello:1"], registry_mirrors=["http://mirror.example.com"], **COMMON
    )
    with pytest.raises(KanikoSpecError) as info:
        op.build_pod_request_obj(dry_run=True)
    assert info.value.field == "registry_mirrors"


# The executor reads these variables as the refused flags' twins: refusing only the flags would leave a back door.
@pytest.mark.parametrize("name", ["KANIKO_REGISTRY_MIRROR", "KANIKO_REGISTRY_MAP", "KANIKO_NO_PUSH", "KANIKO_DIR"])
def test_environment_twins_of_refused_flags_refused(name):
    op = KanikoBuildOperator(context=HELLO, destinations=[f"{REG}/demo/hello:1"], env_vars={name: "x", "TZ": "UTC"}, **COMMON)
    with pytest.raises(KanikoSpecError) as info:
        op.build_pod_request_obj(dry_run=True)
    assert info.value.field == "env_vars" and info.value.value == name
