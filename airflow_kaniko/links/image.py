"""The task's "Image" link: the pushed image's page in its registry's web UI, or no link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

# The registry connection's extra key holding a URL template, for registries without a built-in page.
TEMPLATE_KEY = "image_url_template"


class KanikoImageLink(BaseOperatorLink):
    """Opens the image the task pushed: ghcr.io, Docker Hub and Quay built in, else the registry
    connection's ``image_url_template``; "" (no link) when neither applies or nothing was pushed."""

    name = "Image"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # Imported here: the link is resolved when the task finishes, never at DAG parse.
        from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY
        from airflow_kaniko.compat import xcom_value
        from airflow_kaniko.errors import KanikoSpecError
        from airflow_kaniko.links import registry_ui
        from airflow_kaniko.openlineage.naming import pushed_images

        result = xcom_value(ti_key, XCOM_RETURN_KEY)
        # One button names one image: a multi-build links only when it pushed a single image.
        builds = result if isinstance(result, list) else [result]
        succeeded = [b for b in builds if pushed_images(b)]
        if len(succeeded) != 1:
            return ""
        template, host = _connection_template(operator)
        try:
            return registry_ui.image_url(pushed_images(succeeded[0])[0], template, host)
        except KanikoSpecError as err:  # a bad template in the connection: say so, and show no link
            operator.log.warning("No Image link: connection %r: %s", getattr(operator, "registry_conn_id", None), err)
            return ""


def _connection_template(operator: Any) -> tuple[str | None, str | None]:
    """The registry connection's URL template and host, if it has a template."""
    from airflow.sdk import Connection

    conn_id = getattr(operator, "registry_conn_id", None)
    if not conn_id:
        return None, None
    conn = Connection.get(conn_id)
    template = conn.extra_dejson.get(TEMPLATE_KEY)
    return (template, conn.host) if template else (None, None)
