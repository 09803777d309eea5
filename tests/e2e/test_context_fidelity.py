"""Context fidelity (issue 8, item 11): a context packed by the operator builds the same image as Kaniko
reading the directory itself.

Every case of tests/e2e/context_corpus.py is built twice on the local cluster:

- through KanikoBuildOperator (`airflow dags test`): our packer's tar.gz, in a ConfigMap, read as `tar://`;
- as a plain Kaniko pod reading the directory with `--context=dir://`. A pod cannot see the worker's disk
  (hostPath is refused under Pod Security baseline), so the directory travels as `tar --numeric-owner -C <dir> -cz .`
  (GNU tar, not our code) in a ConfigMap, and an init container unpacks it with busybox tar into an emptyDir,
  which keeps modes, owners, links and the root's own mode. The executor then reads that directory.

Both images are read back from the registry and compared layer by layer, entry by entry (type, mode, uid, gid,
link target, size, content hash), and config by config. Only timestamps may differ.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from airflow_runs import latest_run
from kubernetes.client import models as k8s
from registry import fetch_image

from airflow_kaniko.utils.pod_spec import container_security_context, pod_security_context
from tests.e2e.context_corpus import CASES, write_corpus

SCENARIOS = Path(__file__).parent / "dags"
KANIKO = os.environ.get("LOCALKUBE_KANIKO_IMAGE", "ghcr.io/osscontainertools/kaniko:v1.28.3")
KANIKO_DEBUG = os.environ.get("LOCALKUBE_KANIKO_DEBUG_IMAGE", f"{KANIKO}-debug")
_TYPES = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
}


def plain_kaniko_pod(name: str, config_map: str, secret: str, destination: str, base: str, registry: str) -> k8s.V1Pod:
    """Kaniko with --context=dir://, and nothing of this package but the same container security context."""
    unpack = k8s.V1Container(
        name="unpack",
        image=KANIKO_DEBUG,
        image_pull_policy="IfNotPresent",
        command=["/busybox/tar", "-xzf", "/archive/context.tar.gz", "-C", "/context"],
        volume_mounts=[
            k8s.V1VolumeMount(name="archive", mount_path="/archive", read_only=True),
            k8s.V1VolumeMount(name="context", mount_path="/context"),
        ],
    )
    executor = k8s.V1Container(
        name="kaniko",
        image=KANIKO,
        image_pull_policy="IfNotPresent",
        args=[
            "--context=dir:///context",
            "--dockerfile=Dockerfile",
            f"--destination={destination}",
            "--digest-file=/dev/termination-log",
            "--log-format=text",
            f"--build-arg=BASE={base}",
            f"--registry-certificate={registry}=/kaniko/registry-ca/ca.crt",
            # Eleven pods push at once to one small registry; a retried push changes nothing in the image.
            "--push-retry=3",
        ],
        security_context=container_security_context(),
        termination_message_policy="FallbackToLogsOnError",
        volume_mounts=[
            k8s.V1VolumeMount(name="context", mount_path="/context"),
            k8s.V1VolumeMount(name="docker-config", mount_path="/kaniko/.docker", read_only=True),
            k8s.V1VolumeMount(name="registry-ca", mount_path="/kaniko/registry-ca", read_only=True),
        ],
    )
    volumes = [
        k8s.V1Volume(name="archive", config_map=k8s.V1ConfigMapVolumeSource(name=config_map)),
        k8s.V1Volume(name="context", empty_dir=k8s.V1EmptyDirVolumeSource()),
        k8s.V1Volume(name="docker-config", secret=k8s.V1SecretVolumeSource(secret_name=secret)),
        k8s.V1Volume(name="registry-ca", config_map=k8s.V1ConfigMapVolumeSource(name="registry-ca")),
    ]
    spec = k8s.V1PodSpec(
        init_containers=[unpack],
        containers=[executor],
        volumes=volumes,
        restart_policy="Never",
        automount_service_account_token=False,
        security_context=pod_security_context(),
        active_deadline_seconds=900,
    )
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name, labels={"e2e": "context-fidelity"}), spec=spec)


def gnu_tar(directory: Path) -> bytes:
    return subprocess.run(
        ["tar", "--numeric-owner", "-C", str(directory), "-czf", "-", "."], check=True, capture_output=True
    ).stdout


def wait_for_pods(core, namespace: str, names: list[str], timeout: float = 900) -> dict[str, k8s.V1Pod]:
    done: dict[str, k8s.V1Pod] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(names) and time.monotonic() < deadline:
        for name in names:
            if name not in done:
                pod = core.read_namespaced_pod(name, namespace)
                if pod.status.phase in ("Succeeded", "Failed"):
                    done[name] = pod
                    print(
                        f"  plain pod {name}: {pod.status.phase}"
                        + ("" if pod.status.phase == "Succeeded" else f" ({describe(pod)})"),
                        flush=True,
                    )
        time.sleep(1)
    assert len(done) == len(names), f"plain Kaniko pods still running after {timeout}s: {sorted(set(names) - set(done))}"
    return done


def describe(pod: k8s.V1Pod) -> str:
    statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
    states = "; ".join(f"{s.name}: {s.state.terminated or s.state.waiting}" for s in statuses)
    return f"phase {pod.status.phase} ({pod.status.reason}: {pod.status.message}); {states}"[-3000:]


def exit_code(pod: k8s.V1Pod) -> int | None:
    status = next(s for s in pod.status.container_statuses if s.name == "kaniko")
    return status.state.terminated.exit_code if status.state.terminated else None


def termination_message(pod: k8s.V1Pod) -> str:
    status = next(s for s in pod.status.container_statuses if s.name == "kaniko")
    return (status.state.terminated.message or "") if status.state.terminated else ""


@pytest.fixture(scope="module")
def both_ways(runner, cluster, core, tmp_path_factory):
    """{case: {"operator": digest or None, "dir": digest or None, "why": {...}}} and the repository prefix."""
    corpus_dir = tmp_path_factory.mktemp("corpus")
    contexts = write_corpus(corpus_dir)
    namespace = cluster.namespace
    repository = f"{namespace}/fidelity"
    run = uuid.uuid4().hex[:6]
    base = os.environ.get("LOCALKUBE_BASE_IMAGE", f"{cluster.registry}/library/busybox:latest")
    secret = f"fidelity-docker-config-{run}"
    docker_config = Path(os.environ["LOCALKUBE_DOCKER_CONFIG"]).read_bytes()
    core.create_namespaced_secret(
        namespace, k8s.V1Secret(metadata=k8s.V1ObjectMeta(name=secret), string_data={"config.json": docker_config.decode()})
    )
    pods: dict[str, str] = {}
    try:
        for case, directory in contexts.items():
            name = f"fidelity-{case}-{run}"
            body = k8s.V1ConfigMap(
                metadata=k8s.V1ObjectMeta(name=name),
                binary_data={"context.tar.gz": base64.b64encode(gnu_tar(directory)).decode()},
            )
            core.create_namespaced_config_map(namespace, body)
            core.create_namespaced_pod(
                namespace,
                plain_kaniko_pod(name, name, secret, f"{cluster.registry}/{repository}/{case}:dir", base, cluster.registry),
            )
            pods[case] = name
        print(f"  {len(pods)} plain Kaniko pods started", flush=True)
        finished = wait_for_pods(core, namespace, list(pods.values()))
        logs = {
            name: core.read_namespaced_pod_log(name, namespace, container="kaniko")[-2000:]
            for name, pod in finished.items()
            if exit_code(pod) != 0
        }
        print("  now the operator builds the same contexts", flush=True)

        runner.dags_folder = SCENARIOS
        runner.extra_env.update({"KANIKO_FIDELITY_CORPUS": str(corpus_dir), "KANIKO_FIDELITY_REPOSITORY": repository})
        try:
            result = runner.dags_test("e2e_fidelity", log=tmp_path_factory.mktemp("fidelity") / "dags-test.log")
        finally:
            runner.dags_folder = Path(__file__).resolve().parents[2] / "dags"
            for key in ("KANIKO_FIDELITY_CORPUS", "KANIKO_FIDELITY_REPOSITORY"):
                runner.extra_env.pop(key, None)
        dag_run = latest_run("e2e_fidelity")
    finally:
        for name in pods.values():
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
            core.delete_namespaced_config_map(name, namespace)
        core.delete_namespaced_secret(secret, namespace)

    results = {}
    for case, name in pods.items():
        pod = finished[name]
        operator = dag_run["xcom"].get((case, -1))
        results[case] = {
            "operator": operator["digest"] if operator else None,
            "dir": termination_message(pod).strip() if exit_code(pod) == 0 else None,
            "why": {
                "operator": dag_run["tasks"].get((case, -1)),
                "dir": f"{describe(pod)}\n{logs.get(name, '')}",
                "log": result.text()[-3000:],
            },
        }
    return results, repository


def entries(blob: bytes) -> list[tuple]:
    """A layer's entries without timestamps: (path, type, mode, uid, gid, link target, size, sha256)."""
    found = []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
        for member in tar.getmembers():
            name = member.name[2:] if member.name.startswith("./") else member.name
            content = tar.extractfile(member).read() if member.isreg() else b""
            found.append(
                (
                    name.strip("/"),
                    _TYPES.get(member.type, repr(member.type)),
                    oct(member.mode),
                    member.uid,
                    member.gid,
                    member.linkname,
                    member.size,
                    hashlib.sha256(content).hexdigest()[:16],
                )
            )
    return sorted(found)


def without_timestamps(config: dict) -> dict:
    config = copy.deepcopy(config)
    config.pop("created", None)
    for step in config.get("history", []):
        step.pop("created", None)
    # Layer digests hash the entries' timestamps too; the entries themselves are compared one by one.
    config["rootfs"]["diff_ids"] = len(config["rootfs"]["diff_ids"])
    return config


def image(cluster, repository, case, digest):
    manifest, config, layers = fetch_image(
        cluster.registry, f"{repository}/{case}", digest, cluster.credentials(), cluster.registry_ca
    )
    return without_timestamps(config), [entries(blob) for blob in layers]


@pytest.mark.parametrize("case", sorted(CASES))
def test_packed_context_builds_the_same_image_as_a_directory_context(both_ways, cluster, case):
    results, repository = both_ways
    result = results[case]
    assert result["operator"], f"operator build of {case} failed: {result['why']['operator']}\n{result['why']['log']}"
    assert result["dir"], f"plain dir:// build of {case} failed: {result['why']['dir']}"
    via_operator, via_dir = image(cluster, repository, case, result["operator"]), image(cluster, repository, case, result["dir"])
    assert json.dumps(via_operator[0], sort_keys=True, indent=1) == json.dumps(via_dir[0], sort_keys=True, indent=1)
    assert len(via_operator[1]) == len(via_dir[1])
    for index, (ours, theirs) in enumerate(zip(via_operator[1], via_dir[1], strict=True)):
        only_ours, only_theirs = sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours))
        assert (only_ours, only_theirs) == ([], []), (
            f"layer {index} differs:\n operator only: {only_ours[:10]}\n dir:// only: {only_theirs[:10]}"
        )


def test_copy_of_the_context_root_keeps_its_mode(both_ways, cluster):
    """The issue's reproduction, seen in the image: /app is 0755 (it was 0750), so USER 1000 could read it."""
    results, repository = both_ways
    for case, path, mode in (("copy-root-then-user", "app", "0o755"), ("modes", "m", "0o751")):
        _, layers = image(cluster, repository, case, results[case]["operator"])
        (entry,) = [e for layer in layers for e in layer if e[0] == path]
        assert (entry[1], entry[2]) == ("dir", mode), entry
