"""KanikoBuildOperator: one image, one isolated, non-privileged Kaniko pod."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from airflow_kaniko import config
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.base_pins import BasePin, check_pins
from airflow_kaniko.kaniko.context_archive import ContextArchive
from airflow_kaniko.kaniko.docker_config import render_docker_config, secret_forms
from airflow_kaniko.kaniko.spec import LOCAL_CONTEXT_ARCHIVE, KanikoBuild
from airflow_kaniko.oci.platforms import Platform, node_selector, parse_platform, staging_destinations
from airflow_kaniko.operators.base import KanikoBuildFailed, KanikoPodOperatorBase, Returned, _connection, as_bool
from airflow_kaniko.results import BuildFailure, BuildResult, FailedBuild, RenderedBuild
from airflow_kaniko.utils import pod_spec
from airflow_kaniko.utils.pod_status import terminated_state
from airflow_kaniko.utils.push_modes import PULL_CONFIG_KEY, DirectPushMode, IsolatedPushMode, PushMode

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["KanikoBuildFailed", "KanikoBuildOperator", "KanikoContextChanged"]

_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


class KanikoContextChanged(KanikoBuildFailed):
    """The local context packs to another digest than the one the plan fingerprinted: nothing was built.

    Retryable: a retry packs it again (on a worker with the planned revision of the DAG folder it passes).
    """

    def __init__(self, name: str, context: str, planned: str, packed: str) -> None:
        detail = f"{context} packs to {packed} but the plan fingerprinted {planned}"
        super().__init__(
            f"The context of {name} changed since it was planned: {detail}; not built, no pod created "
            "(a retry packs it again; the next run plans the context as it is now)",
            BuildFailure("context", True, detail),
        )


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
    :param pull_conn_id: with ``isolate_push_credentials``: a read-only ``oci_registry`` (or ``docker``) Connection the executor
        uses to pull base images. (templated)
    :param pull_secret: with ``isolate_push_credentials``: an existing ``kubernetes.io/dockerconfigjson``
        Secret, instead of ``pull_conn_id``. (templated)
    :param pusher_image: the crane image of the pushers; default: ``[kaniko] pusher_image``. Pin it by digest
        for reproducible builds.
    :param fingerprint: the build inputs' fingerprint, as the maintenance planner computed it, carried in
        the Asset event's extra (see ``airflow_kaniko.assets.events``). Not templated.
    :param build_reason: why this build runs, the planner's ``Reason.to_dict()`` (e.g. ``{"kind": "forced"}``),
        carried in the Asset event's extra. Not templated: it can hold a registry's error text.
    :param context_digest: ``sha256:<64 hex>``, the tar digest (``ContextArchive.tar_digest``) of the local
        context the maintenance plan fingerprinted: the context packed here must have it, or the build fails
        before any pod with :class:`KanikoContextChanged` (retryable), its result a ``context`` failure.
        Needs a local context. Not templated: the planner sets it; ``None`` checks nothing.
    :param base_pins: base images to pull by digest, each ``{"line": <int>, "written": <reference as
        written>, "pinned": "<registry/repo:tag@sha256:…>"}`` (``maintenance.dockerfile.BasePin``): the
        Dockerfile packed for the build names each by its digest where it stood, the file on disk untouched,
        so the image is built on exactly those bases. Needs a local context. Not templated: the planner
        sets it from the digests it fingerprinted.
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
        pusher_image: str | None = None,
        fingerprint: str | None = None,
        build_reason: Mapping[str, Any] | None = None,
        context_digest: str | None = None,
        base_pins: Sequence[BasePin] | None = None,
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
        if context_digest is not None and not (isinstance(context_digest, str) and _DIGEST_RE.fullmatch(context_digest)):
            reason = "must be a context's tar digest, sha256: and 64 lowercase hex digits (it is not templated)"
            raise KanikoSpecError("context_digest", context_digest, reason)
        pins = check_pins(base_pins)
        if isolate_push_credentials:
            IsolatedPushMode.operator_defaults(kwargs)
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
        self.pusher_image = pusher_image if pusher_image is not None else config.pusher_image()
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
        self.context_digest = context_digest
        self.base_pins = pins
        self.platform = platform
        self.platform_node_selector = platform_node_selector

    @property
    def _platform(self) -> Platform | None:
        return parse_platform(self.platform) if self.platform else None

    @property
    def push_mode(self) -> PushMode:
        """How the image reaches its destinations (``utils/push_modes.py``)."""
        if not self.isolate_push_credentials:
            return DirectPushMode()
        return IsolatedPushMode(self.pusher_image, self.pull_conn_id, self.pull_secret, self.image_pull_policy)

    def final_destinations(self) -> list[str]:
        return [self.destinations] if isinstance(self.destinations, str) else list(self.destinations)

    def build_specs(self) -> list[KanikoBuild]:
        platform = self._platform
        # A platform's build is not the image: it goes under staging tags, the index under the final ones.
        destinations = staging_destinations(self.final_destinations(), platform) if platform else self.destinations
        spec = KanikoBuild(
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
        if self.context_digest is not None and not spec.is_local_context:
            # The context URL is not named: a git URL may carry a token.
            raise KanikoSpecError(
                "context_digest", self.context_digest, "needs a local context; a URL context is not packed here"
            )
        if self.base_pins and not spec.is_local_context:
            raise KanikoSpecError("base_pins", self.base_pins, "needs a local context; a URL context is not packed here")
        return [spec]

    def _pack(self, spec: KanikoBuild) -> ContextArchive:
        archive = super()._pack(spec)
        if self.context_digest is not None and archive.tar_digest != self.context_digest:
            # Built, it would go under the fingerprint tag of another context, and be skipped as that one.
            raise KanikoContextChanged(self.describe_builds(), str(spec.context), self.context_digest, archive.tar_digest)
        if self.base_pins:
            archive = archive.replace(spec.dockerfile, lambda text: self._pinned(text, spec))
            shown = ", ".join(p["pinned"] for p in self.base_pins)
            self.log.info("Base images pinned by digest in the packed %s: %s", spec.dockerfile, shown)
        return archive

    def _pinned(self, text: bytes, spec: KanikoBuild) -> bytes:
        from airflow_kaniko.maintenance.dockerfile import DockerfileError, pin_images

        try:
            pinned = pin_images(text.decode(), self.base_pins, spec.build_args, target=spec.target, path=spec.dockerfile)
        except (DockerfileError, UnicodeDecodeError) as err:
            raise KanikoSpecError("base_pins", self.base_pins, f"cannot be applied to the packed Dockerfile: {err}") from None
        return pinned.encode()

    def execute(self, context: Context) -> Any:
        try:
            return super().execute(context)
        except KanikoContextChanged as failed:
            self._push(context, self.failed_result(failed, None))  # the report names both digests
            raise

    def container_argv(self, specs: list[KanikoBuild]) -> tuple[list[str], list[str]]:
        # The image's entrypoint is the executor; there is no shell to go through.
        return [], self.push_mode.executor_args(specs[0])

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
        return super().build_pod_request_obj(context, dry_run=dry_run)

    def shape_pod(self, pod: k8s.V1Pod) -> None:
        cas = [pod_spec.registry_ca_volume(ca, i)[0] for i, ca in enumerate(self._registry_cas())]
        registry = self.registry_credentials(pod)
        self.push_mode.shape_pod(pod, self.specs()[0], watched=self.base_container_name, registry=registry, registry_cas=cas)

    def read_result(self, pod: k8s.V1Pod, message: str | None) -> Returned:
        spec = self.specs()[0]
        digest = self.push_mode.digest(spec, pod, self.base_container_name, message)
        platform = str(self._platform) if self._platform else None
        return BuildResult(digest, tuple(spec.images(digest)), platform, self._final_if_platform())

    def _final_if_platform(self) -> tuple[str, ...]:
        # Which image a staging push belongs to: the merge step and the planner match on these.
        return tuple(self.final_destinations()) if self._platform else ()

    def rendered_result(self, pod: k8s.V1Pod) -> Returned:
        if self._platform:  # the image's final destinations, not the staging tags the pod would push
            return RenderedBuild(pod.metadata.name, self._final_if_platform(), str(self._platform))
        return super().rendered_result(pod)

    def failed_result(self, failed: KanikoBuildFailed, remote_pod: k8s.V1Pod | None) -> Returned | None:
        if not self._platform:
            return super().failed_result(failed, remote_pod)
        return FailedBuild(failed.failure, self._final_if_platform(), str(self._platform))

    # --- push modes: what the executor mounts, what it pulls with, which containers can fail -------

    def executor_credentials(self, pod: k8s.V1Pod) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        return self.push_mode.executor_credentials(self.registry_credentials(pod), self.secret_name(pod))

    def _load_credentials(self) -> dict[str, bytes]:
        data = super()._load_credentials()
        pull_conn_id = self.push_mode.pull_conn_id  # only an isolated push pulls with its own connection
        if pull_conn_id:
            conn = _connection(pull_conn_id, "pull_conn_id", conn_type="docker", need_host=True)
            config = render_docker_config(conn.host, conn.login, conn.password)
            self._register_secrets(*secret_forms(conn.login, conn.password, config))
            data[PULL_CONFIG_KEY] = config
            self.log.info(
                "Pull credentials for %s come from connection %r; the executor never sees the push credentials",
                conn.host,
                pull_conn_id,
            )
        return data

    def cleanup(self, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, xcom_result: dict | None = None, context: Any = None) -> None:
        executor = self.push_mode.executor_init_container
        if executor and remote_pod is not None:
            if terminated_state(remote_pod, executor, init=True) is None:
                # When the pushers never ran (the executor failed), KPO fails reading their log and hands
                # over the pod as first read, before the executor had finished.
                remote_pod = self.read_pod_quietly(pod) or remote_pod
            self._log_init_executor(remote_pod, executor)
        super().cleanup(pod, remote_pod, xcom_result, context)

    def _log_init_executor(self, remote_pod: k8s.V1Pod, executor: str) -> None:
        # The build ran in an init container, whose log KubernetesPodOperator does not stream in every mode.
        if terminated_state(remote_pod, executor, init=True) is None:
            return
        self.log.info("Log of the executor (init container %s):", executor)
        try:
            self.pod_manager.fetch_container_logs(pod=remote_pod, container_name=executor, follow=False)
        except ApiException as err:
            self.log.warning("Could not read the executor's log: %s", err.reason)

    def failure_message(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> tuple[str, BuildFailure]:
        mode_failure = self.push_mode.failure(self.describe_builds(), pod, remote_pod, self.specs()[0], self.base_container_name)
        return mode_failure or super().failure_message(pod, remote_pod)
