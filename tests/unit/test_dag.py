from datetime import UTC, timedelta

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import AssetAlias
from airflow_kaniko.operators.kaniko import KanikoBuildOperator
from tests.conftest import ROOT

DAG_ID = "kaniko_image_maintenance"
REG = "10.244.77.1:5000"


def test_dags_folder_imports_cleanly(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == ["kaniko_image_consumer", DAG_ID]


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
    # No connection and no namespace among them: those are the DAG author's (docs/security.md, "Hostile input").
    assert set(dag.params.keys()) == {"manifest", "images", "dry_run", "force", "max_age", "on_registry_error"}


def test_rendered_pod_of_one_mapped_instance(registry_conn):
    from datetime import datetime

    from airflow_kaniko.manifest.loader import load_manifest

    kwargs = load_manifest(
        ROOT / "dags/images/images.yaml",
        build_date=datetime(2026, 11, 30, tzinfo=UTC),
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
