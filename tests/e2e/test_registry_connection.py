"""The registry connection as the UI's form writes it: host and port in separate fields, conn type oci_registry.

The other e2e runs give the connection as one ``host:port`` string (dev/airflow_runs.py). Here the example DAG
builds hello with ``{"host": "10.244.77.1", "port": 5000, ...}`` (JSON, as Airflow stores a form's
connection): the manifest takes its registry from the connection, so a dropped port would send the build to
10.244.77.1:443 and file the credentials under the wrong key, and the authenticated push would fail.
"""

import json

import pytest
import requests
from airflow_runs import REGISTRY_CONN_ID, latest_run
from registry import manifest_digest

DAG_ID = "kaniko_image_maintenance"


@pytest.fixture(scope="module")
def split_connection(cluster):
    host, _, port = cluster.registry.rpartition(":")
    assert host and port.isdigit(), f"the local registry {cluster.registry!r} has no port to put in its own field"
    user, password = cluster.credentials()
    conn = {"conn_type": "oci_registry", "host": host, "port": int(port), "login": user, "password": password}
    if cluster.registry_ca:
        conn["extra"] = {"ca_file": cluster.registry_ca}
    return conn


@pytest.fixture(scope="module")
def split_run(runner, split_connection, tmp_path_factory):
    log = tmp_path_factory.mktemp("split-connection") / "dags-test.log"
    original = runner.extra_env
    runner.extra_env = {**original, f"AIRFLOW_CONN_{REGISTRY_CONN_ID.upper()}": json.dumps(split_connection)}
    try:
        # force: hello may be unchanged since an earlier run; it must build and push here.
        result = runner.dags_test(DAG_ID, {"images": ["hello"], "force": True}, log=log, progress=False)
    finally:
        runner.extra_env = original
    return result, latest_run(DAG_ID)


def test_a_connection_with_a_separate_port_pushes_to_host_and_port_with_its_credentials(split_run, split_connection, cluster):
    result, run = split_run
    registry = f"{split_connection['host']}:{split_connection['port']}"
    assert registry == cluster.registry and ":" not in split_connection["host"]
    builds = {(task, i): v for (task, i), v in run["tasks"].items() if task == "build_level_0"}
    assert [v["label"] for v in builds.values()] == ["hello"], result.text()[-3000:]
    assert (result.returncode, run["state"]) == (0, "success"), result.text()[-3000:]
    ((key, _),) = builds.items()
    pushed = run["xcom"][key]
    assert pushed["images"] and all(image.startswith(f"{registry}/demo/hello:") for image in pushed["images"])
    auth = (split_connection["login"], split_connection["password"])
    for image in pushed["images"]:
        reference, digest = image.split("@")
        assert digest == pushed["digest"]
        assert manifest_digest(registry, reference, auth, cluster.registry_ca) == pushed["digest"]
    # The registry refuses anonymous requests: the push went out with the connection's credentials.
    reference = pushed["images"][0].split("@")[0]
    with pytest.raises(requests.HTTPError) as refused:
        manifest_digest(registry, reference, None, cluster.registry_ca)
    assert refused.value.response.status_code == 401
    assert [(e["task"], e["uri"]) for e in run["asset_events"]] == [("build_level_0", f"oci://{registry}/demo/hello")]
