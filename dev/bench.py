"""`make bench`: KanikoBuildOperator against a plain KubernetesPodOperator, side by side. Numbers, not assertions.

1. Parse cost: the example DAG against a one-task KubernetesPodOperator DAG (dev/parse_dags/one_task_kpo.py),
   each parsed by DagBag in PARSE_REPEAT fresh processes; best and median, and the difference. The budget is
   50 ms; tests/unit/test_parse_imports.py pins the cause (what parsing may import). `dev/bench.py parse`
   runs this part alone; it needs no cluster.
2. Task time: KanikoBuildOperator, default and isolate_push_credentials, against a plain KubernetesPodOperator,
   same build, sync and deferrable: each DAG of dev/bench_dags/ REPEAT times with `airflow dags test` on the
   local cluster; the median task duration (task start to end, as Airflow records it).
3. Pod shape: the operator's pod for 1 and 3 tags, default and isolated, created as the operator creates it
   (gated, then given its Secret and ConfigMap), without Airflow: created to Succeeded.
4. The layer cache: a Dockerfile with a slow early step (hashing BENCH_CACHE_BYTES of `yes` output) and a
   last step that differs, built cold (--cache on an empty cache repo on the local registry) and then cached
   (the same cache repo, the build's own credentials), REPEAT pairs; each pair is checked: the cached log
   reuses the slow step's layer, the images differ in their last layer only, each has its own stamp file.

Knobs: BENCH_REPEAT (3), BENCH_PARSE_REPEAT (9), BENCH_CACHE_BYTES (300000000); `make bench-smoke` runs
everything once on small values.
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
from airflow_runs import ROOT, AirflowRunner, Cluster  # noqa: E402

if TYPE_CHECKING:  # imported where used: Airflow reads AIRFLOW_HOME on import, which main() sets first
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
HELLO = ROOT / "dags/images/hello"
DAGS = [
    "bench_kpo_sync",
    "bench_kaniko_sync",
    "bench_kaniko_isolated_sync",
    "bench_kpo_deferrable",
    "bench_kaniko_deferrable",
    "bench_kaniko_isolated_deferrable",
]
PARSE_REPEAT = int(os.environ.get("BENCH_PARSE_REPEAT", "9"))
PARSE_DAGS = {
    "one-task KPO DAG": ROOT / "dev/parse_dags/one_task_kpo.py",
    "example DAG": ROOT / "dags/kaniko_image_maintenance.py",
    "consumer DAG": ROOT / "dags/kaniko_image_consumer.py",  # an oci:// Asset: Airflow runs our URI handler
}
# Airflow is imported before the clock starts, as in the DAG processor; the DAG file's own imports are timed.
PARSE_PROBE = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
wall, cpu = time.perf_counter(), time.process_time()
bag = DagBag(sys.argv[1])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
assert not bag.import_errors and bag.dags, bag.import_errors
print(json.dumps([wall, cpu]))
"""


def parse_seconds(dag_file: Path, home: Path) -> list[float]:
    """Wall and CPU seconds; CPU time is the steadier figure on a busy machine."""
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(dag_file)], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_cost() -> None:
    home = Path(tempfile.mkdtemp(prefix="airflow-kaniko-bench-parse-"))
    samples: dict[str, list[list[float]]] = {name: [] for name in PARSE_DAGS}
    for _ in range(PARSE_REPEAT):  # interleaved, so load on the machine hits both alike
        for name, dag_file in PARSE_DAGS.items():
            samples[name].append([s * 1000 for s in parse_seconds(dag_file, home)])
    print(f"DAG parse time, {PARSE_REPEAT} fresh processes each (DagBag of one file, Airflow already imported), in ms:")
    print(f"  {'':<18} {'wall best':>10} {'wall median':>12} {'CPU best':>10} {'CPU median':>11}")
    rows = {name: [f(col) for col in zip(*runs, strict=True) for f in (min, statistics.median)] for name, runs in samples.items()}
    for name, row in rows.items():
        print(f"  {name:<18} {row[0]:10.1f} {row[1]:12.1f} {row[2]:10.1f} {row[3]:11.1f}")
    base, *examples = rows.values()
    for name, example in zip(list(rows)[1:], examples, strict=True):
        diff = [e - b for e, b in zip(example, base, strict=True)]
        label = f"{name.split()[0]} - KPO"
        print(f"  {label:<18} {diff[0]:+10.1f} {diff[1]:+12.1f} {diff[2]:+10.1f} {diff[3]:+11.1f}   (budget: +50 ms)")


def delete_plain_pod_objects(api, namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    for delete, name in (
        (api.delete_namespaced_secret, "bench-credentials"),
        (api.delete_namespaced_config_map, "bench-context"),
    ):
        try:
            delete(name, namespace)
        except ApiException as err:
            if err.status != 404:
                raise


def prepare_plain_pod_objects(cluster: Cluster):
    """What KanikoBuildOperator creates per build, made once by hand for the plain operator."""
    from kubernetes import client, config

    from airflow_kaniko.kaniko.context_archive import pack_context
    from airflow_kaniko.kaniko.docker_config import render_docker_config
    from airflow_kaniko.utils.pod_spec import build_config_map, build_secret

    config.load_kube_config(cluster.kubeconfig)
    api = client.CoreV1Api()
    user, password = cluster.credentials()
    delete_plain_pod_objects(api, cluster.namespace)
    api.create_namespaced_secret(
        cluster.namespace,
        build_secret(
            "bench-credentials", cluster.namespace, {"config.json": render_docker_config(cluster.registry, user, password)}, {}
        ),
    )
    archive = pack_context(HELLO)
    api.create_namespaced_config_map(
        cluster.namespace, build_config_map("bench-context", cluster.namespace, {"context.tar.gz": archive.data}, {})
    )
    return api


def main() -> int:
    parse_cost()
    if sys.argv[1:] == ["parse"]:
        return 0
    cluster = Cluster.from_env()
    home = Path(tempfile.mkdtemp(prefix="airflow-kaniko-bench-"))
    os.environ["AIRFLOW_HOME"] = str(home)
    runner = AirflowRunner(home=home, cluster=cluster, dags_folder=ROOT / "dev/bench_dags")
    runner.migrate()
    api = prepare_plain_pod_objects(cluster)
    try:
        return measure(runner, home) or measure_pods(api, cluster) or measure_cache(api, cluster, home)
    finally:
        delete_plain_pod_objects(api, cluster.namespace)


def measure(runner: AirflowRunner, home: Path) -> int:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    print(
        f"median over {REPEAT} interleaved runs (a {ROOT / 'dags/images/hello'} build); "
        "task = Airflow's task duration, pod = 'Building pod' to the task's end:"
    )
    pod_times: dict[str, list[float]] = {dag_id: [] for dag_id in DAGS}
    for i in range(REPEAT):  # interleaved, so a busy moment on the shared machine hits every DAG alike
        for dag_id in DAGS:
            result = runner.dags_test(dag_id, log=home / f"{dag_id}-{i}.log", progress=False)
            if result.returncode:
                print(f"{dag_id}: run {i} failed, see {result.log}")
                return 1
            pod_times[dag_id].append(pod_seconds(result.text()))
    for dag_id in DAGS:
        with create_session() as session:
            durations = [ti.duration for ti in session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id)]
        pods = pod_times[dag_id]
        print(
            f"  {dag_id:<34} task {statistics.median(durations):6.2f} s   pod {statistics.median(pods):6.2f} s"
            f"   (pod runs: {', '.join(f'{d:.2f}' for d in pods)})"
        )
    return 0


# (label, isolate_push_credentials, number of destinations)
POD_SHAPES = [
    ("default, 1 tag", False, 1),
    ("isolated, 1 tag", True, 1),
    ("default, 3 tags", False, 3),
    ("isolated, 3 tags", True, 3),
]


def measure_pods(api, cluster: Cluster) -> int:
    """The pod's shape alone, without Airflow: pod created to Succeeded, polled every 0.1 s."""
    times: dict[str, list[float]] = {label: [] for label, _, _ in POD_SHAPES}
    for _ in range(REPEAT):  # interleaved, as above
        for label, isolate, tags in POD_SHAPES:
            times[label].append(time_one_pod(api, cluster, isolate, tags))
    print(f"median pod time over {REPEAT} runs, created to Succeeded (the same build, pods created directly):")
    for label, _, _ in POD_SHAPES:
        print(f"  {label:<18} {statistics.median(times[label]):6.2f} s   (runs: {', '.join(f'{t:.2f}' for t in times[label])})")
    return 0


def time_one_pod(api, cluster: Cluster, isolate: bool, tags: int) -> float:
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

    ns, reg = cluster.namespace, cluster.registry
    op = KanikoBuildOperator(
        task_id="bench_pod",
        name="bench-pod",
        namespace=ns,
        context=str(HELLO),
        context_roots=[HELLO],  # a local context must be under its context_roots
        destinations=[f"{reg}/bench/hello-pod:{i}" for i in range(tags)],
        build_args={"BASE": f"{reg}/library/busybox:latest"},
        registry_conn_id="kaniko_registry",
        registry_ca={"registry": reg, "config_map": "registry-ca"},
        isolate_push_credentials=isolate,
        pull_conn_id="kaniko_registry" if isolate else None,
    )
    return run_build_pod(api, cluster, op).seconds


@dataclass
class PodRun:
    seconds: float  # pod created to Succeeded
    log: str  # the Kaniko container's output


def run_build_pod(api, cluster: Cluster, op: KanikoBuildOperator) -> PodRun:
    """The operator's pod, created as the operator creates it (gated, then equipped with its Secret and ConfigMap)."""
    from airflow_kaniko.kaniko.docker_config import render_docker_config
    from airflow_kaniko.utils.build_objects import BuildObjects

    ns = cluster.namespace
    pod = op.build_pod_request_obj(dry_run=True)
    name = pod.metadata.name
    config = render_docker_config(cluster.registry, *cluster.credentials())
    secret = {"config.json": config, "pull-config.json": config}
    objects = BuildObjects(api, logging.getLogger("bench"))
    try:
        started = time.monotonic()
        created = api.create_namespaced_pod(ns, pod)
        objects.equip(created, secret, {k: a.data for k, a in op._archives.items()})
        while (status := api.read_namespaced_pod(name, ns).status).phase not in ("Succeeded", "Failed"):
            time.sleep(0.1)
        seconds = time.monotonic() - started
        log = api.read_namespaced_pod_log(name, ns, container=op.base_container_name)
        if status.phase != "Succeeded":
            ended = [
                (c.name, c.state.terminated and c.state.terminated.message)
                for c in [*(status.init_container_statuses or []), *(status.container_statuses or [])]
            ]
            raise RuntimeError(f"bench pod {ns}/{name} ended {status.phase}: {ended}\n{log[-3000:]}")
        return PodRun(seconds, log)
    finally:
        api.delete_namespaced_pod(name, ns, grace_period_seconds=0)
        objects.delete(pod)


# The layer cache: a slow early step (CPU-bound: hashing CACHE_BYTES of `yes`), then a last step that changes.
CACHE_BYTES = int(os.environ.get("BENCH_CACHE_BYTES", "300000000"))
CACHE_DOCKERFILE = """ARG BASE
FROM ${{BASE}}
RUN yes airflow-kaniko | head -c {size} | sha256sum > /slow.txt
RUN echo {stamp} > /stamp.txt
"""
CACHED_LINE = re.compile(r"Using caching version of cmd: RUN yes airflow-kaniko")


def measure_cache(api, cluster: Cluster, root: Path) -> int:
    """Cold (an empty cache repo) against cached (the same cache repo, only the last step changed), REPEAT pairs."""
    import uuid

    from airflow_kaniko.oci.registry_client import Credentials, Registry
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

    reg = cluster.registry
    cold: list[float] = []
    cached: list[float] = []
    with Registry(reg, credentials=Credentials(*cluster.credentials()), ca_file=cluster.registry_ca) as registry:
        for i in range(REPEAT):
            run_id = uuid.uuid4().hex[:8]
            cache_repo, repository = f"bench/cache-{run_id}", f"bench/cache-app-{run_id}"
            runs = {}
            for variant in ("cold", "cached"):
                context = root / f"cache-{run_id}-{variant}"
                context.mkdir(parents=True)
                (context / "Dockerfile").write_text(CACHE_DOCKERFILE.format(size=CACHE_BYTES, stamp=f"{variant}-{run_id}"))
                op = KanikoBuildOperator(
                    task_id="bench_cache",
                    name="bench-cache",
                    namespace=cluster.namespace,
                    context=str(context),
                    context_roots=[root],
                    destinations=[f"{reg}/{repository}:{variant}"],
                    build_args={"BASE": f"{reg}/library/busybox:latest"},
                    registry_conn_id="kaniko_registry",
                    registry_ca={"registry": reg, "config_map": "registry-ca"},
                    cache=True,
                    cache_repo=f"{reg}/{cache_repo}",
                )
                runs[variant] = run_build_pod(api, cluster, op)
                (root / f"cache-{run_id}-{variant}.log").write_text(runs[variant].log)
            problem = check_cache(registry, cluster, repository, run_id, runs)
            if problem:
                print(f"cache run {i}: {problem}; the Kaniko logs are in {root}")
                return 1
            cold.append(runs["cold"].seconds)
            cached.append(runs["cached"].seconds)
    cold_s, cached_s = statistics.median(cold), statistics.median(cached)
    print(
        f"the layer cache, a {CACHE_BYTES / 1e6:.0f} MB hashing step then a changed last step, pod created to Succeeded, "
        f"median of {REPEAT} (cold: --cache on an empty cache repo; cached: the same repo, only the last step changed):"
    )
    print(f"  cache: cold {cold_s:.2f} s, cached {cached_s:.2f} s, ratio {cached_s / cold_s:.2f}")
    print(
        f"  (runs: cold {', '.join(f'{t:.2f}' for t in cold)}; cached {', '.join(f'{t:.2f}' for t in cached)}; "
        "checked each time: the slow step's layer reused, the last step's layer and the digest new)"
    )
    return 0


def check_cache(registry, cluster: Cluster, repository: str, run_id: str, runs: dict[str, PodRun]) -> str | None:
    """What is wrong with a cold/cached pair, or None: the cached build differs from the cold one in its last step only."""
    import io
    import tarfile

    from registry_seed import Seeder

    from airflow_kaniko.oci.registry_client import Credentials

    if CACHED_LINE.search(runs["cold"].log):
        return "the cold build used a cached layer"
    if not CACHED_LINE.search(runs["cached"].log):
        return "the cached build's log does not say it used the cached layer of the slow step"
    images = {v: registry.manifest(repository, v) for v in runs}
    if None in images.values():
        return f"an image was not pushed: {images}"
    if images["cold"].digest == images["cached"].digest:
        return f"both builds pushed {images['cold'].digest}"
    diff_ids = {v: registry.config(repository, m)["rootfs"]["diff_ids"] for v, m in images.items()}
    if diff_ids["cold"][:-1] != diff_ids["cached"][:-1] or diff_ids["cold"][-1] == diff_ids["cached"][-1]:
        return f"the images do not differ in their last layer only: {diff_ids}"
    seeder = Seeder(cluster.registry, Credentials(*cluster.credentials()), cluster.registry_ca)
    for variant, manifest in images.items():
        blob = seeder.pull_blob(repository, manifest.json()["layers"][-1]["digest"])
        with tarfile.open(fileobj=io.BytesIO(blob)) as layer:
            member = next((m for m in layer.getmembers() if m.name.lstrip("./") == "stamp.txt"), None)
            text = layer.extractfile(member).read().decode() if member else None
        if text != f"{variant}-{run_id}\n":
            return f"the {variant} image's last layer has stamp.txt {text!r}, not {variant}-{run_id}"
    return None


def pod_seconds(log: str) -> float:
    """From KubernetesPodOperator's 'Building pod' line to the task's end, read from the log's timestamps."""
    stamps = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z")
    start = end = None
    for line in log.splitlines():
        match = stamps.match(line)
        if match and "Building pod" in line and start is None:
            start = datetime.fromisoformat(match[1])
        elif match and "[DAG TEST] end task" in line:
            end = datetime.fromisoformat(match[1])
    if start is None or end is None:
        raise RuntimeError("no 'Building pod' or task-end line in the log")
    return (end - start).total_seconds()


if __name__ == "__main__":
    sys.exit(main())
