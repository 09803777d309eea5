"""Asset events under the real scheduler: a rebuilt image triggers the example consumer DAG, an unchanged one does not.

The example DAG builds hello (demo/hello) from the example manifest; dags/kaniko_image_consumer.py is scheduled
on its Asset, oci://<registry>/demo/hello (dev/deploy sets KANIKO_IMAGE_REGISTRY). Everything is read back
through the REST API, as a user would see it.
"""

import re

from registry import manifest_digest

from tests.deployment.conftest import CONSUMER, EXAMPLE, wait_for


def test_a_rebuild_triggers_the_consumer_and_an_unchanged_run_does_not(api, cluster, hello_rebuild):
    uri = f"oci://{cluster.registry}/demo/hello"
    (asset,) = [a for a in api.get("/assets", uri_pattern="demo/hello")["assets"] if a["uri"] == uri]
    assert CONSUMER in {ref["dag_id"] for ref in asset["scheduled_dags"]}  # the consumer parsed with this registry
    consumed_before = hello_rebuild.consumed_before

    # 1. A forced rebuild of hello (the hello_rebuild fixture, which unpaused the consumer first): one event for
    # its repository, carrying what the build did and why.
    params = {"images": ["hello"]}
    rebuild = hello_rebuild.run_id
    (build,) = [ti for ti in api.task_instances(EXAMPLE, rebuild) if ti["task_id"] == "build_level_0"]
    result = api.xcom(EXAMPLE, rebuild, "build_level_0", build["map_index"])
    plan = api.xcom(EXAMPLE, rebuild, "prepare", key="plan")
    fingerprint = plan["images"]["hello"]["fingerprint"]
    (event,) = api.asset_events(source_dag_id=EXAMPLE, source_run_id=rebuild)
    assert (event["uri"], event["source_task_id"]) == (uri, "build_level_0")
    tags = [image.split("@")[0].rsplit(":", 1)[1] for image in result["images"]]
    assert event["extra"] == {
        "image": f"{cluster.registry}/demo/hello@{result['digest']}",
        "digest": result["digest"],
        "tags": tags,  # the date tag, latest, fp-<fingerprint>, fp-<fingerprint>-<time>
        "fingerprint": fingerprint,
        "reason": {"kind": "forced"},
    }
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint) and f"fp-{fingerprint}" in tags and "latest" in tags
    latest = f"{cluster.registry}/demo/hello:latest"
    served = manifest_digest(cluster.registry, latest, cluster.credentials(), cluster.registry_ca)
    assert served == result["digest"]

    # The scheduler queues the consumer on that event; its run names the event as its only trigger. (Other runs
    # of the example DAG in this tier, e.g. the scheduled one on a fresh registry, may have triggered others.)
    def consumer_of_the_event():
        for run in api.runs(CONSUMER, run_type=["asset_triggered"]):
            triggers = api.triggering_asset_events(CONSUMER, run["dag_run_id"])
            if any(trigger["id"] == event["id"] for trigger in triggers):
                return run, triggers
        return None

    consumer, triggers = wait_for(consumer_of_the_event, 120, "the scheduler to start the consumer DAG on the event")
    assert consumer["dag_run_id"] not in consumed_before
    assert [(t["id"], t["uri"], t["source_run_id"], t["extra"]) for t in triggers] == [
        (event["id"], uri, rebuild, event["extra"])
    ]
    assert api.wait(CONSUMER, consumer["dag_run_id"], timeout=180)["state"] == "success"
    # The consumer's task read the extra from triggering_asset_events; the event started that run and no other.
    assert api.xcom(CONSUMER, consumer["dag_run_id"], "new_image") == [event["extra"]]
    (event,) = api.asset_events(source_dag_id=EXAMPLE, source_run_id=rebuild)
    assert [(d["dag_id"], d["run_id"]) for d in event["created_dagruns"]] == [(CONSUMER, consumer["dag_run_id"])]

    # 2. The same image again: unchanged, retagged in prepare, no build, no event, no consumer run.
    consumed_before = {r["dag_run_id"] for r in api.runs(CONSUMER)}
    unchanged = api.trigger(EXAMPLE, params)["dag_run_id"]
    assert api.wait(EXAMPLE, unchanged, timeout=600)["state"] == "success"
    report = api.xcom(EXAMPLE, unchanged, "report")
    assert [(row["name"], row["status"]) for row in report["images"]] == [("hello", "unchanged")]
    assert api.asset_events(source_dag_id=EXAMPLE, source_run_id=unchanged) == []
    # A queued consumer run would exist once the scheduler loop has run a few times since: wait for three new
    # heartbeats (the loop sends them) instead of a fixed time, which a loaded machine may not fill.
    heartbeats = {_heartbeat(api)}
    wait_for(lambda: heartbeats.add(_heartbeat(api)) or len(heartbeats) > 3, 180, "three scheduler loops after the run")
    assert {r["dag_run_id"] for r in api.runs(CONSUMER)} == consumed_before
    assert api.asset_events(asset_id=asset["id"], order_by="-timestamp")[0]["id"] == event["id"]  # still the newest


def _heartbeat(api) -> str:
    return api.get("/monitor/health")["scheduler"]["latest_scheduler_heartbeat"]
