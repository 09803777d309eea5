from datetime import timedelta

import pytest

from airflow.dag_processing.dagbag import DagBag
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from airflow_kaniko.report import summarize
from tests.conftest import ROOT

DAG_ID = "kaniko_image_maintenance"
REG = "10.244.77.1:5000"


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(str(ROOT / "dags"))


def test_dags_folder_imports_cleanly(dagbag):
    assert dagbag.import_errors == {}
    assert list(dagbag.dags) == [DAG_ID]


def test_airflow_dags_list_shows_the_dag_without_import_errors(airflow_db):
    import subprocess
    import sys

    def airflow(*args):
        return subprocess.run([sys.executable, "-m", "airflow", "dags", *args, "--local", "-o", "plain"], capture_output=True, text=True, check=True).stdout

    assert airflow("list-import-errors").strip().splitlines()[-1] == "No data found"
    assert DAG_ID in airflow("list")


def test_structure_and_schedule(dagbag):
    dag = dagbag.dags[DAG_ID]
    assert dag.timetable.expression == "0 3 * * 1"  # weekly, Mondays 03:00 UTC
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {"prepare": ["build", "report"], "build": ["report"], "report": []}
    build = dag.get_task("build")
    assert build.operator_class is KanikoBuildOperator or build.operator_name == "KanikoBuildOperator"
    assert build.max_active_tis_per_dagrun == 3  # from images.yaml
    assert build.retries == 2 and build.retry_delay == timedelta(seconds=20)
    assert build.partial_kwargs["map_index_template"] == "{{ task.image_name }}"
    assert dag.get_task("report").trigger_rule == "all_done"
    assert set(dag.params.keys()) == {"manifest", "registry_conn_id", "namespace", "images", "dry_run"}


def test_report_on_mixed_results():
    planned = [
        {"image_name": "hello", "destinations": [f"{REG}/demo/hello:1", f"{REG}/demo/hello:latest"]},
        {"image_name": "broken", "destinations": [f"{REG}/demo/broken:1"]},
        {"image_name": "app", "destinations": [f"{REG}/demo/app:1"]},
        {"image_name": "lost", "destinations": [f"{REG}/demo/lost:1"]},
    ]
    d1, d2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    failure = {"kind": "dockerfile", "retryable": False, "detail": "exit status 3"}
    results = [
        {"digest": d1, "images": [f"{REG}/demo/hello:1@{d1}", f"{REG}/demo/hello:latest@{d1}"]},
        {"failed": True, "failure": failure, "destinations": [f"{REG}/demo/broken:1"]},
        {"digest": d2, "images": [f"{REG}/demo/app:1@{d2}"]},
        None,  # a task that died before it could say anything
    ]
    report = summarize(planned, results)
    assert report.failed == ["broken", "lost"]
    assert report.to_dict()["images"][0] == {"name": "hello", "status": "pushed", "digest": d1, "images": results[0]["images"], "failure": None}
    assert report.to_dict()["images"][1]["failure"] == failure
    assert report.table().splitlines() == [
        f"IMAGE   STATUS               {'DIGEST'.ljust(71)}  REFERENCES",
        f"hello   pushed               {d1}  {REG}/demo/hello:1@{d1}, {REG}/demo/hello:latest@{d1}",
        f"broken  failed (dockerfile)  {'-'.ljust(71)}  -",
        f"app     pushed               {d2}  {REG}/demo/app:1@{d2}",
        f"lost    failed               {'-'.ljust(71)}  -",
    ]


def test_dry_run_renders_every_mapped_pod(airflow_db, registry_conn, dagbag):
    """The whole DAG under dag.test(): prepare, one rendered pod per image, report."""
    dag = dagbag.dags[DAG_ID]
    run = dag.test(run_conf={"dry_run": True})
    assert run.state == "success"
    tis = {(ti.task_id, ti.map_index): ti for ti in run.get_task_instances()}
    assert sorted(k for k in tis if k[0] == "build") == [("build", 0), ("build", 1), ("build", 2)]
    assert [tis[("build", i)].rendered_map_index for i in range(3)] == ["hello", "app", "web"]
    report = tis[("report", -1)].xcom_pull(task_ids="report")
    assert [(row["name"], row["status"]) for row in report["images"]] == [("hello", "rendered"), ("app", "rendered"), ("web", "rendered")]
    assert report["images"][0]["images"][1] == f"{REG}/demo/hello:latest"


def test_rendered_pod_of_one_mapped_instance(registry_conn):
    from airflow_kaniko.manifest import load_manifest
    from datetime import datetime, timezone

    kwargs = load_manifest(ROOT / "dags/images/images.yaml", build_date=datetime(2026, 11, 30, tzinfo=timezone.utc), registry=REG, registry_conn_id="kaniko_registry").builds[2]
    op = KanikoBuildOperator(task_id="build", namespace="kaniko-builds", context_roots=[ROOT / "dags"], **kwargs)
    pod = op.build_pod_request_obj(dry_run=True)
    container = pod.spec.containers[0]
    assert container.args == [
        "--context=tar:///workspace/context.tar.gz",
        "--dockerfile=Dockerfile",
        f"--destination={REG}/demo/web:20261130",
        f"--destination={REG}/demo/web:latest",
        "--digest-file=/dev/termination-log",
        "--log-format=text",
        f"--build-arg=BASE={REG}/library/busybox:latest",
        "--label=org.opencontainers.image.vendor=data-platform",
        "--label=org.opencontainers.image.title=web",
        "--target=runtime",
        f"--registry-certificate={REG}=/kaniko/registry-ca/0/ca.crt",
    ]
    assert container.resources.to_dict() == {"claims": None, "limits": {"memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "256Mi"}}
    assert "site/notes.local" not in op._archives["context.tar.gz"].members  # .dockerignore
