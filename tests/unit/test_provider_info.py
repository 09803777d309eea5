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


def test_kaniko_layer_imports_neither_airflow_nor_kubernetes():
    code = (
        "import sys, airflow_kaniko.kaniko.spec, airflow_kaniko.kaniko.multi_build, airflow_kaniko.kaniko.context_archive, "
        "airflow_kaniko.kaniko.docker_config, airflow_kaniko.kaniko.termination, airflow_kaniko.kaniko.registry_ui, "
        "airflow_kaniko.kaniko.image_datasets, airflow_kaniko.kaniko.image_assets, airflow_kaniko.kaniko.platforms, "
        "airflow_kaniko.image_index, "
        "airflow_kaniko.manifest, airflow_kaniko.report; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'kubernetes'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_oci_asset_uri_handler_is_registered_with_airflow():
    from airflow.sdk.definitions.asset import _get_uri_normalizer
    from airflow_kaniko.kaniko.image_assets import sanitize_uri

    (uris,) = airflow_kaniko.get_provider_info()["asset-uris"]
    assert uris == {"schemes": ["oci"], "handler": "airflow_kaniko.kaniko.image_assets.sanitize_uri"}
    assert _get_uri_normalizer("oci") is sanitize_uri  # what Airflow's Asset runs on every oci:// URI
