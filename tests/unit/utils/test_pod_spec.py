import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.utils.pod_spec import RegistryCA

REG = "10.244.77.1:5000"


def test_registry_ca_parses_keys_kubernetes_accepts():
    ca = RegistryCA.parse_all({"registry": REG, "config_map": "registry-ca", "key": "bundle.pem"})[0]
    assert ca.certificate(0).path == "/kaniko/registry-ca/0/bundle.pem"
    assert RegistryCA.parse_all({"registry": REG, "secret": "ca"})[0].key == "ca.crt"
    assert RegistryCA.parse_all({"registry": REG, "secret": "ca", "key": ".ca.crt"})[0].key == ".ca.crt"


# Issue 8, item 9: '..' would mount the CA directory itself as the certificate; Kubernetes refuses these keys too.
@pytest.mark.parametrize("key", ["..", ".", "..ca.crt", "", "a/b", "k" * 254])
def test_registry_ca_key_that_is_not_a_file_name_refused(key):
    with pytest.raises(KanikoSpecError) as info:
        RegistryCA.parse_all({"registry": REG, "config_map": "registry-ca", "key": key})
    assert info.value.field == "registry_ca.key" and info.value.value == key
