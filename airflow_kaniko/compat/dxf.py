"""Private names of python-dxf, the registry client under ``airflow_kaniko.oci.registry_client``.

Pure: no Airflow, no Kubernetes (the OCI layer imports it).
"""

from __future__ import annotations

from typing import Any

# --- python-dxf ---
# Checked against python-dxf 12.1.0 (constraints-lowest.txt) and 12.1.1 (constraints.txt).


def dxf_request(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    """``dxf.DXF._request``: a request on the repository's path, with python-dxf's auth flow (401, token, retry).

    The public API has no call that sends exact bytes with a chosen media type, nor a page of tags with its
    ``Link`` header.
    """
    return client._request(method, path, **kwargs)


def dxf_session(client: Any) -> Any:
    """``dxf.DXFBase._sessions[0]``: the ``requests.Session`` an entered ``DXF`` sends every request with.

    The public API takes no session or adapter; this is where the registry adapter mounts its transport.
    """
    return client._sessions[0]
