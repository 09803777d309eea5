"""KanikoBuildOperator: one image, one isolated, non-privileged Kaniko pod."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko import termination
from airflow_kaniko.kaniko.docker_config import render_docker_config, secret_forms
from airflow_kaniko.kaniko.isolated_push import IsolatedPush
from airflow_kaniko.kaniko.spec import LOCAL_CONTEXT_ARCHIVE, KanikoBuild
from airflow_kaniko.kaniko.termination import BuildFailure
from airflow_kaniko.oci.platforms import Platform, node_selector, parse_platform, staging_destinations
from airflow_kaniko.operators.base import KanikoBuildFailed, KanikoPodOperatorBase, _connection, as_bool, terminated_state
from airflow_kaniko.utils import pod_spec

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["KanikoBuildFailed", "KanikoBuildOperator"]

#: Under isolate_push_credentials: the pushers' name (the watched one; others get "-<index>"),
#: and the Secret key and volume of the executor's read-only pull credentials.
PUSH_CONTAINER = "push"
PULL_CONFIG_KEY = "pull-config.json"
PULL_VOLUME = "pull-docker-config"


class KanikoBuildOperator(KanikoPodOperatorBase):
    """
    Build one image with Kaniko in a fresh, non-privileged pod and push it to its destinations.

    A :class:`~airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator`: all of its
    parameters keep working (namespace, node_selector, tolerations, affinity, deferrable, ...).
    See :class:`~airflow_kaniko.operators.base.KanikoPodOperatorBase` for the credential, CA and
    hardened-default parameters. The return value (XCom ``return_value``) is
    ``{"digest": "sha256:…", "images": ["<destination>@sha256:…", …]}``, tags kept.

    With ``platform``, the pod builds that one platform of a multi-arch image and pushes it only under
    staging tags (``<tag>-<os>-<arch>``, one per repository), never under ``destinations``; the result
    adds ``"platform"`` and ``"destinations"`` (the final ones), and
    :class:`~airflow_kaniko.operators.image_index.KanikoImageIndexOperator` pushes the index under them.

    :param context: build context: a local directory shipped with the DAG (packed, honouring
        ``.dockerignore``, into a per-build ConfigMap; a relative path is relative to the DAG file's
        folder, and it must resolve inside ``context_roots``),
        or a ``dir://``, ``git://``, ``s3://``, ``gs://``, Azure ``https://`` or ``tar://`` URL. (templated)
    :param destinations: image references to push, e.g. ``["registry.example.com/team/app:1.2"]``. (templated)
    :param dockerfile: Dockerfile path, relative to the context. (templated)
    :param build_args: ``--build-arg`` values. (templated)
    :param target: multi-stage target. (templated)
    :param image_labels: image labels (``--label``); named so because ``labels`` are the pod's. (templated)
    :param cache: use Kaniko's layer cache. (templated)
    :param cache_repo: repository for cached layers; needs ``cache``. (templated)
    :param cache_ttl: cache lifetime, a Go duration such as ``"168h"``, or a timedelta. (templated)
    :param extra_args: other executor flags, each ``--flag`` or ``--flag=value``; flags that have a
        parameter here, or that the result depends on, are refused. (templated)
    :param image_name: a short name for logs, the pod's ``airflow-kaniko/image`` label and the map index. (templated)
    :param isolate_push_credentials: keep the push credentials out of the executor, where any ``RUN`` step
        could read them: the executor builds with ``--no-push`` as an init container, then one crane
        container per destination, alone mounting the credentials, pushes the image. Not templated: a
        DAG's author decides it, not whoever triggers a run. Refuses ``cache``. Default False.
    :param pull_conn_id: with ``isolate_push_credentials``: a read-only ``docker`` Connection the executor
        uses to pull base images. (templated)
    :param pull_secret: with ``isolate_push_credentials``: an existing ``kubernetes.io/dockerconfigjson``
        Secret, instead of ``pull_conn_id``. (templated)
    :param pusher_image: the crane image of the pushers. Pin it by digest for reproducible builds.
    :param fingerprint: the build inputs' fingerprint, as the maintenance planner computed it, carried in
        the Asset event's extra (see ``airflow_kaniko.assets.events``). Not templated.
    :param build_reason: why this build runs, the planner's ``Reason.to_dict()`` (e.g. ``{"kind": "forced"}``),
        carried in the Asset event's extra. Not templated: it can hold a registry's error text.
    :param platform: build for this platform, ``os/arch[/variant]`` such as ``linux/arm64``
        (``--custom-platform``), as one part of a multi-arch image (see above). (templated)
    :param platform_node_selector: with ``platform``, schedule the pod on nodes of its architecture
        (``kubernetes.io/arch``), where ``RUN`` steps run natively. Keys of your own ``node_selector``
        win; False drops it, e.g. for a Dockerfile without ``RUN`` steps, or nodes with binfmt emulation.
    """

    template_fields: Sequence[str] = (
        *KanikoPodOperatorBase.template_fields,
        "context",
        "destinations",
        "dockerfile",
        "build_args",
        "target",
        "image_labels",
        "cache",
        "cache_repo",
        "cache_ttl",
        "extra_args",
        "image_name",
        "pull_conn_id",
        "pull_secret",
        "platform",
    )
    template_fields_renderers = {**KanikoPodOperatorBase.template_fields_renderers, "build_args": "json", "image_labels": "json"}

    def __init__(
        self,
        *,
        context: str,
        destinations: Sequence[str] | str,
        dockerfile: str = "Dockerfile",
        build_args: Mapping[str, str] | None = None,
        target: str | None = None,
        image_labels: Mapping[str, str] | None = None,
        cache: bool | str = False,
        cache_repo: str | None = None,
        cache_ttl: str | timedelta | None = None,
        extra_args: Sequence[str] | None = None,
        image_name: str | None = None,
        isolate_push_credentials: bool = False,
        pull_conn_id: str | None = None,
        pull_secret: str | None = None,
        pusher_image: str = pod_spec.DEFAULT_PUSHER_IMAGE,
        fingerprint: str | None = None,
        build_reason: Mapping[str, Any] | None = None,
        platform: str | None = None,
        platform_node_selector: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(platform_node_selector, bool):
            reason = "must be True or False (it is not templated)"
            raise KanikoSpecError("platform_node_selector", platform_node_selector, reason)
        if not isinstance(isolate_push_credentials, bool):
            reason = "must be True or False (it is not templated)"
            raise KanikoSpecError("isolate_push_credentials", isolate_push_credentials, reason)
        if isolate_push_credentials:
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
        elif pull_conn_id or pull_secret:
            raise KanikoSpecError(
                "pull_conn_id" if pull_conn_id else "pull_secret",
                pull_conn_id or pull_secret,
                "needs isolate_push_credentials=True; otherwise the executor pulls with the registry credentials",
            )
        super().__init__(**kwargs)
        self.isolate_push_credentials = isolate_push_credentials
        self.pull_conn_id = pull_conn_id
        self.pull_secret = pull_secret
        self.pusher_image = pusher_image
        self._finished_pod: k8s.V1Pod | None = None
        self.context = context
        self.destinations = destinations
        self.dockerfile = dockerfile
        self.build_args = build_args or {}
        self.target = target
        self.image_labels = image_labels or {}
        self.cache = cache
        self.cache_repo = cache_repo
        self.cache_ttl = cache_ttl
        self.extra_args = extra_args or []
        self.image_name = image_name
        self.fingerprint = fingerprint
        self.build_reason = build_reason
        self.platform = platform
        self.platform_node_selector = platform_node_selector

    @property
    def _platform(self) -> Platform | None:
        return parse_platform(self.platform) if self.platform else None

    def final_destinations(self) -> list[str]:
        return [self.destinations] if isinstance(self.destinations, str) else list(self.destinations)

    def build_specs(self) -> list[KanikoBuild]:
        platform = self._platform
        # A platform's build is not the image: it goes under staging tags, the index under the final ones.
        destinations = staging_destinations(self.final_destinations(), platform) if platform else self.destinations
        return [
            KanikoBuild(
                context=self.resolve_context(self.context),
                destinations=destinations,
                dockerfile=self.dockerfile,
                build_args=self.build_args,
                target=self.target or None,
                labels=self.image_labels,
                cache=as_bool("cache", self.cache),
                cache_repo=self.cache_repo or None,
                cache_ttl=self.cache_ttl or None,
                insecure_registries=self.insecure_registries,
                registry_certificates=self.registry_certificates(),
                registry_mirrors=self.registry_mirrors,
                extra_args=self.extra_args,
                name=self.image_name or None,
                platform=platform,
            )
        ]

    def container_argv(self, specs: list[KanikoBuild]) -> tuple[list[str], list[str]]:
        # The image's entrypoint is the executor; there is no shell to go through.
        if self.isolate_push_credentials:
            return [], IsolatedPush(specs[0]).executor_args()
        return [], specs[0].args()

    def archive_key(self, index: int) -> str:
        return LOCAL_CONTEXT_ARCHIVE.rsplit("/", 1)[1]

    def build_pod_request_obj(self, context: Context | None = None, *, dry_run: bool = False) -> k8s.V1Pod:
        if self.image_name:
            self.labels = {**self.labels, "airflow-kaniko/image": self.image_name}
            # kubectl shows which image a pod builds; KubernetesPodOperator adds a random suffix.
            slug = f"-{self._platform.slug}" if self._platform else ""
            self.name = self.name or f"kaniko-{self.image_name.replace('_', '-')}{slug}"
        if self._platform and self.platform_node_selector:
            self.node_selector = {**node_selector(self._platform), **(self.node_selector or {})}
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        if self.isolate_push_credentials:
            self._split_push(pod, IsolatedPush(self.build_specs()[0]))
        return pod

    def read_result(self, message: str | None) -> dict[str, Any]:
        spec = self.build_specs()[0]
        if self.isolate_push_credentials:
            push = IsolatedPush(spec)
            executor = terminated_state(self._finished_pod, pod_spec.EXECUTOR_CONTAINER, init=True)
            others = push.pusher_names(self.base_container_name)[1:]
            pushers = [message, *(getattr(terminated_state(self._finished_pod, n, init=True), "message", None) for n in others)]
            digest = push.pushed_digest(getattr(executor, "message", None), pushers)
        else:
            digest = termination.parse_digest(message)
        result = {"digest": digest, "images": spec.images(digest)}
        return {**result, **self._platform_keys()}

    def _platform_keys(self) -> dict[str, Any]:
        # Which image and platform a staging push belongs to: the merge step and the planner match on these.
        if not self._platform:
            return {}
        return {"platform": str(self._platform), "destinations": self.final_destinations()}

    def _render_pod(self, context: Context) -> dict[str, Any]:
        return {**super()._render_pod(context), **self._platform_keys()}

    def push_failure(self, context: Context, failed: KanikoBuildFailed, remote_pod: k8s.V1Pod | None) -> None:
        if not self._platform:
            return super().push_failure(context, failed, remote_pod)
        failure = failed.failure.to_dict() if failed.failure else None
        context["ti"].xcom_push(key=XCOM_RETURN_KEY, value={"failed": True, "failure": failure, **self._platform_keys()})

    # --- isolate_push_credentials ---------------------------------------------------------------

    def executor_credentials(self, pod: k8s.V1Pod) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        if not self.isolate_push_credentials:
            return super().executor_credentials(pod)
        if self.pull_conn_id and self.pull_secret:
            raise KanikoSpecError("pull_secret", self.pull_secret, "cannot be combined with pull_conn_id; choose one")
        if self.pull_conn_id:
            return [pod_spec.docker_config_volume(self.secret_name(pod), PULL_CONFIG_KEY, name=PULL_VOLUME)]
        if self.pull_secret:
            pod_spec.check_object_name("pull_secret", self.pull_secret)
            return [pod_spec.docker_config_volume(self.pull_secret, ".dockerconfigjson", name=PULL_VOLUME)]
        return []

    def _split_push(self, pod: k8s.V1Pod, push: IsolatedPush) -> None:
        cas = [ca.volume(i)[0] for i, ca in enumerate(self._registry_cas())]
        credentials = super().executor_credentials(pod)  # the push credentials, for the pushers only
        pod_spec.split_push(
            pod,
            push,
            watched=self.base_container_name,
            pusher_image=self.pusher_image,
            credentials=credentials[0][0] if credentials else None,
            registry_cas=cas,
            image_pull_policy=self.image_pull_policy,
        )

    def _load_credentials(self) -> dict[str, bytes]:
        data = super()._load_credentials()
        if self.isolate_push_credentials and self.pull_conn_id:
            conn = _connection(self.pull_conn_id, "pull_conn_id", conn_type="docker", need_host=True)
            config = render_docker_config(conn.host, conn.login, conn.password)
            self._register_secrets(*secret_forms(conn.login, conn.password, config))
            data[PULL_CONFIG_KEY] = config
            self.log.info(
                "Pull credentials for %s come from connection %r; the executor never sees the push credentials",
                conn.host,
                self.pull_conn_id,
            )
        return data

    def cleanup(self, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, xcom_result: dict | None = None, context: Any = None) -> None:
        if self.isolate_push_credentials and remote_pod is not None:
            if terminated_state(remote_pod, pod_spec.EXECUTOR_CONTAINER, init=True) is None:
                remote_pod = self._reread(pod) or remote_pod
            self._log_executor(remote_pod)
            self._finished_pod = remote_pod  # read_result checks every container's digest
        super().cleanup(pod, remote_pod, xcom_result, context)

    def _reread(self, pod: k8s.V1Pod) -> k8s.V1Pod | None:
        # When the pushers never ran (the executor failed), KPO fails reading their log and hands over
        # the pod as first read, before the executor had finished.
        try:
            return self.pod_manager.read_pod(pod)
        except ApiException as err:
            self.log.warning("Could not re-read pod %s: %s", pod.metadata.name, err.reason)
            return None

    def _log_executor(self, remote_pod: k8s.V1Pod) -> None:
        # The build ran in an init container, whose log KubernetesPodOperator does not stream in every mode.
        if terminated_state(remote_pod, pod_spec.EXECUTOR_CONTAINER, init=True) is None:
            return
        self.log.info("Log of the executor (init container %s):", pod_spec.EXECUTOR_CONTAINER)
        try:
            self.pod_manager.fetch_container_logs(pod=remote_pod, container_name=pod_spec.EXECUTOR_CONTAINER, follow=False)
        except ApiException as err:
            self.log.warning("Could not read the executor's log: %s", err.reason)

    def failure_message(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> tuple[str, BuildFailure]:
        if self.isolate_push_credentials:
            pushers = IsolatedPush(self.build_specs()[0]).pusher_names(self.base_container_name)
            for name in (pod_spec.EXECUTOR_CONTAINER, *pushers[1:]):
                state = terminated_state(remote_pod, name, init=True)
                if state is not None and state.exit_code:
                    where = f"{pod.metadata.namespace}/{pod.metadata.name}" if pod is not None and pod.metadata else "its pod"
                    failure = termination.classify_failure(state.message, reason=state.reason)
                    if name != pod_spec.EXECUTOR_CONTAINER:  # a pusher only pushes
                        failure = BuildFailure("push", True, failure.detail)
                    retry = "a retry can help" if failure.retryable else "not retried: the same inputs fail the same way"
                    return (
                        f"Kaniko build of {self.describe_builds()} failed in pod {where}, container {name} "
                        f"(exit code {state.exit_code}, {state.reason}; {failure.kind} failure, {retry}):\n{failure.detail}"
                    ), failure
        return super().failure_message(pod, remote_pod)
