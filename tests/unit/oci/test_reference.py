import pytest

from airflow_kaniko.oci import reference


@pytest.mark.parametrize(
    "ref",
    [
        "busybox",
        "library/busybox:1.36",
        "registry.example.com:5000/team/app:2026-11-27",
        "localhost/app",
        "10.244.77.1:5000/demo/hello:latest",
        "[::1]:5000/app:v1",
        "a__b/c-d.e/f---g:T_1.2-rc",
        f"reg.io/app:1@sha256:{'0' * 64}",
    ],
)
def test_valid(ref):
    assert reference.is_reference(ref)


@pytest.mark.parametrize(
    "ref",
    ["", "App", "app:", ":tag", "app:-bad", "reg.io//app", "app/", "reg.io/app:1 --insecure", "app@sha256:short", "a" * 256],
)
def test_invalid(ref):
    assert not reference.is_reference(ref)


def test_registry_of():
    assert reference.registry_of("10.244.77.1:5000/demo/hello:1") == "10.244.77.1:5000"
    assert reference.registry_of("localhost/app") == "localhost"
    assert reference.registry_of("team/app") == "docker.io"
    assert reference.registry_of("busybox") == "docker.io"


def test_repository_and_registry():
    assert reference.is_repository("reg.io:5000/cache/app")
    assert not reference.is_repository("reg.io/cache/app:1")
    assert reference.is_registry("reg.io:5000")
    assert not reference.is_registry("reg.io/path")


@pytest.mark.parametrize("ref", ["reg.io/app:tåg٣", "app:٣", "app:é", "app:_ok\u00b2"])
def test_unicode_word_characters_are_not_tag_characters(ref):
    assert not reference.is_reference(ref)


def test_tag_grammar_edges():
    assert reference.is_reference("app:_" + "a" * 127)
    assert not reference.is_reference("app:_" + "a" * 128)
    assert reference.is_reference("app:A.b-C_9")


@pytest.mark.parametrize(
    "ref", ["busybox", "index.docker.io/busybox", "Index.Docker.IO/busybox", "REGISTRY-1.docker.io/library/busybox"]
)
def test_docker_hub_under_any_of_its_names_and_any_case(ref):
    parsed = reference.parse_reference(ref)
    assert (parsed.registry, parsed.repository) == ("docker.io", "library/busybox")
