"""`make demo`: bring up the local cluster and Airflow deployment if needed, trigger the example DAG
through the REST API as a user would, wait for it, print what was pushed and where to see the run.

With KUBECONFIG set (and no dev/localkube env), it uses your cluster instead; see CONTRIBUTING.md,
"Running the demo on your own cluster", for the DEMO_* variables it then reads.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from airflow_runs import ROOT, Cluster  # noqa: E402

DAG_ID = "kaniko_image_maintenance"
CONSUMER = "kaniko_image_consumer"  # scheduled on demo/hello's Asset: runs when hello is rebuilt
CACHE = Path(os.environ.get("CACHE", Path.home() / ".cache" / "airflow-kaniko"))


def start_deployment(cluster_env: Path | None = None) -> None:
    """dev/deploy/up (which starts dev/localkube unless given a cluster env), then its env in os.environ."""
    print("==> starting the local cluster and Airflow (dev/deploy/up); the first run builds Kubernetes and Kaniko", flush=True)
    env = {**os.environ, "VENV": sys.prefix}
    if cluster_env:
        env["AIRFLOW_DEPLOY_CLUSTER_ENV"] = str(cluster_env)
    env_file = (
        subprocess.run([str(ROOT / "dev/deploy/up")], check=True, stdout=subprocess.PIPE, text=True, env=env)
        .stdout.strip()
        .splitlines()[-1]
    )
    exported = subprocess.run(
        ["bash", "-c", f'source "{env_file}" && env -0'], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    os.environ.update(line.split("=", 1) for line in exported.split("\0") if "=" in line)


def own_cluster() -> Path:
    """Your cluster and registry, from the DEMO_* variables, written as the env file dev/deploy/up reads."""
    missing = [v for v in ("DEMO_REGISTRY", "DEMO_REGISTRY_CREDENTIALS") if not os.environ.get(v)]
    if missing:
        sys.exit(f"KUBECONFIG is set, so the demo uses your cluster; it also needs {', '.join(missing)} (see CONTRIBUTING.md)")
    cluster = Cluster(
        kubeconfig=os.environ["KUBECONFIG"],
        namespace=os.environ.get("DEMO_NAMESPACE", "kaniko-builds"),
        registry=os.environ["DEMO_REGISTRY"],
        registry_ca=os.environ.get("DEMO_REGISTRY_CA"),
        credentials_file=os.environ["DEMO_REGISTRY_CREDENTIALS"],
    )
    prepare_namespace(cluster)
    env_file = CACHE / "deploy" / "own-cluster-env.sh"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "KUBECONFIG": cluster.kubeconfig,
        "LOCALKUBE_REGISTRY": cluster.registry,
        "LOCALKUBE_REGISTRY_CREDENTIALS": cluster.credentials_file,
        "LOCALKUBE_REGISTRY_CA": cluster.registry_ca or "",
        "AIRFLOW_DEPLOY_NAMESPACE": cluster.namespace,
    }
    env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items()))
    os.environ["AIRFLOW_DEPLOY_NAMESPACE"] = cluster.namespace
    return env_file


def prepare_namespace(cluster: Cluster) -> None:
    """The namespace, enforcing Pod Security baseline, and the registry-ca ConfigMap the manifest names."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    config.load_kube_config(cluster.kubeconfig)
    api = client.CoreV1Api()
    labels = {"pod-security.kubernetes.io/enforce": "baseline"}
    try:
        api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=cluster.namespace, labels=labels)))
    except ApiException as err:
        if err.status != 409:
            raise
    # A registry with a public CA still gets a bundle: the system's.
    ca = Path(cluster.registry_ca or "/etc/ssl/certs/ca-certificates.crt").read_text()
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="registry-ca"), data={"ca.crt": ca})
    try:
        api.create_namespaced_config_map(cluster.namespace, body)
    except ApiException as err:
        if err.status != 409:
            raise
        api.replace_namespaced_config_map("registry-ca", cluster.namespace, body)


def main() -> int:
    own = os.environ.get("KUBECONFIG") and not os.environ.get("LOCALKUBE_REGISTRY")
    start_deployment(own_cluster() if own else None)
    cluster = Cluster.from_env()

    from airflow_api import AirflowAPI
    from registry import manifest_digest

    api = AirflowAPI.from_env()
    print(
        f"==> Airflow at {api.url} (user admin; password in {os.environ['AIRFLOW_DEPLOY_PASSWORDS']}, never printed)", flush=True
    )
    for dag_id in (DAG_ID, CONSUMER):
        api.wait_for_dag(dag_id)
        api.unpause(dag_id)
    started = time.monotonic()
    conf: dict[str, object] = {}
    if os.environ.get("DEMO_FORCE") == "1":
        conf["force"] = True
    run_id = api.trigger(DAG_ID, conf)["dag_run_id"]
    print(f"==> triggered {DAG_ID} run {run_id} through the REST API; waiting for it", flush=True)
    run = api.wait(DAG_ID, run_id, timeout=900, progress=lambda line: print(f"  {line}", flush=True))

    try:
        report = api.xcom(DAG_ID, run_id, "report")
    except RuntimeError:
        report = {"images": [], "failed": ["(no report)"]}
    auth = cluster.credentials()
    mismatches = 0
    print(f"==> DAG run {run_id}: {run['state']} in {time.monotonic() - started:.0f}s")
    for row in report["images"]:
        if row["status"] not in ("rebuilt", "unchanged"):
            print(f"FAILED {row['name']}: {row.get('reason') or row['status']}")
            continue
        for reference in row["images"]:
            served = manifest_digest(cluster.registry, reference.split("@")[0], auth, cluster.registry_ca)
            if served != row["digest"]:
                mismatches += 1
                print(f"MISMATCH {reference}: the registry serves {served}")
        print(f"IMAGE {row['images'][0]}  {row['reason']}")
    show_consumer(api, run_id, next((row for row in report["images"] if row["name"] == "hello"), None))
    where = f"CA {cluster.registry_ca}; credentials in {cluster.credentials_file}, never printed"
    print(f"Registry: https://{cluster.registry} ({where})")
    print(f"Airflow UI: {api.ui_url(DAG_ID, run_id)}")
    return 0 if run["state"] == "success" and not report["failed"] and not mismatches else 1


def show_consumer(api, run_id: str, hello: dict | None) -> None:
    """The Asset-scheduled consumer: the run that hello's rebuild in ``run_id`` triggered, or why there is none."""
    if not hello or hello["status"] != "rebuilt":
        print(f"CONSUMER {CONSUMER}: not triggered, hello was not rebuilt (DEMO_FORCE=1 make demo rebuilds every image)")
        return

    def triggered():
        for consumer in api.runs(CONSUMER, run_type=["asset_triggered"]):
            if any(e["source_run_id"] == run_id for e in api.triggering_asset_events(CONSUMER, consumer["dag_run_id"])):
                return consumer
        return None

    deadline = time.monotonic() + 120
    while (consumer := triggered()) is None and time.monotonic() < deadline:
        time.sleep(2)
    if consumer is None:
        print(f"CONSUMER {CONSUMER}: no run after hello's Asset event (is the DAG parsed and unpaused?)")
        return
    final = api.wait(CONSUMER, consumer["dag_run_id"], timeout=180)
    if final["state"] != "success":
        print(f"CONSUMER {CONSUMER} run {consumer['dag_run_id']}: {final['state']}")
        return
    for arrived in api.xcom(CONSUMER, consumer["dag_run_id"], "new_image"):
        reason = (arrived["reason"] or {}).get("kind", "-")
        print(f"CONSUMER {CONSUMER} run {consumer['dag_run_id']}: success, for {arrived['image']} (reason {reason})")


if __name__ == "__main__":
    sys.exit(main())
