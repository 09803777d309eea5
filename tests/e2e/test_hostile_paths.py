"""Issue 8, item 5, on the real cluster: a triggering user's paths cannot reach the worker's other files.

A context param pointing out of the DAG author's roots, and a manifest param pointing out of the DAG folder,
fail their task with an error naming the path and the roots, before any pod, Secret or ConfigMap exists.
"""

from pathlib import Path

from airflow_runs import latest_run

from tests.e2e.kube import leftovers

SCENARIOS = Path(__file__).parent / "dags"
ROOT = Path(__file__).resolve().parents[2]


def run(runner, dag_id, conf, tmp_path, core, cluster, dags_folder=SCENARIOS):
    from tests.e2e.conftest import PodRecorder

    original, runner.dags_folder = runner.dags_folder, dags_folder
    try:
        with PodRecorder(core, cluster.namespace) as pods:
            result = runner.dags_test(dag_id, conf, log=tmp_path / f"{dag_id}.log", progress=False)
    finally:
        runner.dags_folder = original
    ours = [name for name, pod in pods.pods.items() if pod["metadata"].get("labels", {}).get("dag_id") == dag_id]
    return result.text(), latest_run(dag_id), ours


def test_context_param_out_of_the_roots_fails_before_any_pod(runner, cluster, core, tmp_path):
    images = Path(__file__).parent / "images"
    for hostile in ("/etc", str(images / ".." / ".." / ".." / "dags"), str(images / "first" / ".." / ".." / "dags")):
        text, dag_run, pods = run(runner, "e2e_hostile_paths", {"ctx": hostile}, tmp_path, core, cluster)
        assert dag_run["state"] == "failed", text[-3000:]
        assert f"KanikoSpecError: context={hostile!r}" in text and "outside the allowed roots" in text and str(images) in text, (
            text[-3000:]
        )
        assert pods == [] and leftovers(core, cluster.namespace) == []
    # Control: the DAG's own default context builds, so the failures above are the confinement's.
    text, dag_run, pods = run(runner, "e2e_hostile_paths", {}, tmp_path, core, cluster)
    assert dag_run["state"] == "success", text[-3000:]
    assert len(pods) == 1


def test_manifest_param_outside_the_dag_folder_fails_in_prepare(runner, cluster, core, tmp_path):
    outside = Path(__file__).parent / "manifest-with-broken.yaml"  # a real manifest, but not in the DAG folder
    text, dag_run, pods = run(
        runner,
        "kaniko_image_maintenance",
        {"manifest": str(outside)},
        tmp_path,
        core,
        cluster,
        ROOT / "dags",
    )
    assert dag_run["state"] == "failed"
    assert dag_run["tasks"][("prepare", -1)]["state"] == "failed"
    assert "outside the allowed roots" in text and str(ROOT / "dags") in text, text[-3000:]
    assert pods == [] and leftovers(core, cluster.namespace) == []
