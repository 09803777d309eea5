"""Write a DAG run's note through Airflow's public REST API: the one way a task can set it in Airflow 3.

Tasks talk to the execution API, which has no call for the note of a running DAG run, so this logs in
with an Airflow Connection (conn type ``http``: host, port, schema, login, password) whose user may
edit DAG runs, and sends ``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "airflow_api"


def set_dag_run_note(dag_id: str, run_id: str, note: str, conn_id: str = DEFAULT_CONN_ID, timeout: float = 30) -> bool:
    """Set the note; False (and a log line) when ``conn_id`` is not defined, as under ``airflow dags test``.

    :param dag_id: the DAG run's DAG.
    :param run_id: the DAG run.
    :param note: Markdown, at most 1000 characters (Airflow's limit).
    :param conn_id: an ``http`` Connection to the API server, with a user allowed to edit DAG runs.
    """
    import httpx

    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException
    from airflow.sdk.log import mask_secret

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        log.info("No connection %r to the Airflow API: the DAG run's note is not set", conn_id)
        return False
    if not (conn.host and conn.login and conn.password):
        raise ValueError(f"conn_id={conn_id!r}: the connection to the Airflow API needs a host, a login and a password")
    mask_secret(conn.password)
    base = f"{conn.schema or 'http'}://{conn.host}{f':{conn.port}' if conn.port else ''}"
    with httpx.Client(base_url=base, timeout=timeout) as client:
        token = client.post("/auth/token", json={"username": conn.login, "password": conn.password})
        token.raise_for_status()
        mask_secret(token.json()["access_token"])
        response = client.patch(
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            params={"update_mask": "note"},
            json={"note": note},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        response.raise_for_status()
    log.info("Set the note of DAG run %s/%s through %s", dag_id, run_id, base)
    return True
