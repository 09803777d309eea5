"""Write a DAG run's note through Airflow's public REST API: the one way a task can set it in Airflow 3.

Tasks talk to the execution API, which has no call for the note of a running DAG run, so this logs in
with an Airflow Connection (conn type ``http``: host, port, schema, login, password) whose user may
edit DAG runs, and sends ``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}``.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseHook

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "airflow_api"


class ApiLogin(NamedTuple):
    """Where the API server is (``scheme://host[:port]``) and the user to log in as."""

    base_url: str
    login: str
    password: str


class AirflowApiHook(BaseHook):
    """The Airflow API server's connection (conn type ``http``: host, port, schema, login, password).

    :param airflow_api_conn_id: the connection, with a user allowed to edit DAG runs.
    """

    conn_name_attr = "airflow_api_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "http"
    hook_name = "Airflow API (Kaniko run notes)"

    def __init__(self, airflow_api_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.airflow_api_conn_id = airflow_api_conn_id

    def get_conn(self) -> ApiLogin:
        return self.login()

    def login(self) -> ApiLogin:
        """The base URL and the user, all set; the password is masked in this task's logs from here on."""
        from airflow.sdk.log import mask_secret

        conn = self.get_connection(self.airflow_api_conn_id)
        if not (conn.host and conn.login and conn.password):
            raise ValueError(
                f"conn_id={self.airflow_api_conn_id!r}: the connection to the Airflow API needs a host, a login and a password"
            )
        if "@" in conn.host:  # the base URL is logged: a login in the host would be too
            raise ValueError(
                f"conn_id={self.airflow_api_conn_id!r}: the connection's host holds userinfo (user:password@); "
                "put them in its login and password"
            )
        mask_secret(conn.password)
        base = f"{conn.schema or 'http'}://{conn.host}{f':{conn.port}' if conn.port else ''}"
        return ApiLogin(base, conn.login, conn.password)


def set_dag_run_note(dag_id: str, run_id: str, note: str, conn_id: str = DEFAULT_CONN_ID, timeout: float = 30) -> bool:
    """Set the note, best-effort: False, and a log line, when it cannot be set; the caller's task goes on.

    Not set (INFO) when ``conn_id`` is not defined, as under ``airflow dags test``; not set (WARNING naming
    the step that failed: the connection, the login, the note's write) when the connection is incomplete,
    the API server cannot be reached, or it refuses the login or the write. The warning names the
    connection, the URL and the HTTP status, never the password, the token or a response body.

    :param dag_id: the DAG run's DAG.
    :param run_id: the DAG run.
    :param note: Markdown, at most 1000 characters (Airflow's limit).
    :param conn_id: an ``http`` Connection to the API server, with a user allowed to edit DAG runs.
    """
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        api = AirflowApiHook(conn_id).login()
    except AirflowNotFoundException:
        log.info("No connection %r to the Airflow API: the DAG run's note is not set", conn_id)
        return False
    except ValueError as err:  # the hook's own messages: they name the connection, never its password
        log.warning("The DAG run's note is not set: %s", err)
        return False
    try:
        _patch_note(api, dag_id, run_id, note, timeout)
    except _NoteNotSet as err:
        log.warning("The DAG run's note is not set: conn_id=%r: %s", conn_id, err)
        return False
    log.info("Set the note of DAG run %s/%s through %s", dag_id, run_id, api.base_url)
    return True


class _NoteNotSet(Exception):
    """A step of the note's write failed; the message names the step, the URL and the status only."""


def _patch_note(api: ApiLogin, dag_id: str, run_id: str, note: str, timeout: float) -> None:
    import httpx

    from airflow.sdk.log import mask_secret

    path = f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
    with httpx.Client(base_url=api.base_url, timeout=timeout) as client:
        step = f"the login as {api.login!r} (POST {api.base_url}/auth/token)"
        try:
            token = client.post("/auth/token", json={"username": api.login, "password": api.password})
            _check(token, step)
            access_token = token.json()["access_token"]
            if not isinstance(access_token, str):
                raise _NoteNotSet(f"{step}: the answer holds no access token")
            mask_secret(access_token)
            step = f"the note's write (PATCH {api.base_url}{path})"
            _check(
                client.patch(
                    path,
                    params={"update_mask": "note"},
                    json={"note": note},
                    headers={"Authorization": f"Bearer {access_token}"},
                ),
                step,
            )
        except httpx.HTTPError as err:  # transport: the server down, a timeout; the message has no credentials
            raise _NoteNotSet(f"{step} failed: {type(err).__name__}: {err}") from err
        except (ValueError, KeyError, TypeError) as err:  # a body that is not the token JSON
            raise _NoteNotSet(f"{step}: the answer is not the expected JSON ({type(err).__name__})") from err


def _check(response: Any, step: str) -> None:
    if response.is_error:
        raise _NoteNotSet(f"{step} answered HTTP {response.status_code} {response.reason_phrase}")
