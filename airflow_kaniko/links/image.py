"""The task's "Image" link: the pushed image's page in its registry's web UI, or no link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class KanikoImageLink(BaseOperatorLink):
    """Opens the image the task pushed: ghcr.io, Docker Hub and Quay built in, else the registry
    connection's ``image_url_template``; "" (no link) when neither applies or nothing was pushed."""

    name = "Image"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # Imported here: the link is resolved when the task finishes, never at DAG parse.
        from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY
        from airflow_kaniko.compat.task_sdk import xcom_value
        from airflow_kaniko.errors import KanikoSpecError
        from airflow_kaniko.links import registry_ui
        from airflow_kaniko.openlineage.naming import pushed_images

        result = xcom_value(ti_key, XCOM_RETURN_KEY)
        # One button names one image: a multi-build links only when it pushed a single image.
        builds = result if isinstance(result, list) else [result]
        succeeded = [b for b in builds if pushed_images(b)]
        if len(succeeded) != 1:
            return ""
        try:
            template, host = _connection_template(operator)
            return registry_ui.image_url(pushed_images(succeeded[0])[0], template, host)
        except KanikoSpecError as err:  # a bad host or template in the connection: say so, and show no link
            operator.log.warning("No Image link: connection %r: %s", getattr(operator, "registry_conn_id", None), err)
            return ""


def _connection_template(operator: Any) -> tuple[str | None, str | None]:
    """The registry connection's URL template and host (``host[:port]``), if it has a template."""
    from airflow_kaniko.hooks import RegistryHook

    conn_id = getattr(operator, "registry_conn_id", None)
    if not conn_id:
        return None, None
    conn = RegistryHook(conn_id).connection
    return (conn.image_url_template, conn.host) if conn.image_url_template else (None, None)
