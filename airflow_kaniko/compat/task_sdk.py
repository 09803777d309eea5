"""Private names of the Airflow task SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

# --- task SDK ---
# Checked on apache-airflow-task-sdk 1.2.0 (Airflow 3.2.0, constraints-lowest.txt) and 1.3.2 (Airflow 3.3.2,
# constraints.txt).


def xcom_value(ti_key: TaskInstanceKey, key: str) -> Any:
    """The value of one XCom of a finished task instance, through the configured XCom backend.

    Upstream: ``airflow.sdk.execution_time.xcom.XCom`` (the backend ``[core] xcom_backend`` resolves to)
    and its ``BaseXCom.get_value(*, ti_key, key)`` classmethod. Imported on call: a link resolves when
    the task has finished, never at DAG parse.
    """
    from airflow.sdk.execution_time.xcom import XCom

    return XCom.get_value(ti_key=ti_key, key=key)
