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
    "AIRFLOW_CONN_LOCAL_UI": {
        "conn_type": "docker",
        "host": "10.244.77.1",
        "port": 5000,
        "login": "bot",
        "password": "pw-local-ui",
        "extra": {"image_url_template": HARBOR_TEMPLATE},
    },
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
    out, _ = json.JSONDecoder().raw_decode(line[len("LINKS ") :])  # a log line may follow on the same line
    assert out["state"] == "success", proc.stderr[-3000:]
    FINISHED["index"] = out["index"]
    return out["links"], [json.loads(event) for event in events.read_text().splitlines()] if events.exists() else []


FINISHED: dict = {}  # what the run left: the index digest it pushed


def test_link_from_a_real_task_instance(finished_run):
    links, _ = finished_run
    index = FINISHED["index"]
    assert index and index != DIGEST  # the index the run pushed, not a platform image
    assert {task: link for task, link in links.items() if task not in ("deploy", "scan")} == {
        "ghcr": "https://ghcr.io/acme/app",
        "harbor": f"https://harbor.example.com/harbor/projects/7/repositories/app/artifacts-tab/artifacts/{DIGEST}",
        "local": "",  # no UI and no template: no link rather than a dead one
        "bad_template": "",  # a template that is not an http(s) URL is refused: no link
        "dry_run": "",  # nothing pushed
        "multi_one": f"https://quay.io/repository/acme/app/manifest/{DIGEST}",
        "multi_two": "",  # one button cannot name two images
        "index": f"https://harbor.example.com/harbor/projects/7/repositories/hello/artifacts-tab/artifacts/{index}",
    }


def _complete(events, task_id):
    (event,) = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == f"finished_builds.{task_id}"]
    return event


def _datasets(event, kind):
    """(namespace, name, version, tags) of the event's inputs or outputs, as OpenLineage's facets carry them."""
    out = []
    for d in event[kind]:
        assert set(d["facets"]) <= {"version", "tags"}, d["facets"]
        tags = [(t["key"], t["value"], t["source"]) for t in d["facets"].get("tags", {}).get("tags", [])]
        assert all(key == "tag" and source == "oci" for key, _, source in tags), tags
        out.append((d["namespace"], d["name"], d["facets"].get("version", {}).get("datasetVersion"), [t[1] for t in tags]))
    return out


def test_lineage_facets_through_the_openlineage_provider(finished_run):
    _, events = finished_run
    ghcr = _complete(events, "ghcr")
    base = ("oci://docker.io", "library/python", "sha256:" + "ba" * 32, ["3.12-slim"])
    assert _datasets(ghcr, "inputs") == [base]
    assert _datasets(ghcr, "outputs") == [("oci://ghcr.io", "acme/app", DIGEST, ["1.0", "latest"])]
    local = _complete(events, "local")
    assert local["inputs"] == [] and _datasets(local, "outputs") == [("oci://10.244.77.1:5000", "demo/app", DIGEST, ["1.0"])]
    assert _complete(events, "dry_run")["outputs"] == []
    assert _datasets(_complete(events, "multi_two"), "outputs") == [
        ("oci://quay.io", "acme/app", DIGEST, ["1.0"]),
        ("oci://quay.io", "acme/cli", DIGEST, ["1.0"]),
    ]
    assert not any("pw-" in json.dumps(e) for e in events)  # no credential reaches an event


def test_the_index_operator_reports_the_index_digest(finished_run):
    _, events = finished_run
    index = _complete(events, "index")
    assert _datasets(index, "inputs") == [("oci://docker.io", "library/python", "sha256:" + "ba" * 32, ["3.12-slim"])]
    assert _datasets(index, "outputs") == [("oci://10.244.77.1:5000", "demo/hello", FINISHED["index"], ["1", "latest"])]


def test_an_oci_asset_is_the_dataset_the_build_reports(finished_run):
    """The registered factory and converter, through the provider's listener: hook lineage of a task that read
    the image (``scan``), and the oci:// inlet of one without lineage methods (``deploy``), where the provider
    converts inlets (2.13.0 does not: it converts only hook lineage's Assets)."""
    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.sdk import Asset

    _, events = finished_run
    (pushed,) = _complete(events, "ghcr")["outputs"]
    (read,) = _complete(events, "scan")["inputs"]
    assert (read["namespace"], read["name"]) == (pushed["namespace"], pushed["name"]) == ("oci://ghcr.io", "acme/app")
    assert "version" not in read.get("facets", {})  # the Asset is the repository, not one image of it
    inlets = [(d["namespace"], d["name"]) for d in _complete(events, "deploy")["inputs"]]
    converts_inlets = ExtractorManager.convert_to_ol_dataset(Asset(uri="oci://ghcr.io/acme/app")) is not None
    assert inlets == ([("oci://ghcr.io", "acme/app")] if converts_inlets else [])
