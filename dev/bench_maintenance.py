"""`make bench`, change-aware maintenance: what an unchanged rerun saves, what planning costs, what
--reproducible costs. Numbers, not assertions; everything runs against the local cluster and registry.

1. The example DAG on a copy of the demo manifest (own repository prefix): a full run, then an
   unchanged rerun: Kaniko pods the API server admitted, wall time, and their ratio.
2. prepare's planning for a generated 200-image manifest, in-process against the local registry:
   every image new (fingerprint lookups plus the last-build lookups), then every image unchanged
   (fingerprint lookup, label check, a registry-side retag of two tags), verified against trusted
   (planner._carries patched to True), interleaved over BENCH_REPEAT: the label check's cost per image.
   The registry is seeded with one image per planned fingerprint tag: busybox's layers, mounted, under
   a new config blob that carries that fingerprint's label. Every seeded image must plan unchanged.
3. The app image built with and without --reproducible (Kaniko pod run time, median of BENCH_REPEAT).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from airflow_runs import ROOT, AirflowRunner, Cluster  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
MANY = int(os.environ.get("BENCH_IMAGES", "200"))


class PodCounter:
    """Every Kaniko build pod the API server admits while active, by name, as served."""

    def __init__(self, cluster: Cluster) -> None:
        from kubernetes import client, config

        config.load_kube_config(cluster.kubeconfig)
        self.core, self._namespace = client.CoreV1Api(), cluster.namespace
        self.pods: dict[str, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            response = self.core.list_namespaced_pod(
                self._namespace, label_selector="airflow-kaniko/image", _preload_content=False
            )
            for pod in json.loads(response.data)["items"]:
                self.pods[pod["metadata"]["name"]] = pod

    def __enter__(self) -> PodCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def copy_demo(cluster: Cluster, root: Path, prefix: str) -> tuple[Path, Path]:
    """A copy of the DAG folder, its demo manifest under ``prefix``: the DAG reads a manifest param only inside its own folder."""
    import yaml

    dags = root / "dags"
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    path = dags / "images" / "images.yaml"
    manifest = yaml.safe_load(path.read_text())
    for image in manifest["images"]:
        image["repository"] = image["repository"].replace("demo/", f"{prefix}/")
        if "BASE" in image.get("build_args", {}):
            image["build_args"]["BASE"] = image["build_args"]["BASE"].replace("/demo/", f"/{prefix}/")
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return dags, path


def dag_runs(cluster: Cluster, runner: AirflowRunner, root: Path, prefix: str) -> None:
    dags, manifest = copy_demo(cluster, root, prefix)
    runner.dags_folder = dags
    timings = {}
    for name in ("full run", "unchanged rerun"):
        with PodCounter(cluster) as pods:
            result = runner.dags_test(
                "kaniko_image_maintenance",
                {"manifest": str(manifest)},
                log=root / f"{name}.log",
                progress=False,
            )
        if result.returncode:
            raise SystemExit(f"{name} failed, see {result.log}")
        timings[name] = (len(pods.pods), result.seconds)
    if timings["full run"][0] == 0 or timings["unchanged rerun"][0] != 0:
        raise SystemExit(f"expected Kaniko pods on the full run and none on the unchanged rerun, got {timings}; see {root}")
    full = timings["full run"][1]
    print("example DAG on the demo manifest (airflow dags test, wall time):")
    for name, (pods, seconds) in timings.items():
        print(f"  {name:<16} {pods:2d} Kaniko pod(s)  {seconds:6.1f} s  ({seconds / full:.2f} of the full run)")


def many_images(cluster: Cluster, root: Path, prefix: str) -> None:
    from registry_seed import Seeder

    from airflow_kaniko.maintenance import planner
    from airflow_kaniko.maintenance.fingerprint import FINGERPRINT_LABEL, fingerprint_tag
    from airflow_kaniko.maintenance.planner import prepare_plan
    from airflow_kaniko.oci.registry_client import Credentials, Registries

    builds = []
    for n in range(MANY):
        context = root / "many" / f"i{n}"
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY file /file\n")
        (context / "file").write_text(f"image {n}\n")
        repo = f"{cluster.registry}/{prefix}/i{n}"
        builds.append(
            {
                "image_name": f"i{n}",
                "context": str(context),
                "dockerfile": "Dockerfile",
                "destinations": [f"{repo}:20261130", f"{repo}:latest"],
                "build_args": {"BASE": f"{cluster.registry}/library/busybox:latest"},
                "image_labels": {},
            }
        )
    credentials = {cluster.registry: Credentials(*cluster.credentials())}
    ca_files = {cluster.registry: cluster.registry_ca} if cluster.registry_ca else {}

    def plan() -> tuple[float, dict]:
        with Registries(credentials, ca_files) as registries:
            started = time.monotonic()
            result = prepare_plan(
                builds,
                registries=registries,
                executor_image=os.environ["LOCALKUBE_KANIKO_IMAGE"],  # resolved by digest, like a base
                now=datetime.now(UTC),
                log=lambda _: None,
            )
            return time.monotonic() - started, result["plan"]

    new_seconds, plan_new = plan()
    # Stand-ins for the finished builds: busybox under each image's fingerprint tag, its config given
    # that fingerprint's label (a new config blob per image), as the planner verifies before it retags.
    seeder = Seeder(cluster.registry, credentials[cluster.registry], ca_files.get(cluster.registry))
    for name, state in plan_new["images"].items():
        seeder.copy_labelled(
            "library/busybox",
            "latest",
            f"{prefix}/{name}",
            [fingerprint_tag(state["fingerprint"])],
            {FINGERPRINT_LABEL: state["fingerprint"]},
        )

    def unchanged_plan(variant: str) -> float:
        if variant == "trusted":  # the fingerprint tag taken at its word: no label read
            with mock.patch.object(planner, "_carries", return_value=True):
                seconds, result = plan()
        else:
            seconds, result = plan()
        statuses = {name: s["status"] for name, s in result["images"].items()}
        if sorted(statuses.values()) != ["unchanged"] * MANY:
            changed = {name: status for name, status in statuses.items() if status != "unchanged"}
            raise SystemExit(f"{variant} planning of {MANY} seeded images: not every image unchanged: {changed}")
        return seconds

    unchanged: dict[str, list[float]] = {"verified": [], "trusted": []}
    for _ in range(REPEAT):  # interleaved, so a busy moment on the shared machine hits both alike
        for variant, runs in unchanged.items():
            runs.append(unchanged_plan(variant))
    verified, trusted = (statistics.median(unchanged[v]) for v in ("verified", "trusted"))
    print(f"prepare's planning for {MANY} images against the local registry (in-process, after the manifest is loaded):")
    print(
        f"  all new        {new_seconds:6.2f} s  ({new_seconds / MANY * 1000:.1f} ms per image: pack the context, "
        f"parse the Dockerfile, fingerprint lookup, last-build lookup)"
    )
    print(
        f"  all unchanged  {verified:6.2f} s  ({verified / MANY * 1000:.1f} ms per image: fingerprint lookup, "
        f"label check, retag of 2 tags; median of {REPEAT}, all {MANY} unchanged)"
    )
    print(
        f"  trusted        {trusted:6.2f} s  ({trusted / MANY * 1000:.1f} ms per image: the same without the label "
        f"check; median of {REPEAT})"
    )
    runs = "; ".join(f"{v} {', '.join(f'{t:.2f}' for t in unchanged[v])} s" for v in unchanged)
    print(
        f"  the label check (issue 18): {(verified - trusted) / MANY * 1000:+.1f} ms per image"
        f"  (_carries: the config blob of the manifest the fingerprint lookup read; runs: {runs})"
    )


def ended_state(core, namespace: str, name: str) -> dict | None:
    """The terminated state of a kept build pod's Kaniko container (`kaniko`, BASE_CONTAINER_NAME); then deletes the pod."""
    pod = core.read_namespaced_pod(name, namespace, _preload_content=False)
    core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    statuses = json.loads(pod.data)["status"].get("containerStatuses") or []
    return next((s["state"]["terminated"] for s in statuses if s["name"] == "kaniko" and "terminated" in s["state"]), None)


def reproducible_cost(cluster: Cluster, home: Path) -> None:
    runner = AirflowRunner(home=home, cluster=cluster, dags_folder=ROOT / "dev/bench_dags")
    seconds: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(REPEAT):
        for name in ("off", "on"):
            with PodCounter(cluster) as pods:
                result = runner.dags_test(f"bench_reproducible_{name}", log=home / f"reproducible-{name}-{i}.log", progress=False)
            if result.returncode:
                raise SystemExit(f"bench_reproducible_{name} failed, see {result.log}")
            ended = [ended_state(pods.core, cluster.namespace, pod) for pod in pods.pods]  # kept by the DAG: read, then deleted
            if not ended or None in ended:
                raise SystemExit(f"bench_reproducible_{name}: no ended Kaniko pod ({ended}), see {result.log}")
            for state in ended:
                started, finished = (datetime.fromisoformat(state[k].replace("Z", "+00:00")) for k in ("startedAt", "finishedAt"))
                seconds[name].append((finished - started).total_seconds())
    print(f"the app image, Kaniko container run time, median of {REPEAT} (1 s resolution):")
    for name in ("off", "on"):
        print(
            f"  --reproducible {name:<4} {statistics.median(seconds[name]):5.1f} s  (runs: "
            f"{', '.join(f'{s:.0f}' for s in seconds[name])})"
        )


def main() -> int:
    cluster = Cluster.from_env()
    home = Path(tempfile.mkdtemp(prefix="airflow-kaniko-bench-maint-"))
    os.environ["AIRFLOW_HOME"] = str(home)
    prefix = f"bench-maint-{uuid.uuid4().hex[:8]}"
    runner = AirflowRunner(home=home, cluster=cluster)
    runner.migrate()
    dag_runs(cluster, runner, home, prefix)
    many_images(cluster, home, prefix)
    reproducible_cost(cluster, home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
