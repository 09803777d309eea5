"""The registry adapter against the local cluster's real registry: htpasswd basic auth, TLS from its own CA."""

import uuid

import pytest
from registry_seed import Seeder

from airflow_kaniko.oci.registry_client import Credentials, Registries, Registry, RegistryError


@pytest.fixture
def registry(cluster):
    with Registry(cluster.registry, credentials=Credentials(*cluster.credentials()), ca_file=cluster.registry_ca) as client:
        yield client


def test_resolve_retag_and_read_config(registry, cluster):
    repo = f"e2e-adapter-{uuid.uuid4().hex[:8]}/busybox"
    source = registry.digest("library/busybox", "latest")
    assert source and source.startswith("sha256:")
    seeder = Seeder(cluster.registry, Credentials(*cluster.credentials()), cluster.registry_ca)
    assert seeder.copy("library/busybox", "latest", repo, ["latest"]) == source  # blobs mounted, same bytes
    assert registry.retag(repo, "latest", ["a", "b"]) == source
    assert [registry.digest(repo, t) for t in ("latest", "a", "b")] == [source] * 3
    assert sorted(registry.tags(repo)) == ["a", "b", "latest"]
    manifest = registry.manifest(repo, "a")
    assert manifest.digest == source and registry.config(repo, manifest)["rootfs"]["type"] == "layers"
    assert registry.digest(repo, "missing") is None
    with Registries(
        {cluster.registry: Credentials(*cluster.credentials())}, {cluster.registry: cluster.registry_ca}
    ) as registries:
        assert registries.resolve(f"{cluster.registry}/{repo}:b") == source


def test_wrong_password_no_credentials_and_no_ca_are_named(cluster):
    user, _ = cluster.credentials()
    cases = [
        (dict(credentials=Credentials(user, "wrong"), ca_file=cluster.registry_ca), f"unauthorised (HTTP 401) as '{user}'"),
        (dict(ca_file=cluster.registry_ca), "unauthorised (HTTP 401) anonymously"),
        (dict(credentials=Credentials(*cluster.credentials())), "TLS certificate not trusted"),
    ]
    for options, message in cases:
        with pytest.raises(RegistryError) as err:
            Registry(cluster.registry, backoff=0.01, **options).digest("library/busybox", "latest")
        assert str(err.value).startswith(f"registry {cluster.registry}: library/busybox:latest: ") and message in str(err.value)


def test_seeder_copy_labelled_pushes_a_new_config_carrying_the_labels(registry, cluster):
    """What dev/bench_maintenance.py seeds: an image the planner's label check accepts, on busybox's own layers."""
    from airflow_kaniko.maintenance.planner import _labelled

    repo = f"e2e-adapter-{uuid.uuid4().hex[:8]}/seeded"
    seeder = Seeder(cluster.registry, Credentials(*cluster.credentials()), cluster.registry_ca)
    source = registry.manifest("library/busybox", "latest")
    digest = seeder.copy_labelled("library/busybox", "latest", repo, ["fp-a", "fp-b"], {"dev.airflow-kaniko.fingerprint": "a"})
    assert digest != source.digest
    assert [registry.digest(repo, t) for t in ("fp-a", "fp-b")] == [digest] * 2
    seeded = registry.manifest(repo, "fp-a")
    assert seeded.media_type == source.media_type and seeded.json()["layers"] == source.json()["layers"]
    config, original = registry.config(repo, seeded), registry.config("library/busybox", source)
    assert config["config"]["Labels"] == {**(original["config"].get("Labels") or {}), "dev.airflow-kaniko.fingerprint": "a"}
    assert {k: v for k, v in config["config"].items() if k != "Labels"} == {
        k: v for k, v in original["config"].items() if k != "Labels"
    }
    assert config["rootfs"] == original["rootfs"]
    assert _labelled(registry, repo, seeded, "a") and not _labelled(registry, repo, seeded, "b")
    plain = seeder.copy("library/busybox", "latest", repo, ["plain"])
    assert not _labelled(registry, repo, registry.manifest(repo, plain), "a")
