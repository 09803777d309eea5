"""`make demo`: bring up the local cluster if needed, run the example DAG end to end, print what was pushed.

With KUBECONFIG set (and no dev/localkube env), it uses your cluster instead; see the README,
"Running the demo on your own cluster", for the DEMO_* variables it then reads.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from airflow_runs import ROOT, AirflowRunner, Cluster  # noqa: E402

DAG_ID = "kaniko_image_maintenance"
CACHE = Path(os.environ.get("CACHE", Path.home() / ".cache" / "airflow-kaniko"))


def local_cluster() -> Cluster:
    print("==> starting the local cluster (dev/localkube/up); the first run builds Kubernetes and Kaniko", flush=True)
    env_file = (
        subprocess.run([str(ROOT / "dev/localkube/up")], check=True, stdout=subprocess.PIPE, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    for line in Path(env_file).read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            os.environ[key] = shlex.split(value)[0] if value else ""
    return Cluster.from_env()


def own_cluster() -> Cluster:
    missing = [v for v in ("DEMO_REGISTRY", "DEMO_REGISTRY_CREDENTIALS") if not os.environ.get(v)]
    if missing:
        sys.exit(f"KUBECONFIG is set, so the demo uses your cluster; it also needs {', '.join(missing)} (see README)")
    cluster = Cluster(
        kubeconfig=os.environ["KUBECONFIG"],
        namespace=os.environ.get("DEMO_NAMESPACE", "kaniko-builds"),
        registry=os.environ["DEMO_REGISTRY"],
        registry_ca=os.environ.get("DEMO_REGISTRY_CA"),
        credentials_file=os.environ["DEMO_REGISTRY_CREDENTIALS"],
    )
    prepare_namespace(cluster)
    return cluster


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
    cluster = own_cluster() if os.environ.get("KUBECONFIG") and not os.environ.get("LOCALKUBE_REGISTRY") else local_cluster()
    home = CACHE / "demo-airflow"
    os.environ["AIRFLOW_HOME"] = str(home)  # before airflow is imported, for reading results back
    runner = AirflowRunner(home=home, cluster=cluster)
    print(f"==> Airflow home {home} (SQLite); migrating the metadata DB", flush=True)
    runner.migrate()
    log = home / "demo-dags-test.log"
    print(f"==> airflow dags test {DAG_ID} (full log: {log})", flush=True)
    result = runner.dags_test(DAG_ID, {"namespace": cluster.namespace, "registry_conn_id": "kaniko_registry"}, log=log)

    from airflow_runs import latest_run
    from registry import manifest_digest

    run = latest_run(DAG_ID)
    report = run["xcom"].get(("report", -1)) or {"images": [], "failed": ["(no report)"]}
    auth = cluster.credentials()
    mismatches = 0
    print(f"==> DAG run {run['run_id']}: {run['state']} in {result.seconds:.0f}s")
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
    print(
        f"Registry: https://{cluster.registry} (CA {cluster.registry_ca}; credentials in {cluster.credentials_file}, "
        f"never printed)"
    )
    return 0 if run["state"] == "success" and not report["failed"] and not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
