"""How a single build's image reaches its destinations: pushed by the executor, or by pushers that alone hold the credentials.

One strategy object per mode, so the operator asks it instead of branching on ``isolate_push_credentials``:

``DirectPushMode``    the executor pushes; it mounts the registry credentials.
``IsolatedPushMode``  the executor builds with ``--no-push`` as an init container; one crane container per
                      destination, alone mounting the push credentials, pushes the OCI layout it left
                      (``airflow_kaniko.kaniko.isolated_push`` renders their argv).
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes.client import models as k8s

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko import isolated_push, termination
from airflow_kaniko.kaniko.spec import KanikoBuild
from airflow_kaniko.results import BuildFailure
from airflow_kaniko.utils import pod_spec
from airflow_kaniko.utils.pod_status import pod_location, retry_note, terminated_state

Mount = tuple[k8s.V1Volume, k8s.V1VolumeMount]

#: Under isolated push: the pushers' name (the watched one; others get "-<index>"),
#: and the Secret key and volume of the executor's read-only pull credentials.
PUSH_CONTAINER = "push"
PULL_CONFIG_KEY = "pull-config.json"
PULL_VOLUME = "pull-docker-config"


class DirectPushMode:
    """The executor pushes, with the registry credentials mounted."""

    #: The init container the executor runs as, whose log and state are read separately (none: it is the pod's container).
    executor_init_container: str | None = None
    #: A Connection with read-only pull credentials for the executor (none: it uses the registry's).
    pull_conn_id: str | None = None

    def executor_args(self, spec: KanikoBuild) -> list[str]:
        return spec.args()

    def executor_credentials(self, registry: list[Mount], secret_name: str) -> list[Mount]:
        """What the executor mounts, given the registry credentials' mount."""
        return registry

    def shape_pod(
        self, pod: k8s.V1Pod, spec: KanikoBuild, *, watched: str, registry: list[Mount], registry_cas: Sequence[k8s.V1Volume]
    ) -> None:
        """Nothing to add: the executor is the pod's one container."""

    def digest(self, spec: KanikoBuild, pod: k8s.V1Pod, watched: str, message: str | None) -> str:
        """The pushed digest, from the watched container's termination ``message``; raises TerminationMessageError."""
        return termination.parse_digest(message)

    def failure(
        self, builds: str, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None, spec: KanikoBuild, watched: str
    ) -> tuple[str, BuildFailure] | None:
        """The failure of a container the mode adds, or None to describe the watched one."""
        return None


@dataclass
class IsolatedPushMode:
    """The executor never sees the push credentials: it builds, crane pushers push."""

    pusher_image: str
    pull_conn_id: str | None = None
    pull_secret: str | None = None
    image_pull_policy: str | None = None
    executor_init_container: str | None = pod_spec.EXECUTOR_CONTAINER

    @staticmethod
    def operator_defaults(kwargs: MutableMapping[str, Any]) -> None:
        """The KubernetesPodOperator arguments this mode changes, unless the caller set them."""
        # KubernetesPodOperator watches the last pusher; the executor runs before it, as an init container.
        kwargs.setdefault("base_container_name", PUSH_CONTAINER)
        # The pod stays Pending while its init containers run, i.e. for the whole build; scheduling
        # keeps the startup timeout it would have had (KPO's own default 120 s).
        kwargs.setdefault("schedule_timeout_seconds", kwargs.get("startup_timeout_seconds") or 120)
        deadline = kwargs.get("active_deadline_seconds") or pod_spec.DEFAULT_ACTIVE_DEADLINE_SECONDS
        kwargs.setdefault("startup_timeout_seconds", deadline)
        if kwargs["base_container_name"] == pod_spec.EXECUTOR_CONTAINER:
            reason = "names the executor's init container under isolate_push_credentials"
            raise KanikoSpecError("base_container_name", pod_spec.EXECUTOR_CONTAINER, reason)

    def executor_args(self, spec: KanikoBuild) -> list[str]:
        return isolated_push.IsolatedPush(spec).executor_args()

    def executor_credentials(self, registry: list[Mount], secret_name: str) -> list[Mount]:
        """Only the pull credentials, from ``pull_conn_id`` (the per-build Secret) or ``pull_secret``."""
        if self.pull_conn_id and self.pull_secret:
            raise KanikoSpecError("pull_secret", self.pull_secret, "cannot be combined with pull_conn_id; choose one")
        if self.pull_conn_id:
            return [pod_spec.docker_config_volume(secret_name, PULL_CONFIG_KEY, name=PULL_VOLUME)]
        if self.pull_secret:
            pod_spec.check_object_name("pull_secret", self.pull_secret)
            return [pod_spec.docker_config_volume(self.pull_secret, ".dockerconfigjson", name=PULL_VOLUME)]
        return []

    def shape_pod(
        self, pod: k8s.V1Pod, spec: KanikoBuild, *, watched: str, registry: list[Mount], registry_cas: Sequence[k8s.V1Volume]
    ) -> None:
        """The executor becomes an init container; the pushers follow it, alone mounting ``registry``."""
        split_push(
            pod,
            isolated_push.IsolatedPush(spec),
            watched=watched,
            pusher_image=self.pusher_image,
            credentials=registry[0][0] if registry else None,
            registry_cas=registry_cas,
            image_pull_policy=self.image_pull_policy,
        )

    def digest(self, spec: KanikoBuild, pod: k8s.V1Pod, watched: str, message: str | None) -> str:
        """The digest every pusher pushed, checked against the one the executor built."""
        push = isolated_push.IsolatedPush(spec)
        executor = terminated_state(pod, pod_spec.EXECUTOR_CONTAINER, init=True)
        others = push.pusher_names(watched)[1:]
        pushers = [message, *(getattr(terminated_state(pod, n, init=True), "message", None) for n in others)]
        return push.pushed_digest(getattr(executor, "message", None), pushers)

    def failure(
        self, builds: str, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None, spec: KanikoBuild, watched: str
    ) -> tuple[str, BuildFailure] | None:
        """The executor's failure, or an earlier pusher's (those run as init containers too)."""
        pushers = isolated_push.IsolatedPush(spec).pusher_names(watched)
        for name in (pod_spec.EXECUTOR_CONTAINER, *pushers[1:]):
            state = terminated_state(remote_pod, name, init=True)
            if state is not None and state.exit_code:
                failure = termination.classify_failure(state.message, reason=state.reason)
                if name != pod_spec.EXECUTOR_CONTAINER:  # a pusher only pushes
                    failure = BuildFailure("push", True, failure.detail)
                how = f"exit code {state.exit_code}, {state.reason}; {failure.kind} failure, {retry_note(failure)}"
                where = f"{pod_location(pod)}, container {name}"
                return f"Kaniko build of {builds} failed in pod {where} ({how}):\n{failure.detail}", failure
        return None


PushMode = DirectPushMode | IsolatedPushMode


def pusher_security_context() -> k8s.V1SecurityContext:
    """crane only reads a directory and talks to registries: no capability at all, read-only root filesystem.

    It runs as uid 0 only because the layout Kaniko writes is root's, mode 0600 (go-containerregistry
    creates blobs with os.CreateTemp); without capabilities, root reads those as their owner and nothing else.
    """
    return k8s.V1SecurityContext(
        privileged=False,
        run_as_user=0,
        run_as_non_root=False,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )


def pusher_resources() -> k8s.V1ResourceRequirements:
    return k8s.V1ResourceRequirements(requests={"cpu": "50m", "memory": "64Mi"}, limits={"memory": "512Mi"})


def output_volume() -> k8s.V1Volume:
    """Holds the built image between the executor and the pushers; gone with the pod."""
    return k8s.V1Volume(name=pod_spec.OUTPUT_VOLUME, empty_dir=k8s.V1EmptyDirVolumeSource())


def split_push(
    pod: k8s.V1Pod,
    push: isolated_push.IsolatedPush,
    *,
    watched: str,
    pusher_image: str,
    credentials: k8s.V1Volume | None,
    registry_cas: Sequence[k8s.V1Volume],
    image_pull_policy: str | None = None,
) -> None:
    """Turn the executor container ``watched`` into an init container, followed by one pusher per destination.

    The first destination's pusher takes the name ``watched`` and is the pod's container, so it runs last and is
    the one KubernetesPodOperator watches. Only the pushers mount ``credentials``.
    """
    output_dir = isolated_push.OUTPUT_DIR
    executor = next(c for c in pod.spec.containers if c.name == watched)
    executor.name = pod_spec.EXECUTOR_CONTAINER
    executor.volume_mounts = [
        *(executor.volume_mounts or []),
        k8s.V1VolumeMount(name=pod_spec.OUTPUT_VOLUME, mount_path=output_dir),
    ]
    mounts = [k8s.V1VolumeMount(name=pod_spec.OUTPUT_VOLUME, mount_path=output_dir, read_only=True)]
    if credentials is not None:
        mounts.append(k8s.V1VolumeMount(name=credentials.name, mount_path=isolated_push.PUSHER_DOCKER_CONFIG_DIR, read_only=True))
    mounts += [
        k8s.V1VolumeMount(name=v.name, mount_path=isolated_push.pusher_ca_dir(i), read_only=True)
        for i, v in enumerate(registry_cas)
    ]

    def pusher(name: str, destination: str) -> k8s.V1Container:
        return k8s.V1Container(
            name=name,
            image=pusher_image,
            args=push.pusher_args(destination),  # crane is the image's entrypoint: no shell
            env=[k8s.V1EnvVar(name=k, value=v) for k, v in push.pusher_env().items()],
            volume_mounts=mounts,
            security_context=pusher_security_context(),
            resources=pusher_resources(),
            termination_message_policy="FallbackToLogsOnError",
            image_pull_policy=image_pull_policy,
        )

    names = push.pusher_names(watched)
    destinations = push.build.destinations
    others = [pusher(n, d) for n, d in zip(names[1:], destinations[1:], strict=True)]
    pod.spec.init_containers = [*(pod.spec.init_containers or []), executor, *others]
    pod.spec.containers = [pusher(watched, destinations[0]) if c is executor else c for c in pod.spec.containers]
    pod.spec.volumes = [*(pod.spec.volumes or []), *([credentials] if credentials is not None else []), output_volume()]
