"""The Kubernetes objects around one Kaniko build: hardened defaults, volumes, the per-build Secret and ConfigMap."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence

from kubernetes.client import models as k8s

from airflow_kaniko import config
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.registry_ca import OBJECT_NAME_RE, RegistryCA
from airflow_kaniko.kaniko.spec import LOCAL_CONTEXT_DIR

# The [kaniko] section's defaults, what a rendered pod runs when neither an argument nor airflow.cfg names one.
DEFAULT_EXECUTOR_IMAGE = config.DEFAULT_EXECUTOR_IMAGE
DEFAULT_DEBUG_EXECUTOR_IMAGE = config.DEFAULT_DEBUG_EXECUTOR_IMAGE
DEFAULT_PUSHER_IMAGE = config.DEFAULT_PUSHER_IMAGE
#: What a Dockerfile with ``COPY --chown`` and ``USER`` needs; everything else is dropped.
KANIKO_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID")
DOCKER_CONFIG_DIR = "/kaniko/.docker"
DEFAULT_ACTIVE_DEADLINE_SECONDS = 3600
MANAGED_BY = {"app.kubernetes.io/managed-by": "airflow-kaniko"}

_DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


def default_resources() -> k8s.V1ResourceRequirements:
    return k8s.V1ResourceRequirements(requests={"cpu": "250m", "memory": "512Mi"}, limits={"memory": "2Gi"})


def container_security_context() -> k8s.V1SecurityContext:
    """Kaniko runs as uid 0 (it unpacks images), so the container is locked down instead."""
    return k8s.V1SecurityContext(
        privileged=False,
        run_as_user=0,
        run_as_non_root=False,
        allow_privilege_escalation=False,
        capabilities=k8s.V1Capabilities(drop=["ALL"], add=list(KANIKO_CAPABILITIES)),
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )


def pod_security_context() -> k8s.V1PodSecurityContext:
    return k8s.V1PodSecurityContext(seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"))


def as_resources(value: object) -> k8s.V1ResourceRequirements | None:
    """Accept resources as a dict (from a manifest or XCom) as well as the model."""
    if value is None or isinstance(value, k8s.V1ResourceRequirements):
        return value
    if isinstance(value, Mapping) and set(value) <= {"requests", "limits"}:
        return k8s.V1ResourceRequirements(requests=value.get("requests"), limits=value.get("limits"))
    raise KanikoSpecError("container_resources", value, "must be V1ResourceRequirements or {'requests': {...}, 'limits': {...}}")


def registry_ca_volume(ca: RegistryCA, index: int) -> tuple[k8s.V1Volume, k8s.V1VolumeMount]:
    """The ConfigMap volume of the ``index``-th registry CA, mounted read-only where its certificate points."""
    name = f"registry-ca-{index}"
    items = [k8s.V1KeyToPath(key=ca.key, path=ca.key)]
    volume = k8s.V1Volume(name=name, config_map=k8s.V1ConfigMapVolumeSource(name=ca.config_map, items=items))
    return volume, k8s.V1VolumeMount(name=name, mount_path=ca.mount_dir(index), read_only=True)


# Variables the executor reads in place of flags the operator refuses or owns (--registry-mirror, --no-push, ...).
EXECUTOR_ENV_FLAGS = {
    "KANIKO_REGISTRY_MIRROR": "registry_mirrors",
    "KANIKO_REGISTRY_MAP": "registry_mirrors",
    "KANIKO_NO_PUSH": "",
    "KANIKO_DIR": "",
}


def check_executor_env(containers: Sequence[k8s.V1Container]) -> None:
    """Refuse variables that stand in for executor flags, and ``env_from``, whose variables cannot be checked.

    The names ``env_from`` brings in are the keys of a ConfigMap or Secret as the cluster holds them when
    the pod starts (and its ``prefix`` can make ``KANIKO_…`` of any key), so nothing here can vet them.
    """
    for container in containers:
        for source in container.env_from or []:
            ref = source.config_map_ref or source.secret_ref
            kind = "configMap" if source.config_map_ref else "secret"
            raise KanikoSpecError(
                "env_from",
                f"{kind}/{ref.name if ref else None}",
                "is refused on the executor: its variables are unknown until the pod starts, so they cannot be checked"
                " against the executor's flags; name each variable in env_vars (value_from a ConfigMap or Secret key)",
            )
        for env in container.env or []:
            if env.name in EXECUTOR_ENV_FLAGS:
                use = EXECUTOR_ENV_FLAGS[env.name]
                raise KanikoSpecError(
                    "env_vars",
                    env.name,
                    "stands in for an executor flag the operator refuses or sets" + (f"; use {use}" if use else ""),
                )


def check_object_name(field: str, value: object) -> str:
    if not isinstance(value, str) or not OBJECT_NAME_RE.fullmatch(value):
        raise KanikoSpecError(field, value, "is not a valid Kubernetes object name")
    return value


def docker_config_volume(secret_name: str, key: str, name: str = "docker-config") -> tuple[k8s.V1Volume, k8s.V1VolumeMount]:
    """Credentials, mounted read-only where Kaniko looks for them."""
    volume = k8s.V1Volume(
        name=name,
        secret=k8s.V1SecretVolumeSource(secret_name=secret_name, items=[k8s.V1KeyToPath(key=key, path="config.json")]),
    )
    return volume, k8s.V1VolumeMount(name=name, mount_path=DOCKER_CONFIG_DIR, read_only=True)


def context_volume(config_map_name: str, keys: Sequence[str]) -> tuple[k8s.V1Volume, k8s.V1VolumeMount]:
    """Packed contexts; one archive per key, since a ConfigMap directory of loose files breaks COPY."""
    volume = k8s.V1Volume(
        name="build-context",
        config_map=k8s.V1ConfigMapVolumeSource(name=config_map_name, items=[k8s.V1KeyToPath(key=k, path=k) for k in keys]),
    )
    return volume, k8s.V1VolumeMount(name="build-context", mount_path=LOCAL_CONTEXT_DIR, read_only=True)


def git_env(secret_name: str, username_key: str, password_key: str) -> list[k8s.V1EnvVar]:
    """Kaniko reads git credentials for git:// contexts from these variables."""

    def ref(key: str) -> k8s.V1EnvVarSource:
        return k8s.V1EnvVarSource(secret_key_ref=k8s.V1SecretKeySelector(name=secret_name, key=key))

    return [
        k8s.V1EnvVar(name="GIT_USERNAME", value_from=ref(username_key)),
        k8s.V1EnvVar(name="GIT_PASSWORD", value_from=ref(password_key)),
    ]


def build_secret(
    name: str, namespace: str, data: Mapping[str, bytes], labels: Mapping[str, str], owner: k8s.V1OwnerReference | None = None
) -> k8s.V1Secret:
    return k8s.V1Secret(
        metadata=_metadata(name, namespace, labels, owner),
        type="Opaque",
        immutable=True,
        data={k: base64.b64encode(v).decode() for k, v in data.items()},
    )


def build_config_map(
    name: str, namespace: str, archives: Mapping[str, bytes], labels: Mapping[str, str], owner: k8s.V1OwnerReference | None = None
) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(
        metadata=_metadata(name, namespace, labels, owner),
        immutable=True,
        binary_data={k: base64.b64encode(v).decode() for k, v in archives.items()},
    )


def _metadata(name: str, namespace: str, labels: Mapping[str, str], owner: k8s.V1OwnerReference | None) -> k8s.V1ObjectMeta:
    return k8s.V1ObjectMeta(
        name=name, namespace=namespace, labels={**MANAGED_BY, **labels}, owner_references=[owner] if owner else None
    )


def owner_reference(pod_name: str, pod_uid: str) -> k8s.V1OwnerReference:
    """Makes the garbage collector delete an object with its pod, even if the worker dies."""
    return k8s.V1OwnerReference(api_version="v1", kind="Pod", name=pod_name, uid=pod_uid)


# --- isolate_push_credentials: names the pod and its pushers share (utils/push_modes.py builds them) ---

#: The executor's name once it runs as an init container; the pushers are named after the watched container.
EXECUTOR_CONTAINER = "kaniko"
OUTPUT_VOLUME = "image-output"
