"""Issue 17, item 5: what only the DAG author may set about the executor's environment and TLS."""

import pytest
from kubernetes.client import models as k8s

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator
from tests.conftest import ROOT

REG = "10.244.77.1:5000"
HELLO = str(ROOT / "dags" / "images" / "hello")
COMMON = {"task_id": "build", "namespace": "kaniko-builds", "context_roots": [HELLO]}


@pytest.mark.parametrize(
    ("kwargs", "value"),
    [
        ({"env_from": [k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="mirror-env"))]}, "configMap/mirror-env"),
        ({"env_from": [k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="team-env"))]}, "secret/team-env"),
        ({"configmaps": ["mirror-env"]}, "configMap/mirror-env"),  # KPO turns these into env_from
    ],
)
def test_env_from_is_refused_before_anything_is_created(kwargs, value):
    op = KanikoBuildOperator(context=HELLO, destinations=[f"{REG}/demo/hello:1"], **kwargs, **COMMON)
    with pytest.raises(KanikoSpecError) as info:
        op.build_pod_request_obj(dry_run=True)
    assert (info.value.field, info.value.value) == ("env_from", value)


@pytest.mark.parametrize("operator", [KanikoBuildOperator, KanikoMultiBuildOperator])
def test_insecure_registries_is_not_templated(operator):
    assert "insecure_registries" not in operator.template_fields


def test_a_template_cannot_turn_tls_off():
    """A rendered param would have switched the push registry to plain HTTP; now it stays a literal and is refused."""
    op = KanikoBuildOperator(
        context=HELLO, destinations=[f"{REG}/demo/hello:1"], insecure_registries=["{{ params.plain }}"], **COMMON
    )
    op.render_template_fields({"params": {"plain": REG}})
    assert op.insecure_registries == ["{{ params.plain }}"]
    with pytest.raises(KanikoSpecError) as info:
        op.build_pod_request_obj(dry_run=True)
    assert (info.value.field, info.value.value) == ("insecure_registries", "{{ params.plain }}")
