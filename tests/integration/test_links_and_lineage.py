"""The Image link and the OpenLineage facets, from a real dag.test() run (tests/integration/dags/finished_builds.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.openlineage.naming import ImageDataset, check_base_images, image_datasets, pushed_images
from tests.integration.dags.finished_builds import BASE, DIGEST

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


def test_importing_the_operators_imports_no_openlineage():
    code = (
        "import sys, airflow; "
        "ol = lambda: {m for m in sys.modules if 'openlineage' in m and not m.startswith('airflow_kaniko')}; before = ol(); "
        "import airflow_kaniko.operators.kaniko, airflow_kaniko.operators.multi_build; "
        "print(sorted(ol() - before), sorted(before))"
    )
    # The last line: some Airflow versions log to stdout while importing.
    out = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
        .split("]", 1)
    )
    assert out[0] == "["  # nothing new: no openlineage client, no provider module
    # ``import airflow`` itself reads every installed provider's metadata, and nothing more of it
    assert out[1].strip() in ("[]", "['airflow.providers.openlineage', 'airflow.providers.openlineage.get_provider_info']")


def test_image_datasets_naming():
    d = "sha256:" + "1" * 64
    assert image_datasets(
        [f"reg.io/a:1@{d}", f"reg.io/a:latest@{d}", f"reg.io/a@{d}", "busybox:1.36", f"index.docker.io/busybox@{d}", "reg.io/b"]
    ) == [
        ImageDataset("oci://reg.io", f"a@{d}", ("a:1", "a:latest")),
        ImageDataset("oci://docker.io", "library/busybox:1.36"),  # known by tag only
        ImageDataset("oci://docker.io", f"library/busybox@{d}"),
        ImageDataset("oci://reg.io", "b:latest"),
    ]


def test_pushed_images_of_every_result_shape():
    d = "sha256:" + "2" * 64
    assert pushed_images({"digest": d, "images": [f"r.io/a:1@{d}"]}) == [f"r.io/a:1@{d}"]
    assert pushed_images({"failed": True, "failure": {}, "destinations": ["r.io/a:1"]}) == []
    assert pushed_images({"dry_run": True, "pod": "p", "destinations": ["r.io/a:1"]}) == []
    assert pushed_images(None) == []
    multi = [
        {"name": "a", "status": "succeeded", "digest": d, "images": [f"r.io/a:1@{d}"]},
        {"name": "b", "status": "failed", "digest": None, "images": []},
        {"name": "c", "status": "skipped", "digest": None, "images": []},
    ]
    assert pushed_images(multi) == [f"r.io/a:1@{d}"]


@pytest.mark.parametrize("bad", ["docker.io/library/python:3.12", ["not a ref"], [None], {"a": 1}])
def test_bad_base_images_name_the_field(bad):
    with pytest.raises(KanikoSpecError, match="base_images"):
        check_base_images(bad)
    assert check_base_images([BASE]) == [BASE] and check_base_images(None) == []


def test_bad_base_images_fail_before_any_pod():
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

    op = KanikoBuildOperator(
        task_id="b",
        context="git://github.com/acme/app.git",
        destinations=["r.io/a:1"],
        base_images=["python 3"],
        render_only=True,
    )
    with pytest.raises(KanikoSpecError, match="base_images='python 3'"):
        op.build_pod_request_obj(dry_run=True)
