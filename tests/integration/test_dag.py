from datetime import timedelta

import pytest

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import AssetAlias
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from tests.conftest import ROOT

DAG_ID = "kaniko_image_maintenance"
REG = "10.244.77.1:5000"


@pytest.fixture(scope="module")
def dagbag():
    return DagBag(str(ROOT / "dags"))


def test_dags_folder_imports_cleanly(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == ["kaniko_image_consumer", DAG_ID]


def test_airflow_dags_list_shows_the_dag_without_import_errors(airflow_db):
    import subprocess
    import sys

    def airflow(*args):
        return subprocess.run(
            [sys.executable, "-m", "airflow", "dags", *args, "--local", "-o", "plain"], capture_output=True, text=True, check=True
        ).stdout

    assert airflow("list-import-errors").strip().splitlines()[-1] == "No data found"
    assert DAG_ID in airflow("list")


def test_the_consumer_is_scheduled_on_the_hello_images_asset(dagbag, monkeypatch):
    from airflow.sdk import Asset

    condition = dagbag.dags["kaniko_image_consumer"].timetable.asset_condition
    assert list(condition.objects) == [Asset(uri="oci://registry.example.com/demo/hello")]
    # The registry differs per install: KANIKO_IMAGE_REGISTRY names it (dev/deploy sets it).
    monkeypatch.setenv("KANIKO_IMAGE_REGISTRY", "10.244.77.1:5000")
    dag = DagBag(str(ROOT / "dags" / "kaniko_image_consumer.py")).dags["kaniko_image_consumer"]
    assert list(dag.timetable.asset_condition.objects) == [Asset(uri="oci://10.244.77.1:5000/demo/hello")]


def test_structure_and_schedule(dagbag):
    dag = dagbag.dags[DAG_ID]
    assert dag.timetable.expression == "0 * * * *"  # hourly: an unchanged image costs one registry request
    assert dag.catchup is False and dag.max_active_runs == 1
    # prepare plans level 0; plan_level_n plans level n once level n-1 is built and merged; report reads the last plan
    assert {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks} == {
        "prepare": ["build_level_0", "merge_level_0", "plan_level_1"],
        "build_level_0": ["merge_level_0", "plan_level_1", "plan_level_2", "plan_level_3", "report"],
        "merge_level_0": ["plan_level_1", "plan_level_2", "plan_level_3", "report"],
        "plan_level_1": ["build_level_1", "merge_level_1", "plan_level_2"],
        "build_level_1": ["merge_level_1", "plan_level_2", "plan_level_3", "report"],
        "merge_level_1": ["plan_level_2", "plan_level_3", "report"],
        "plan_level_2": ["build_level_2", "merge_level_2", "plan_level_3"],
        "build_level_2": ["merge_level_2", "plan_level_3", "report"],
        "merge_level_2": ["plan_level_3", "report"],
        "plan_level_3": ["build_level_3", "merge_level_3", "report"],
        "build_level_3": ["merge_level_3", "report"],
        "merge_level_3": ["report"],
        "report": [],
    }
    for level in range(4):
        build = dag.get_task(f"build_level_{level}")
        assert build.operator_class is KanikoBuildOperator or build.operator_name == "KanikoBuildOperator"
        assert build.max_active_tis_per_dagrun == 3  # from images.yaml
        assert build.retries == 2 and build.retry_delay == timedelta(seconds=20)
        assert build.partial_kwargs["map_index_template"] == "{{ [task.image_name, task.platform] | select | join(' ') }}"
        assert build.partial_kwargs["outlets"] == [AssetAlias("kaniko-images")]  # an Asset event per pushed image
    merges = [f"merge_level_{level}" for level in range(4)]
    for task_id in ("plan_level_1", "plan_level_2", "plan_level_3", *merges, "report"):
        assert dag.get_task(task_id).trigger_rule == "all_done"  # a failed or empty level does not stop the rest
    # No connection and no namespace among them: those are the DAG author's (README, "Security").
    assert set(dag.params.keys()) == {"manifest", "images", "dry_run", "force", "max_age", "on_registry_error"}


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


def test_rendered_pod_of_one_mapped_instance(registry_conn):
    from datetime import datetime, timezone

    from airflow_kaniko.manifest.loader import load_manifest

    kwargs = load_manifest(
        ROOT / "dags/images/images.yaml",
        build_date=datetime(2026, 11, 30, tzinfo=timezone.utc),
        registry=REG,
        registry_conn_id="kaniko_registry",
    ).builds[2]
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
        "--push-retry=3",
        "--image-download-retry=3",
    ]
    assert container.resources.to_dict() == {
        "claims": None,
        "limits": {"memory": "1Gi"},
        "requests": {"cpu": "100m", "memory": "256Mi"},
    }
    assert "site/notes.local" not in op._archives["context.tar.gz"].members  # .dockerignore


def test_parsing_the_dag_imports_none_of_the_maintenance_machinery():
    """Parse-time budget: the planner, the registry client and the Dockerfile parser load inside tasks only."""
    import subprocess
    import sys

    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dxf', 'dockerfile', 'expandvars', 'requests_toolbelt') "
        "or m.startswith(('airflow_kaniko.maintenance', 'airflow_kaniko.oci.registry_client'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "dags" / "kaniko_image_maintenance.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
