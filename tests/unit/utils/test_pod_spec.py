import pytest
from kubernetes.client import models as k8s

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.registry_ca import RegistryCA
from airflow_kaniko.utils.pod_spec import check_executor_env, registry_ca_volume

REG = "10.244.77.1:5000"


def test_registry_ca_parses_keys_kubernetes_accepts():
    ca = RegistryCA.parse_all({"registry": REG, "config_map": "registry-ca", "key": "bundle.pem"})[0]
    assert ca.certificate(0).path == "/kaniko/registry-ca/0/bundle.pem"
    assert RegistryCA.parse_all({"registry": REG, "config_map": "ca"})[0].key == "ca.crt"
    assert RegistryCA.parse_all({"registry": REG, "config_map": "ca", "key": ".ca.crt"})[0].key == ".ca.crt"
    volume, mount = registry_ca_volume(RegistryCA.parse_all({"registry": REG, "config_map": "ca"})[0], 1)
    assert (volume.name, volume.secret) == ("registry-ca-1", None)
    assert volume.config_map == k8s.V1ConfigMapVolumeSource(name="ca", items=[k8s.V1KeyToPath(key="ca.crt", path="ca.crt")])
    assert (mount.mount_path, mount.read_only) == ("/kaniko/registry-ca/1", True)


# Issue 17, item 2: a Secret named here would be mounted into the executor, where a RUN step reads it.
@pytest.mark.parametrize(
    "value",
    [
        {"registry": REG, "secret": "prod-pull-secret", "key": ".dockerconfigjson"},
        {"registry": REG, "secret": "prod-pull-secret", "config_map": "registry-ca"},
        [{"registry": REG, "config_map": "registry-ca"}, {"registry": "other:5000", "secret": "prod-pull-secret"}],
    ],
)
def test_registry_ca_refuses_a_secret(value):
    with pytest.raises(KanikoSpecError) as info:
        RegistryCA.parse_all(value)
    assert (info.value.field, info.value.value) == ("registry_ca.secret", "prod-pull-secret")
    assert "use config_map" in info.value.reason


@pytest.mark.parametrize("name", [None, "", "UPPER", "a/b", 7])
def test_registry_ca_config_map_must_be_an_object_name(name):
    with pytest.raises(KanikoSpecError) as info:
        RegistryCA.parse_all({"registry": REG, "config_map": name})
    assert (info.value.field, info.value.value) == ("registry_ca.config_map", name)


# Issue 8, item 9: '..' would mount the CA directory itself as the certificate; Kubernetes refuses these keys too.
@pytest.mark.parametrize("key", ["..", ".", "..ca.crt", "", "a/b", "k" * 254])
def test_registry_ca_key_that_is_not_a_file_name_refused(key):
    with pytest.raises(KanikoSpecError) as info:
        RegistryCA.parse_all({"registry": REG, "config_map": "registry-ca", "key": key})
    assert info.value.field == "registry_ca.key" and info.value.value == key


def executor(**kwargs):
    return k8s.V1Container(name="kaniko", **kwargs)


# Issue 17, item 5: env_from brings in names nobody checked, e.g. a ConfigMap holding KANIKO_REGISTRY_MIRROR.
@pytest.mark.parametrize(
    ("source", "value"),
    [
        (k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="mirror-env")), "configMap/mirror-env"),
        (k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="team-env")), "secret/team-env"),
        (k8s.V1EnvFromSource(prefix="KANIKO_", config_map_ref=k8s.V1ConfigMapEnvSource(name="x")), "configMap/x"),
    ],
)
def test_env_from_is_refused_on_the_executor(source, value):
    with pytest.raises(KanikoSpecError) as info:
        check_executor_env([executor(), k8s.V1Container(name="pusher", env_from=[source])])
    assert (info.value.field, info.value.value) == ("env_from", value)
    assert "name each variable in env_vars" in info.value.reason


def test_executor_env_named_variables_are_checked():
    check_executor_env([executor(env=[k8s.V1EnvVar(name="HTTPS_PROXY", value="http://proxy:3128")])])
    with pytest.raises(KanikoSpecError) as info:
        check_executor_env([executor(env=[k8s.V1EnvVar(name="KANIKO_REGISTRY_MIRROR", value="mirror.example.com")])])
    assert (info.value.field, info.value.value) == ("env_vars", "KANIKO_REGISTRY_MIRROR")
    assert info.value.reason.endswith("; use registry_mirrors")
