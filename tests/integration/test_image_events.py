"""Asset events of pushed images, from a real dag.test() run (tests/integration/dags/image_events.py): what the
operators add to ``outlet_events``, as Airflow's task runner records it in the metadata DB."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.dags.image_events import DIGEST, FP

DAG_FILE = Path(__file__).parent / "dags" / "image_events.py"
CONNECTION = {"conn_type": "docker", "host": "reg.io", "login": "bot", "password": "pw-events"}


@pytest.fixture(scope="module")
def run(airflow_db):
    env = {**os.environ, "AIRFLOW_CONN_EVENTS_REGISTRY": json.dumps(CONNECTION)}
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAG_FILE.parent)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(DAG_FILE)], env=env, capture_output=True, text=True, timeout=300)
    line = next((out for out in proc.stdout.splitlines() if out.startswith("EVENTS ")), None)
    assert line, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(line[len("EVENTS ") :])
    assert out["state"] == "success" and set(out["states"].values()) == {"success"}, out["states"]
    return out["events"]


def _events(events, task):
    return {e["uri"]: e for e in events if e["task"] == task}


def test_a_build_emits_one_event_per_repository_through_its_alias(run):
    (event,) = _events(run, "alias").values()
    assert (event["uri"], event["name"], event["aliases"]) == ("oci://reg.io/team/app",) * 2 + (["kaniko-images"],)
    assert event["extra"] == {
        "image": f"reg.io/team/app@{DIGEST}",
        "digest": DIGEST,
        "tags": ["1.0", "latest", f"fp-{FP}"],
        "fingerprint": FP,
        # the typed kwarg, checked and redacted: the connection's password never reaches the event
        "reason": {"kind": "unverified", "detail": "registry reg.io: refused with ***"},
    }
    assert not any("pw-events" in json.dumps(e) for e in run)


def test_a_declared_asset_outlet_gets_the_extra_and_no_second_event(run):
    events = _events(run, "declared")
    assert sorted(events) == ["oci://mirror.example.com/team/cli", "oci://reg.io/team/cli"]
    declared = events["oci://reg.io/team/cli"]
    assert declared["aliases"] == []  # the concrete outlet's own event, not the alias's
    assert declared["extra"] == {
        "image": f"reg.io/team/cli@{DIGEST}",
        "digest": DIGEST,
        "tags": ["1"],
        "fingerprint": None,
        "reason": {"kind": "forced"},
    }
    assert events["oci://mirror.example.com/team/cli"]["aliases"] == ["kaniko-images"]


def test_after_a_deferral_the_resumed_task_emits(run):
    (event,) = _events(run, "deferred").values()
    assert event["uri"] == "oci://reg.io/team/slow" and event["extra"]["reason"] == {"kind": "context"}


def test_a_multi_build_emits_one_event_per_pushed_image(run):
    events = _events(run, "multi")
    assert sorted(events) == ["oci://reg.io/team/a", "oci://reg.io/team/b"]
    assert events["oci://reg.io/team/a"]["extra"]["tags"] == ["1"] and events["oci://reg.io/team/a"]["extra"]["reason"] is None


def test_nothing_pushed_or_a_staging_push_emits_nothing(run):
    assert _events(run, "dry_run") == {}  # render_only
    assert _events(run, "staging") == {}  # a per-platform push: the merge step emits the merged image
    assert len(run) == 6  # exactly the events above
