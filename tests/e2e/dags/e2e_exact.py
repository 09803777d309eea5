"""The maintenance pipeline of one level, with a task between the plan and the build that edits a context.

tests/e2e/test_exact_rebuilds.py runs it to show that a build packs exactly the context ``prepare``
fingerprinted and pulls exactly the bases it resolved: the edit (param ``edit``, a file relative to the
manifest's folder) or the moved base tag (param ``move_base``) lands after ``prepare`` finished and
before the build task starts, by the tasks' order, not by timing. The manifest and its contexts must be
under ``$E2E_EXACT_ROOT`` (the test's copy of dags/).
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.sdk import DAG, Param, TriggerRule, task
from airflow_kaniko.operators.kaniko import KanikoBuildOperator

#: The test's copy of dags/, where the manifest and its contexts lie (unset when other tests parse this folder).
EXACT_ROOT = os.environ.get("E2E_EXACT_ROOT")

with DAG(
    dag_id="e2e_exact_context",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "manifest": Param("", type="string"),
        "images": Param([], type="array", items={"type": "string"}),
        "edit": Param("", type="string", description="a file of a context, relative to the manifest's folder"),
        "move_base": Param(
            {}, type="object", description="{host, repository, tag, digest}: the tag moved there, in the build registry"
        ),
    },
):

    @task
    def prepare(params: dict, ti=None, dag_run=None) -> list[dict]:
        from airflow_kaniko.tasks import maintenance

        return maintenance.prepare_task(
            params,
            dag_run.logical_date or dag_run.run_after,
            registry_conn_id="kaniko_registry",
            max_depth=1,
            ti=ti,
            allowed_roots=[EXACT_ROOT or Path(__file__).parent],
        )

    @task
    def edit_context(params: dict, builds: list) -> list:
        """What a git-sync of the DAG folder does between the plan and the build; the builds pass through."""
        if params["edit"]:
            folder = Path(params["manifest"]).resolve().parent
            target = (folder / params["edit"]).resolve()
            if not target.is_relative_to(folder) or not target.is_file():
                raise ValueError(f"edit={params['edit']!r}: not a file under {folder}")
            with target.open("a") as file:
                file.write("# edited after prepare\n")
        move = params["move_base"]
        if move:  # what a base image's publisher does between the plan and the build
            from airflow_kaniko.hooks.registry import registries

            registries("kaniko_registry").for_host(move["host"]).retag(move["repository"], move["digest"], [move["tag"]])
        return builds

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(plan: dict, results: list) -> dict:
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowFailException
        from airflow_kaniko.maintenance.planner import finish
        from airflow_kaniko.maintenance.report import summarize_plan

        summary = summarize_plan(finish(plan, list(results or [])))
        print(summary.table())
        # Pushed before failing, as the maintenance DAG's report does: the test reads the failed row.
        get_current_context()["ti"].xcom_push(key="return_value", value=summary.to_dict())
        if summary.failed:
            raise AirflowFailException(f"{len(summary.failed)} build(s) failed: {', '.join(summary.failed)}")
        return summary.to_dict()

    stage = prepare()
    # The contexts are the test copy's, not this file's folder (the maintenance DAG's default root).
    build = KanikoBuildOperator.partial(task_id="build", retries=0, context_roots=[EXACT_ROOT] if EXACT_ROOT else None)
    build = build.expand_kwargs(edit_context(builds=stage))
    report(stage["plan"], build.output)
