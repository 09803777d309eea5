import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import airflow_kaniko


def test_entry_point_points_at_get_provider_info():
    (ep,) = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_kaniko")]
    assert ep.load() is airflow_kaniko.get_provider_info


def test_provider_info():
    info = airflow_kaniko.get_provider_info()
    assert info["package-name"] == "airflow-provider-kaniko"
    assert info["versions"] == [airflow_kaniko.__version__] and info["versions"][0] != "0.0.0"
    modules = info["operators"][0]["python-modules"]
    for module in modules:
        __import__(module)
    (link,) = info["extra-links"]
    module, _, name = link.rpartition(".")
    link_class = getattr(__import__(module, fromlist=[name]), name)
    from airflow_kaniko.operators.image_index import KanikoImageIndexOperator
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator
    from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator

    for operator in (KanikoBuildOperator, KanikoMultiBuildOperator, KanikoImageIndexOperator):
        assert [type(link) for link in operator.operator_extra_links] == [link_class] and link_class.name == "Image"


def test_airflow_providers_list_shows_the_package():
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "-o", "plain"], capture_output=True, text=True, check=True
    ).stdout
    assert "airflow-provider-kaniko" in out


# The pure layers, whole packages (every module found on disk, not a hand list); make lint's import
# contracts check the same statically, this checks what importing them really loads.
PURE_PACKAGES = ("airflow_kaniko.kaniko", "airflow_kaniko.oci", "airflow_kaniko.maintenance")


def test_the_pure_layers_import_neither_airflow_nor_kubernetes():
    code = (
        "import importlib, pkgutil, sys; import airflow_kaniko.errors; "
        f"pkgs = {PURE_PACKAGES!r}; "
        "mods = [m.name for p in pkgs for m in pkgutil.walk_packages(importlib.import_module(p).__path__, p + '.')]; "
        "[importlib.import_module(m) for m in mods]; "
        "print(len(mods), sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'kubernetes'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert int(out[0]) >= 15  # it really imported the layers' modules
    assert out[1].strip() == "[]"


def test_provider_info_passes_airflows_own_schema():
    """Airflow's provider_info.schema.json, as the providers manager checks every provider's get_provider_info."""
    import json
    from importlib.resources import files

    import jsonschema

    schema = json.loads((files("airflow") / "provider_info.schema.json").read_text())
    info = airflow_kaniko.get_provider_info()
    jsonschema.validators.validator_for(schema)(schema).validate(info)
    bad = {**info, "asset-uris": [{"schemes": "oci", "to_openlineage_converter": 1}]}
    with pytest.raises(jsonschema.ValidationError):  # the check is real: a malformed entry fails it
        jsonschema.validators.validator_for(schema)(schema).validate(bad)


def test_the_oci_asset_uri_entry_is_registered_with_airflow():
    from airflow.sdk.definitions.asset import _get_uri_normalizer
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    from airflow_kaniko.assets.convention import sanitize_uri
    from airflow_kaniko.assets.events import create_asset
    from airflow_kaniko.openlineage.lineage import convert_asset_to_openlineage

    (uris,) = airflow_kaniko.get_provider_info()["asset-uris"]
    assert uris == {
        "schemes": ["oci"],
        "handler": "airflow_kaniko.assets.convention.sanitize_uri",
        "factory": "airflow_kaniko.assets.events.create_asset",
        "to_openlineage_converter": "airflow_kaniko.openlineage.lineage.convert_asset_to_openlineage",
    }
    assert _get_uri_normalizer("oci") is sanitize_uri  # what Airflow's Asset runs on every oci:// URI
    runtime = ProvidersManagerTaskRuntime()  # what the task runner and the OpenLineage provider read
    assert runtime.asset_factories["oci"] is create_asset
    assert runtime.asset_to_openlineage_converters["oci"] is convert_asset_to_openlineage


def test_hook_lineage_creates_the_repositorys_asset_through_the_factory():
    from airflow.sdk import Asset
    from airflow.sdk.lineage import get_hook_lineage_collector

    asset = get_hook_lineage_collector().create_asset(
        scheme="oci", asset_kwargs={"reference": "Index.Docker.IO/busybox:1@sha256:" + "1" * 64}, asset_extra={"k": "v"}
    )
    assert asset == Asset(uri="oci://docker.io/library/busybox", extra={"k": "v"})
