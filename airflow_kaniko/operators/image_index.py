"""KanikoImageIndexOperator: merge the platform builds of a multi-arch image into one OCI image index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY, AirflowException, AirflowFailException
from airflow.sdk import BaseOperator, TriggerRule
from airflow_kaniko.links.image import KanikoImageLink
from airflow_kaniko.openlineage.lineage import ImageLineageMixin

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow_kaniko.results import IndexResult

__all__ = ["KanikoImageIndexOperator"]


class KanikoImageIndexOperator(ImageLineageMixin, BaseOperator):
    """
    Push one OCI image index of a multi-arch image's platform builds under its final tags.

    Runs in the worker, through the registry API (no pod). Each platform is built by a
    :class:`~airflow_kaniko.operators.kaniko.KanikoBuildOperator` with ``platform=``, which pushed it
    under staging tags; this task checks that every platform built and that each manifest is an
    image for its platform, then pushes the index under every destination. If any platform failed,
    nothing is pushed under the destinations and the task fails naming the platform, without
    retries (they would not rebuild it); a registry error while pushing the index is retried.

    The return value (XCom ``return_value``) is ``{"digest": <index digest>, "images":
    ["<destination>@<index digest>", …], "platforms": {"linux/amd64": "sha256:…", …},
    "destinations": [...]}``.

    Its "Image" link and its OpenLineage output are the index (the image users pull): the
    repository's dataset at version = the index digest, with ``base_images`` as the inputs. The
    platform builds report their base images but not their staging pushes.

    :param destinations: the image's final references, the same as the platform builds'. (templated)
    :param platforms: the platforms the index must list, e.g. ``["linux/amd64", "linux/arm64"]``. (templated)
    :param builds: the platform builds' results, e.g. ``build.output`` of a build mapped over
        ``platform``. (templated)
    :param registry_conn_id: ``oci_registry`` (or ``docker``) Connection for the destinations' registry; its extra
        ``ca_file`` is the CA bundle for a private CA. ``None``: anonymous. (templated)
    :param base_images: the images the platform builds start from (their ``base_images``), reported to
        OpenLineage as the task's inputs. (templated)
    :param trigger_rule: default ``all_done``: the task runs when a platform failed, to say which,
        and pushes nothing.
    """

    template_fields: Sequence[str] = ("destinations", "platforms", "builds", "registry_conn_id", "base_images")
    ui_color = "#f5c542"
    operator_extra_links = (KanikoImageLink(),)

    def __init__(
        self,
        *,
        destinations: Sequence[str] | str,
        platforms: Sequence[str],
        builds: Any,
        registry_conn_id: str | None = None,
        base_images: Sequence[str] | None = None,
        trigger_rule: str = TriggerRule.ALL_DONE,
        **kwargs: Any,
    ) -> None:
        super().__init__(trigger_rule=trigger_rule, **kwargs)
        self.destinations = destinations
        self.platforms = platforms
        self.builds = builds
        self.registry_conn_id = registry_conn_id
        self.base_images = base_images or []
        self._result: dict[str, Any] | None = None  # for the OpenLineage listener (openlineage/lineage.py)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_kaniko.hooks.registry import registries
        from airflow_kaniko.oci.index_push import MergeError, merge
        from airflow_kaniko.results import FailedBuild, IndexResult, parse_results

        destinations = [self.destinations] if isinstance(self.destinations, str) else list(self.destinations or [])
        _check_destinations(self.destinations, destinations)
        self.lineage_base_images()  # a bad value fails here, before any registry call
        with registries(self.registry_conn_id) as clients:
            try:
                result = merge(clients, destinations, self.platforms, parse_results(self.builds or []), log=self.log.info)
            except MergeError as err:
                # What the report reads, as a failed build's result.
                failed = FailedBuild(err.failure, tuple(destinations))
                context["ti"].xcom_push(key=XCOM_RETURN_KEY, value=failed.to_xcom())
                if err.failure.kind == "push":  # the registry, not a build: the task's retries can help
                    raise AirflowException(str(err)) from None
                raise AirflowFailException(str(err)) from None
        if isinstance(result, IndexResult):  # render_only pushed nothing: no event
            self._emit_image_event(context, result)
        self._result = result.to_xcom()
        return self._result

    def _emit_image_event(self, context: Context, result: IndexResult) -> None:
        """The Asset event of the merged image, through the task's outlets; the platform builds emit none."""
        from airflow_kaniko.assets.events import emit_image_events

        emit_image_events(context, self.outlets, list(result.images), log=self.log)


def _check_destinations(given: object, destinations: list[Any]) -> None:
    """Before any connection is read: at least one destination, each an image reference."""
    from airflow_kaniko.errors import KanikoSpecError
    from airflow_kaniko.oci import reference

    if not destinations:
        raise KanikoSpecError("destinations", given, "needs at least one image reference such as 'reg.example.com/app:1'")
    for destination in destinations:
        try:
            reference.split(destination)
        except ValueError:
            raise KanikoSpecError("destinations", destination, "is not an image reference") from None
