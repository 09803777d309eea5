"""The example DAG under a migrated metadata DB: `airflow dags list` and real dag.test() runs."""

import logging
import re
from datetime import UTC, datetime

from airflow.dag_processing.dagbag import DagBag
from airflow_kaniko.manifest.loader import load_manifest
from tests.conftest import ROOT

DAG_ID = "kaniko_image_maintenance"
REG = "10.244.77.1:5000"
DATE = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_airflow_dags_list_shows_the_dag_without_import_errors(airflow_db):
    import subprocess
    import sys

    def airflow(*args):
        return subprocess.run(
            [sys.executable, "-m", "airflow", "dags", *args, "--local", "-o", "plain"], capture_output=True, text=True, check=True
        ).stdout

    assert airflow("list-import-errors").strip().splitlines()[-1] == "No data found"
    assert DAG_ID in airflow("list")


def test_dry_run_shows_the_plan_and_renders_every_pod(airflow_db, monkeypatch, dagbag):
    """The whole DAG under dag.test(), with no registry: prepare says it cannot resolve the base and,
    as on_registry_error=build asks, plans every image anyway; one rendered pod per image, report."""
    unreachable = "127.0.0.1:9"  # nothing listens: refused at once, and no traffic leaves the machine
    monkeypatch.setenv(
        "AIRFLOW_CONN_KANIKO_REGISTRY", f'{{"conn_type": "docker", "host": "{unreachable}", "login": "u", "password": "p"}}'
    )
    dag = dagbag.dags[DAG_ID]
    run = dag.test(run_conf={"dry_run": True, "on_registry_error": "build"})
    assert run.state == "success"
    tis = {(ti.task_id, ti.map_index): ti for ti in run.get_task_instances()}
    assert sorted(k for k in tis if k[0] == "build_level_0") == [("build_level_0", 0), ("build_level_0", 1), ("build_level_0", 2)]
    assert [tis[("build_level_0", i)].rendered_map_index for i in range(3)] == ["hello", "app", "web"]
    report = tis[("report", -1)].xcom_pull(task_ids="report")
    assert [(row["name"], row["status"]) for row in report["images"]] == [
        ("hello", "planned"),
        ("app", "planned"),
        ("web", "planned"),
        ("app-shell", "planned"),
    ]
    # app-shell is FROM app: planned at level 1, after app
    assert [tis[("build_level_1", 0)].rendered_map_index] == ["app-shell"]
    assert report["images"][3]["reason"] == "would be rebuilt (parent app rebuilt)"
    reason = report["images"][0]["reason"]
    assert reason.startswith(
        f"would be rebuilt (built anyway: base image '${{BASE}}' = {unreachable}/library/busybox:latest (Dockerfile "
        f"line 2) cannot be resolved: registry {unreachable}: unreachable after 3 attempt(s): [Errno 111] Connection "
        f"refused)"
    )
    assert report["images"][0]["detail"]["reason"]["kind"] == "unverified"


def test_a_run_conf_cannot_choose_the_connection_or_the_namespace(airflow_db, monkeypatch, dagbag, capfd):
    """A triggering user names a production pusher, its registry for the bases, and another namespace:
    the run still plans against the DAG's connection and renders its pods in the DAG's namespace."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_KANIKO_REGISTRY", '{"conn_type": "docker", "host": "127.0.0.1:9", "login": "u", "password": "p"}'
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_PROD_PUSHER", '{"conn_type": "docker", "host": "prod.example.com", "login": "prod", "password": "prod-pw"}'
    )
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", '{"conn_type": "kubernetes", "extra": {"namespace": "kaniko-builds"}}')
    hostile = {
        "registry_conn_id": "prod_pusher",
        "namespace": "production",
        "base_registry_connections": {"127.0.0.1:9": "prod_pusher"},
    }
    run = dagbag.dags[DAG_ID].test(run_conf={"dry_run": True, "on_registry_error": "build", "images": ["hello"], **hostile})
    (build,) = [ti for ti in run.get_task_instances() if ti.task_id == "build_level_0"]
    plan = build.xcom_pull(task_ids="prepare", key="plan")
    assert plan["registry_connections"] == {}
    assert plan["images"]["hello"]["build"]["registry_conn_id"] == "kaniko_registry"
    assert plan["images"]["hello"]["build"]["destinations"][0].startswith("127.0.0.1:9/demo/hello:")
    logged = "".join(capfd.readouterr())
    assert "namespace: kaniko-builds" in logged  # the rendered pod
    assert "namespace: production" not in logged and "prod.example.com" not in logged


def test_unresolvable_base_fails_prepare_naming_image_base_and_registry(airflow_db, monkeypatch, dagbag):
    unreachable = "127.0.0.1:9"
    monkeypatch.setenv(
        "AIRFLOW_CONN_KANIKO_REGISTRY", f'{{"conn_type": "docker", "host": "{unreachable}", "login": "u", "password": "p"}}'
    )
    run = dagbag.dags[DAG_ID].test(run_conf={"dry_run": True, "on_registry_error": "fail"})
    tis = {ti.task_id: ti for ti in run.get_task_instances() if ti.map_index == -1}
    assert tis["prepare"].state == "failed"
    assert not any(ti.task_id.startswith("build_level") and ti.state == "success" for ti in run.get_task_instances())


def test_example_dag_refuses_a_manifest_param_outside_its_folder(airflow_db, registry_conn, tmp_path):
    """A valid manifest copied out of the DAG folder: a triggering user may not point prepare at it."""
    import shutil

    shutil.copytree(ROOT / "dags" / "images", tmp_path / "images")
    outside = tmp_path / "images" / "images.yaml"
    assert load_manifest(outside, build_date=DATE, registry=REG).names == [
        "hello",
        "app",
        "web",
        "app-shell",
    ]  # valid, but elsewhere
    dag = DagBag(str(ROOT / "dags")).dags["kaniko_image_maintenance"]
    run = dag.test(run_conf={"dry_run": True, "manifest": str(outside)})
    # Keyed by map index too: a mapped task's instances would overwrite each other in row order.
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert run.state == "failed" and states[("prepare", -1)] == "failed"
    builds = {state for (task_id, _), state in states.items() if task_id.startswith("build_level")}
    assert builds == {"upstream_failed"}  # no build ran


ERROR_LEVEL = re.compile(r"\[(error|critical)\s*\]")  # structlog's console lines, when not routed to logging


def test_a_successful_run_logs_no_error_and_a_note_it_cannot_write_is_a_warning(airflow_db, monkeypatch, capfd, caplog):
    """The whole dry run, with skipped merge tasks and builds of three, two and one map indexes: no line at level
    error in any task's log (the task SDK logs `XCom not found` at error for every XCom a task asks for and
    lacks). The run note's API server refuses connections: report warns, and its output stands."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_KANIKO_REGISTRY", '{"conn_type": "docker", "host": "127.0.0.1:9", "login": "u", "password": "p"}'
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_AIRFLOW_API", '{"conn_type": "http", "host": "127.0.0.1", "port": 9, "login": "a", "password": "pw-note"}'
    )
    caplog.set_level(logging.INFO)
    # A DAG of its own: under Airflow 3.2, an earlier dag.test()'s run_conf stays in a shared DAG's params.
    dag = DagBag(str(ROOT / "dags")).dags[DAG_ID]
    run = dag.test(run_conf={"dry_run": True, "on_registry_error": "build", "images": []})
    printed = "".join(capfd.readouterr()).splitlines()
    assert run.state == "success"
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert {k: s for k, s in states.items() if k[0].startswith("merge")} == {
        (f"merge_level_{n}", -1): "skipped" for n in range(4)
    }
    assert [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [line for line in printed if ERROR_LEVEL.search(line)] == []
    logged = [r.getMessage() for r in caplog.records] + printed
    (warning,) = [line for line in logged if "The DAG run's note is not set" in line]
    assert "conn_id='airflow_api': the login as 'a' (POST http://127.0.0.1:9/auth/token) failed: ConnectError" in warning
    assert "pw-note" not in "\n".join(logged)
    (report,) = [ti for ti in run.get_task_instances() if ti.task_id == "report"]
    assert [row["status"] for row in report.xcom_pull(task_ids="report")["images"]] == ["planned"] * 4
