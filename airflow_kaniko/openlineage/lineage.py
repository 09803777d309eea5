"""OpenLineage for image builds: base images in, pushed images out, named as in openlineage/naming.py.

The OpenLineage provider calls these methods when it is installed; openlineage is imported only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Asset
    from airflow_kaniko.openlineage.naming import ImageDataset


class ImageLineageMixin:
    """The provider's operator lineage methods, for an operator with ``base_images`` and a ``_result``
    (its XCom value: a build's, a multi-build's or an image index's)."""

    base_images: Sequence[str]

    def lineage_base_images(self) -> list[str]:
        """The images this build starts from (best pinned by digest): ``base_images`` as given.

        The plug point for reading them from the Dockerfile instead: override, or set ``base_images``
        before the task runs (the maintenance DAG's ``prepare`` knows them when it fingerprints).
        """
        from airflow_kaniko.openlineage.naming import check_base_images

        return check_base_images(self.base_images)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        # The result this process holds, not the XCom: the provider calls this in a forked child,
        # where a round trip to the task's supervisor can hang.
        return image_lineage(self.lineage_base_images(), getattr(self, "_result", None))

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        # Only the inputs: the outputs of a multi-build that pushed some images before failing are in its XCom.
        return image_lineage(self.lineage_base_images(), None)


def image_lineage(base_images: Sequence[str], result: Any) -> OperatorLineage:
    """Inputs: the base images; outputs: the images in the result but a platform build's staging push.

    Each a repository's dataset, its digest as the version, its tags in the ``tags`` facet.
    """
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow_kaniko.openlineage.naming import final_images, image_datasets

    inputs = [openlineage_dataset(image) for image in image_datasets(base_images)]
    outputs = [openlineage_dataset(image) for image in image_datasets(final_images(result))]
    return OperatorLineage(inputs=inputs, outputs=outputs)


def openlineage_dataset(image: ImageDataset) -> Dataset:
    """The OpenLineage Dataset of ``image``: ``version`` facet = digest, ``tags`` facet = its tags."""
    from openlineage.client.facet_v2 import dataset_version_dataset, tags_dataset

    from airflow.providers.common.compat.openlineage.facet import Dataset

    facets: dict[str, Any] = {}
    if image.version:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=image.version)
    if image.tags:
        tags = [tags_dataset.TagsDatasetFacetFields(key="tag", value=tag, source="oci") for tag in image.tags]
        facets["tags"] = tags_dataset.TagsDatasetFacet(tags=tags)
    return Dataset(namespace=image.namespace, name=image.name, facets=facets)


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Dataset:
    """The ``to_openlineage_converter`` of the ``oci`` scheme (``asset-uris`` in ``get_provider_info``).

    The OpenLineage provider calls it for an ``oci://<registry>/<repository>`` Asset in a task's
    inlets or outlets, with the URI Airflow normalized; the dataset is the one the build operators
    report for that repository (``openlineage/naming.py``), without a version: an Asset is the
    repository, not one image of it.
    """
    from airflow_kaniko.openlineage.naming import uri_dataset

    return openlineage_dataset(uri_dataset(asset.uri))
