"""The parse-cost baseline: a one-task KubernetesPodOperator DAG (dev/bench.py, tests/unit/test_parse_imports.py)."""

from __future__ import annotations

import pendulum

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG

with DAG("one_task_kpo", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    KubernetesPodOperator(task_id="build", namespace="kaniko-builds", image="ghcr.io/osscontainertools/kaniko:v1.28.3")
