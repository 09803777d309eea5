"""The Image link and the OpenLineage facets, from a real dag.test() run (tests/integration/dags/finished_builds.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.dags.finished_builds import DIGEST

DAG_FILE = Path(__file__).parent / "dags" / "finished_builds.py"
HARBOR_TEMPLATE = "https://harbor.example.com/harbor/projects/7/repositories/{name}/artifacts-tab/artifacts/{digest}"
CONNECTIONS = {
    "AIRFLOW_CONN_GHCR": {"conn_type": "docker", "host": "ghcr.io", "login": "bot", "password": "pw-ghcr"},
    "AIRFLOW_CONN_HARBOR": {
        "conn_type": "docker",
        "host": "harbor.example.com",
        "login": "bot",
        "password": "pw-harbor",
        "extra": {"image_url_template": HARBOR_TEMPLATE},
    },
    "AIRFLOW_CONN_BAD_TEMPLATE": {
        "conn_type": "docker",
        "host": "harbor.example.com",
        "login": "bot",
        "password": "pw-bad",
        "extra": {"image_url_template": "javascript:alert(1)//{digest}"},
    },
    "AIRFLOW_CONN_LOCAL": {"conn_type": "docker", "host": "10.244.77.1:5000", "login": "bot", "password": "pw-local"},
}


@pytest.fixture(scope="module")
def finished_run(airflow_db, tmp_path_factory):
    """Run the DAG once, in its own process, with the OpenLineage provider writing events to a file."""
    events = tmp_path_factory.mktemp("openlineage") / "events.jsonl"
    env = {**os.environ, **{k: json.dumps(v) for k, v in CONNECTIONS.items()}}
    env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps({"type": "file", "log_file_path": str(events), "append": True})
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAG_FILE.parent)  # dag.test() runs what the DAG folder holds
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(DAG_FILE)], env=env, capture_output=True, text=True, timeout=300)
    line = next((out for out in proc.stdout.splitlines() if out.startswith("LINKS ")), None)
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(line[len("LINKS ") :])
    assert out["state"] == "success", proc.stderr[-3000:]
    return out["links"], [json.loads(event) for event in events.read_text().splitlines()] if events.exists() else []


def test_link_from_a_real_task_instance(finished_run):
    links, _ = finished_run
    assert links == {
        "ghcr": "https://ghcr.io/acme/app",
        "harbor": f"https://harbor.example.com/harbor/projects/7/repositories/app/artifacts-tab/artifacts/{DIGEST}",
        "local": "",  # no UI and no template: no link rather than a dead one
        "bad_template": "",  # a template that is not an http(s) URL is refused: no link
        "dry_run": "",  # nothing pushed
        "multi_one": f"https://quay.io/repository/acme/app/manifest/{DIGEST}",
        "multi_two": "",  # one button cannot name two images
    }


def _complete(events, task_id):
    (event,) = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == f"finished_builds.{task_id}"]
    return event


def test_lineage_facets_through_the_openlineage_provider(finished_run):
    _, events = finished_run
    ghcr = _complete(events, "ghcr")
    assert [(d["namespace"], d["name"]) for d in ghcr["inputs"]] == [("oci://docker.io", "library/python@sha256:" + "ba" * 32)]
    assert ghcr["inputs"][0]["facets"]["symlinks"]["identifiers"] == [
        {"namespace": "oci://docker.io", "name": "library/python:3.12-slim", "type": "TAG"}
    ]
    (output,) = ghcr["outputs"]
    assert (output["namespace"], output["name"]) == ("oci://ghcr.io", f"acme/app@{DIGEST}")
    assert output["facets"]["symlinks"]["identifiers"] == [
        {"namespace": "oci://ghcr.io", "name": "acme/app:1.0", "type": "TAG"},
        {"namespace": "oci://ghcr.io", "name": "acme/app:latest", "type": "TAG"},
    ]
    local = _complete(events, "local")
    assert local["inputs"] == [] and [(d["namespace"], d["name"]) for d in local["outputs"]] == [
        ("oci://10.244.77.1:5000", f"demo/app@{DIGEST}")
    ]
    assert _complete(events, "dry_run")["outputs"] == []
    multi = _complete(events, "multi_two")["outputs"]
    assert [(d["namespace"], d["name"]) for d in multi] == [
        ("oci://quay.io", f"acme/app@{DIGEST}"),
        ("oci://quay.io", f"acme/cli@{DIGEST}"),
    ]
    assert not any("pw-" in json.dumps(e) for e in events)  # no credential reaches an event
