"""OpenLineage for image builds: base images in, pushed images out, named as in kaniko/image_datasets.py.

The OpenLineage provider calls these methods when it is installed; openlineage is imported only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage


class ImageLineageMixin:
    """The provider's operator lineage methods, for an operator with ``base_images`` and a build ``_result``."""

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
    """Inputs: the base images; outputs: the images in the build result, each once, tags as symlinks."""
    from airflow.providers.common.compat.openlineage.facet import Dataset, Identifier, SymlinksDatasetFacet
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow_kaniko.openlineage.naming import image_datasets, pushed_images

    def datasets(references: Sequence[str]) -> list[Dataset]:
        out = []
        for image in image_datasets(references):
            facets: dict[str, Any] = {}
            if image.aliases:
                tags = [Identifier(namespace=image.namespace, name=alias, type="TAG") for alias in image.aliases]
                facets["symlinks"] = SymlinksDatasetFacet(identifiers=tags)
            out.append(Dataset(namespace=image.namespace, name=image.name, facets=facets))
        return out

    return OperatorLineage(inputs=datasets(base_images), outputs=datasets(pushed_images(result)))
