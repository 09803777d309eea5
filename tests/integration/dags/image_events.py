"""A tiny DAG for the Asset event tests: builds whose pod run is replaced by what a finished Kaniko pod
leaves (as in finished_builds.py); the rest is the operators' own code under dag.test(): the result,
the outlet events, and Airflow recording them as AssetEvent rows.

Run as a script, it runs the DAG and prints every asset event of the run as JSON.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import DAG, AssetAlias
from airflow_kaniko.assets.events import image_asset
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from airflow_kaniko.operators.multi_build import KanikoMultiBuildOperator

DIGEST = "sha256:" + "4d" * 32
FP = "0f" * 32
ALIAS = AssetAlias("kaniko-images")
CONTEXT = "git://github.com/acme/app.git#refs/heads/main"


def finished_pod(op, message):
    """The pod as KPO hands it over once it finished: the watched container's termination message."""
    terminated = k8s.V1ContainerStateTerminated(exit_code=0, message=message, reason="Completed")
    state = k8s.V1ContainerState(terminated=terminated)
    status = k8s.V1ContainerStatus(name=op.base_container_name, state=state, image="", image_id="", ready=False, restart_count=0)
    metadata = k8s.V1ObjectMeta(name="finished", namespace="kaniko-builds")
    return k8s.V1Pod(metadata=metadata, status=k8s.V1PodStatus(phase="Succeeded", container_statuses=[status]))


class FinishedBuild(KanikoBuildOperator):
    """The pod run (KPO's execute_sync) replaced by what a finished pod leaves: the termination message."""

    def execute_sync(self, context):
        self._load_credentials()  # as get_or_create_pod does: the secrets become known to the redactor
        return self._finish(context, finished_pod(self, DIGEST))


class StagingBuild(FinishedBuild):
    """A per-platform staging push, as the multi-arch build marks it: no event of its own."""

    def read_result(self, pod, message):
        return dataclasses.replace(super().read_result(pod, message), platform="linux/arm64")


class DeferredBuild(KanikoBuildOperator):
    """Defers for real (a trigger the test run completes at once), then resumes in trigger_reentry."""

    def execute_async(self, context):
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=0)), method_name="trigger_reentry")


def _finished_pod(self, context, event):
    # KPO's reading of the finished pod after a deferral, replaced like execute_sync above.
    self.pod = finished_pod(self, DIGEST)


class FinishedMultiBuild(KanikoMultiBuildOperator):
    def execute_sync(self, context):
        return self._finish(context, finished_pod(self, "".join(f"{i} ok {DIGEST}\n" for i in range(len(self.builds)))))


with DAG("image_events", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    common = {"namespace": "kaniko-builds", "context": CONTEXT, "registry_conn_id": "events_registry"}
    FinishedBuild(
        task_id="alias",
        destinations=["reg.io/team/app:1.0", "reg.io/team/app:latest", f"reg.io/team/app:fp-{FP}"],
        outlets=[ALIAS],
        fingerprint=FP,
        build_reason={"kind": "unverified", "detail": "registry reg.io: refused with pw-events"},
        **common,
    )
    FinishedBuild(
        task_id="declared",
        destinations=["reg.io/team/cli:1", "mirror.example.com/team/cli:1"],
        outlets=[image_asset("reg.io/team/cli"), ALIAS],
        build_reason={"kind": "forced"},
        **common,
    )
    FinishedBuild(task_id="dry_run", destinations=["reg.io/team/dry:1"], outlets=[ALIAS], render_only=True, **common)
    StagingBuild(task_id="staging", destinations=["reg.io/team/arm:1"], outlets=[ALIAS], **common)
    DeferredBuild(
        task_id="deferred",
        destinations=["reg.io/team/slow:1"],
        outlets=[ALIAS],
        deferrable=True,
        build_reason={"kind": "context"},
        **common,
    )
    builds = [
        {"name": "a", "context": CONTEXT, "destinations": ["reg.io/team/a:1"]},
        {"name": "b", "context": CONTEXT, "destinations": ["reg.io/team/b:1"]},
    ]
    FinishedMultiBuild(task_id="multi", builds=builds, outlets=[ALIAS], **{k: v for k, v in common.items() if k != "context"})


if __name__ == "__main__":
    from sqlalchemy import select

    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    # Only when run as a script, never in a process that imports this module: our override calls it.
    KubernetesPodOperator.trigger_reentry = _finished_pod
    run = dag.test()
    with create_session() as session:
        rows = session.scalars(select(AssetEvent).where(AssetEvent.source_run_id == run.run_id).order_by(AssetEvent.id))
        events = [
            {
                "task": e.source_task_id,
                "uri": e.asset.uri,
                "name": e.asset.name,
                "aliases": sorted(a.name for a in e.source_aliases),
                "extra": e.extra,
            }
            for e in rows
        ]
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print("EVENTS " + json.dumps({"state": str(run.state), "states": states, "events": events}))
