import subprocess
import sys
from importlib.metadata import entry_points

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
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator
    from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator

    for operator in (KanikoBuildOperator, KanikoMultiBuildOperator):
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


def test_the_oci_asset_uri_handler_is_registered_with_airflow():
    from airflow.sdk.definitions.asset import _get_uri_normalizer
    from airflow_kaniko.assets.convention import sanitize_uri

    (uris,) = airflow_kaniko.get_provider_info()["asset-uris"]
    assert uris == {"schemes": ["oci"], "handler": "airflow_kaniko.assets.convention.sanitize_uri"}
    assert _get_uri_normalizer("oci") is sanitize_uri  # what Airflow's Asset runs on every oci:// URI
