"""The OpenLineage datasets the operators report and the ``oci`` converter gives, as the events carry them (JSON)."""

import pytest
from openlineage.client.serde import Serde

from airflow.sdk import Asset
from airflow_kaniko.openlineage.lineage import convert_asset_to_openlineage, image_lineage
from tests.unit.operators.test_kaniko import REG, ti_recorder
from tests.unit.operators.test_platforms import FINAL, MemoryRegistry, platform_result

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
BASE = f"docker.io/library/python:3.12-slim@{D2}"
FACETS = {"version": "DatasetVersionDatasetFacet", "tags": "TagsDatasetFacet"}  # OpenLineage's standard facets


def as_json(datasets):
    """What the event carries, without the client's ``_producer``; each facet's schema URL checked on the way."""
    out = []
    for dataset in map(Serde.to_dict, datasets):
        facets = {}
        for key, facet in dataset.get("facets", {}).items():
            facet.pop("_producer")
            schema = facet.pop("_schemaURL")
            assert schema.startswith("https://openlineage.io/spec/facets/"), schema
            assert schema.endswith(f"/{FACETS[key]}.json#/$defs/{FACETS[key]}"), schema
            facets[key] = facet
        out.append((dataset["namespace"], dataset["name"], facets))
    return out


def version(digest):
    return {"datasetVersion": digest}


def tags(*names):
    return {"tags": [{"key": "tag", "value": name, "source": "oci"} for name in names]}


def test_two_builds_of_one_repository_are_one_dataset_with_two_versions():
    first = image_lineage([BASE], {"digest": D1, "images": [f"Reg.IO/team/app:1.0@{D1}", f"reg.io/team/app:latest@{D1}"]})
    second = image_lineage([BASE], {"digest": D2, "images": [f"reg.io/team/app:1.1@{D2}"]})
    assert as_json(first.outputs) == [("oci://reg.io", "team/app", {"version": version(D1), "tags": tags("1.0", "latest")})]
    assert as_json(second.outputs) == [("oci://reg.io", "team/app", {"version": version(D2), "tags": tags("1.1")})]
    assert (
        as_json(first.inputs)
        == as_json(second.inputs)
        == [("oci://docker.io", "library/python", {"version": version(D2), "tags": tags("3.12-slim")})]
    )


def test_a_base_known_by_tag_only_has_no_version_and_nothing_pushed_has_no_output():
    lineage = image_lineage(["busybox:1.36", "reg.io/tools/builder"], {"dry_run": True, "pod": "p", "destinations": ["r.io/a:1"]})
    assert as_json(lineage.inputs) == [
        ("oci://docker.io", "library/busybox", {"tags": tags("1.36")}),
        ("oci://reg.io", "tools/builder", {"tags": tags("latest")}),
    ]
    assert lineage.outputs == []


def test_a_multi_build_reports_each_repository_it_pushed():
    multi = [
        {"name": "app", "status": "succeeded", "digest": D1, "images": [f"quay.io/acme/app:1@{D1}"]},
        {"name": "cli", "status": "succeeded", "digest": D2, "images": [f"quay.io/acme/cli:1@{D2}"]},
        {"name": "doc", "status": "failed", "digest": None, "images": []},
    ]
    assert as_json(image_lineage([], multi).outputs) == [
        ("oci://quay.io", "acme/app", {"version": version(D1), "tags": tags("1")}),
        ("oci://quay.io", "acme/cli", {"version": version(D2), "tags": tags("1")}),
    ]


def test_a_platform_build_reports_its_bases_but_not_its_staging_push():
    staging = {**platform_result("linux/arm64", D1), "images": [f"{REG}/demo/hello:1-linux-arm64@{D1}"]}
    lineage = image_lineage([BASE], staging)
    assert [name for _, name, _ in as_json(lineage.inputs)] == ["library/python"]
    assert lineage.outputs == []  # the index task reports the image


def test_the_converter_gives_the_operators_dataset_of_the_repository_without_a_version():
    """The path the OpenLineage provider takes for an ``oci://`` Asset in inlets or outlets: the registered converter."""
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset

    pushed = image_lineage([], {"digest": D1, "images": [f"index.docker.io/busybox:1@{D1}"]}).outputs
    asset = Asset(uri="oci://Index.Docker.IO/busybox")  # Airflow normalizes it with the oci handler
    assert asset.uri == "oci://docker.io/library/busybox"
    converted = translate_airflow_asset(asset, None)
    assert converted is not None and as_json([converted]) == [("oci://docker.io", "library/busybox", {})]
    assert as_json([convert_asset_to_openlineage(asset, None)]) == as_json([converted])
    assert (converted.namespace, converted.name) == (pushed[0].namespace, pushed[0].name)


def test_the_converter_refuses_another_scheme_naming_the_uri():
    with pytest.raises(ValueError, match="'s3://bucket/key' is not an image repository's Asset URI"):
        convert_asset_to_openlineage(Asset(uri="s3://bucket/key"), None)


def test_the_index_operator_reports_the_index_and_the_bases(monkeypatch):
    """The real execute against an in-memory registry, then the listener's call: output = the index digest."""
    import airflow_kaniko.hooks.registry as hooks
    from airflow_kaniko.operators.image_index import KanikoImageIndexOperator

    registry = MemoryRegistry()
    amd, arm = registry.add_image("demo/hello", "linux", "amd64"), registry.add_image("demo/hello", "linux", "arm64")

    class Clients:
        def __enter__(self):
            return registry

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(hooks, "registries", lambda conn_id: Clients())
    op = KanikoImageIndexOperator(
        task_id="index",
        destinations=FINAL,
        platforms=["linux/amd64", "linux/arm64"],
        builds=[platform_result("linux/amd64", amd), platform_result("linux/arm64", arm)],
        base_images=[BASE],
    )
    context, pushed = ti_recorder()
    result = op.execute(context)
    index = registry.manifests["demo/hello", "1"].digest
    assert result["digest"] == index and index not in (amd, arm)
    lineage = op.get_openlineage_facets_on_complete(None)
    assert as_json(lineage.outputs) == [(f"oci://{REG}", "demo/hello", {"version": version(index), "tags": tags("1", "latest")})]
    assert as_json(lineage.inputs) == [("oci://docker.io", "library/python", {"version": version(D2), "tags": tags("3.12-slim")})]
    failed = op.get_openlineage_facets_on_failure(None)
    assert failed.outputs == [] and as_json(failed.inputs) == as_json(lineage.inputs)


def test_the_index_operator_refuses_bad_base_images_before_any_registry_call(monkeypatch):
    import airflow_kaniko.hooks.registry as hooks
    from airflow_kaniko.errors import KanikoSpecError
    from airflow_kaniko.operators.image_index import KanikoImageIndexOperator

    monkeypatch.setattr(hooks, "registries", lambda conn_id: pytest.fail("no registry call for a bad value"))
    op = KanikoImageIndexOperator(task_id="index", destinations=FINAL, platforms=["linux/amd64"], builds=[], base_images="python")
    with pytest.raises(KanikoSpecError, match="base_images='python'"):
        op.execute(ti_recorder()[0])
    assert "base_images" in op.template_fields
