import base64
import json

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.docker_config import registry_key, render_docker_config


def test_renders_auths_entry():
    config = json.loads(render_docker_config("10.244.77.1:5000", "builder", "p@ss:w0rd"))
    assert config == {"auths": {"10.244.77.1:5000": {"auth": base64.b64encode(b"builder:p@ss:w0rd").decode()}}}


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("https://registry.example.com/", "registry.example.com"),
        ("registry.example.com:5000", "registry.example.com:5000"),
        ("docker.io", "https://index.docker.io/v1/"),
        ("https://index.docker.io/v1/", "https://index.docker.io/v1/"),
    ],
)
def test_registry_key(host, key):
    assert registry_key(host) == key


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "u", "p"), "registry host"),
        (("reg.io/some/path", "u", "p"), "registry host"),
        (("reg.io", "", "p"), "registry login"),
        (("reg.io", "a:b", "p"), "registry login"),
        (("reg.io", "u", ""), "registry password"),
    ],
)
def test_bad_credentials(args, field):
    with pytest.raises(KanikoSpecError) as info:
        render_docker_config(*args)
    assert info.value.field == field


def test_password_never_in_error():
    with pytest.raises(KanikoSpecError) as info:
        render_docker_config("not a host", "user", "hunter2")
    assert "hunter2" not in str(info.value)
