"""What every Kaniko pod shares: hardened defaults, credentials, per-build objects.

The operator is a list of named seams over KubernetesPodOperator; how a run ends is
``operators/outcome.py``, and the work behind the seams lives in ``airflow_kaniko.utils``: the pod
spec (``pod_spec``), the owned Secret and ConfigMap (``build_objects``), what a finished pod says
(``pod_status``), and how the image is pushed (``push_modes``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk.log import mask_secret
from airflow_kaniko import config
from airflow_kaniko.assets.convention import check_fingerprint, check_reason
from airflow_kaniko.compat.kpo import RedactedDeferredLogs
from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.context_archive import MAX_ARCHIVE_BYTES, ContextArchive, pack_context
from airflow_kaniko.kaniko.docker_config import render_docker_config, secret_forms
from airflow_kaniko.kaniko.local_paths import confine
from airflow_kaniko.kaniko.registry_ca import RegistryCA
from airflow_kaniko.kaniko.spec import KanikoBuild, RegistryCertificate
from airflow_kaniko.links.image import KanikoImageLink
from airflow_kaniko.openlineage.lineage import ImageLineageMixin
from airflow_kaniko.operators.outcome import KanikoBuildFailed, KanikoDockerfileFailed, KanikoPodOutcome, Returned
from airflow_kaniko.utils import build_objects, pod_spec, pod_status
from airflow_kaniko.utils.build_objects import BuildObjectsError

if TYPE_CHECKING:
    from airflow.sdk import Context

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", "", "none"}
__all__ = ["KanikoBuildFailed", "KanikoDockerfileFailed", "KanikoPodOperatorBase", "Returned", "as_bool"]


class KanikoPodOperatorBase(RedactedDeferredLogs, ImageLineageMixin, KanikoPodOutcome):
    """
    Shared glue between Kaniko build specs and a KubernetesPodOperator pod.

    Subclasses say which builds run (:meth:`build_specs`), how the container runs them
    (:meth:`container_argv`) and how to read the result (:meth:`read_result`). This class
    adds the credentials, the packed contexts and the CA bundles, and hardens the parent's defaults.

    :param registry_conn_id: Airflow Connection (conn type ``oci_registry``, or ``docker``: host, port, login,
        password) whose credentials go into a per-build Secret owned by the pod. (templated)
    :param registry_secret: an existing ``kubernetes.io/dockerconfigjson`` Secret to mount instead. (templated)
    :param git_conn_id: Airflow Connection with login and password for a private ``git://`` context. (templated)
    :param git_secret: an existing Secret with ``username`` and ``password`` keys, instead of ``git_conn_id``. (templated)
    :param executor_image: the Kaniko executor image; pin it by digest with ``<image>@sha256:…``. Default:
        ``[kaniko] executor_image``. (templated)
    :param insecure_registries: registries to reach over plain HTTP. Not templated: only the DAG author may turn TLS off.
    :param registry_ca: CA bundle(s) for registries with a private CA:
        ``{"registry": "host:port", "config_map": "name"}``, optional ``"key"`` (default ``ca.crt``), or a
        list of such. A ConfigMap, never a Secret: a ``RUN`` step can read what is mounted. (templated)
    :param render_only: render and log the pod instead of running it; nothing is created. (templated)
    :param base_images: the images the build starts from, best pinned by digest, reported to
        OpenLineage as the task's inputs. (templated)
    :param context_roots: directories a local context must resolve into (symlinks and ``..`` resolved);
        default: the folder of the DAG file. Not templated: only the DAG author sets it.
    :param registry_mirrors: pull-through mirrors for Docker Hub base images, registry hosts
        (``--registry-mirror``); default: ``[kaniko] registry_mirrors``. Not templated: where pulls go is the DAG
        author's (or the platform's) choice.
    :param container_security_context: default: uid 0, not privileged, no privilege escalation,
        all capabilities dropped but CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, RuntimeDefault seccomp.
    :param security_context: pod security context; default: RuntimeDefault seccomp.
    :param automount_service_account_token: default False: a build needs no Kubernetes API access.
    :param container_resources: default: requests 250m CPU and 512Mi memory, limit 2Gi memory.
        Also accepts ``{"requests": {...}, "limits": {...}}``.
    :param active_deadline_seconds: default 3600: a hung build cannot hold a node forever.
    :param termination_message_policy: default FallbackToLogsOnError, so a failure carries its log tail.
    :param startup_check_interval_seconds: default 1, so short builds are noticed promptly.
    :param poll_interval: default 1 (deferrable mode), for the same reason.
    :param progress_interval: deferrable mode: seconds between progress reports from the triggerer while
        the pod runs (default 30; None: none). The build log's new lines when this worker holds no
        credential to redact from them (no ``registry_conn_id``, ``git_conn_id`` or ``pull_conn_id``) and
        the executor is the watched container; else one status line: the pod's phase, the containers
        running, the seconds elapsed. The whole log, redacted, follows when the pod ends.
    :param log_pod_spec_on_failure: default False: a failure shows Kaniko's error, not the whole pod.
    """

    template_fields: Sequence[str] = (
        *KubernetesPodOperator.template_fields,
        "registry_conn_id",
        "registry_secret",
        "git_conn_id",
        "git_secret",
        "registry_ca",
        "render_only",
        "base_images",
    )
    template_fields_renderers = {**KubernetesPodOperator.template_fields_renderers, "arguments": "py"}
    BASE_CONTAINER_NAME = "kaniko"
    # What a build's Asset event says about why it ran; KanikoBuildOperator takes them as kwargs.
    fingerprint: str | None = None
    build_reason: Mapping[str, Any] | None = None
    ui_color = "#f5c542"
    operator_extra_links = (KanikoImageLink(),)

    def __init__(
        self,
        *,
        registry_conn_id: str | None = None,
        registry_secret: str | None = None,
        git_conn_id: str | None = None,
        git_secret: str | None = None,
        executor_image: str | None = None,
        insecure_registries: Sequence[str] | None = None,
        registry_ca: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
        render_only: bool | str = False,
        base_images: Sequence[str] | None = None,
        context_roots: Sequence[str | os.PathLike[str]] | None = None,
        registry_mirrors: Sequence[str] | None = None,
        container_security_context: k8s.V1SecurityContext | dict | None = None,
        security_context: k8s.V1PodSecurityContext | dict | None = None,
        automount_service_account_token: bool = False,
        container_resources: k8s.V1ResourceRequirements | dict | None = None,
        active_deadline_seconds: int | None = pod_spec.DEFAULT_ACTIVE_DEADLINE_SECONDS,
        termination_message_policy: str = "FallbackToLogsOnError",
        startup_check_interval_seconds: int = 1,
        poll_interval: float = 1,
        log_pod_spec_on_failure: bool = False,
        progress_interval: int | None = 30,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("logging_interval") is not None:
            # The triggerer would stream the build's output, where this operator cannot redact credentials.
            raise ValueError(
                f"{type(self).__name__} does not support logging_interval; progress_interval sets how often a "
                "deferred build reports progress (the build log only when there is nothing to redact from it)"
            )
        if progress_interval is not None and (isinstance(progress_interval, bool) or progress_interval < 1):
            raise KanikoSpecError("progress_interval", progress_interval, "must be a number of seconds, at least 1, or None")
        for owned in ("image", "cmds", "arguments", "do_xcom_push"):
            if owned in kwargs:
                hint = {"image": "use executor_image", "do_xcom_push": "the result is always pushed as the return_value XCom"}
                raise ValueError(
                    f"{type(self).__name__} sets {owned!r} itself; {hint.get(owned, 'it is derived from the build spec')}"
                )
        if kwargs.get("namespace") is None:  # [kaniko] namespace, if set; else KubernetesPodOperator resolves it
            kwargs["namespace"] = config.namespace()
        super().__init__(
            image=executor_image if executor_image is not None else config.executor_image(),
            do_xcom_push=False,  # the parent's switch for its XCom sidecar; the result is pushed by _push
            container_security_context=container_security_context or pod_spec.container_security_context(),
            security_context=security_context or pod_spec.pod_security_context(),
            automount_service_account_token=automount_service_account_token,
            container_resources=pod_spec.as_resources(container_resources) or pod_spec.default_resources(),
            active_deadline_seconds=active_deadline_seconds,
            termination_message_policy=termination_message_policy,
            startup_check_interval_seconds=startup_check_interval_seconds,
            poll_interval=poll_interval,
            log_pod_spec_on_failure=log_pod_spec_on_failure,
            **kwargs,
        )
        self.progress_interval = progress_interval
        self.registry_conn_id = registry_conn_id
        self.registry_secret = registry_secret
        self.git_conn_id = git_conn_id
        self.git_secret = git_secret
        self.insecure_registries = insecure_registries or []
        self.registry_ca = registry_ca
        self.render_only = render_only
        self.base_images = base_images or []
        self.context_roots = [context_roots] if isinstance(context_roots, (str, os.PathLike)) else context_roots
        self.registry_mirrors = registry_mirrors if registry_mirrors is not None else config.registry_mirrors()
        self._archives: dict[str, ContextArchive] = {}
        self._specs: list[KanikoBuild] | None = None
        self._result: Any = None

    # --- what subclasses define ---------------------------------------------------------------

    def build_specs(self) -> list[KanikoBuild]:
        """The validated builds this pod runs; raises KanikoSpecError naming the bad field."""
        raise NotImplementedError

    def container_argv(self, specs: list[KanikoBuild]) -> tuple[list[str], list[str]]:
        """The container's command and args."""
        raise NotImplementedError

    def archive_key(self, index: int) -> str:
        """The ConfigMap key of build ``index``'s packed local context."""
        raise NotImplementedError

    # --- helpers for subclasses -----------------------------------------------------------

    def specs(self) -> list[KanikoBuild]:
        """The build specs, computed once per execute (``build_pod_request_obj`` computes them afresh)."""
        if self._specs is None:
            self._specs = self.build_specs()
        return self._specs

    def resolve_context(self, context: object) -> object:
        """A local directory, relative to the DAG file's folder, resolved and confined to ``context_roots``."""
        if not isinstance(context, str) or "://" in context:
            return context  # the build spec validates URLs and types
        if not context.strip():
            raise KanikoSpecError("context", context, "must be a local directory or a URL, not empty")
        fileloc = getattr(getattr(self, "dag", None), "fileloc", None) if self.has_dag() else None
        dag_folder = Path(fileloc).parent if fileloc else None
        roots = self.context_roots if self.context_roots is not None else [dag_folder] if dag_folder else []
        return str(confine("context", context, roots, base=dag_folder))

    def registry_certificates(self) -> list[RegistryCertificate]:
        return [ca.certificate(i) for i, ca in enumerate(self._registry_cas())]

    def _registry_cas(self) -> list[RegistryCA]:
        return RegistryCA.parse_all(self.registry_ca)

    # --- the pod ---------------------------------------------------------------------------

    def build_pod_request_obj(self, context: Context | None = None, *, dry_run: bool = False) -> k8s.V1Pod:
        self._specs = None  # templates may have been rendered since: validate what runs
        specs = self.specs()
        self.lineage_base_images()  # a bad value fails here, before any pod
        check_fingerprint(self.fingerprint)
        check_reason(self.build_reason)
        self._check_credentials_options()
        self._archives = {self.archive_key(i): self._pack(s) for i, s in enumerate(specs) if s.is_local_context}
        total = sum(len(a.data) for a in self._archives.values())
        if total > MAX_ARCHIVE_BYTES:
            raise KanikoSpecError(
                "context",
                f"{len(self._archives)} local contexts",
                f"pack to {total} bytes together, over the {MAX_ARCHIVE_BYTES} bytes a ConfigMap carries",
            )
        self.cmds, self.arguments = self.container_argv(specs)
        self.labels = {**self.labels, **pod_spec.MANAGED_BY}
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
        pod_spec.check_executor_env(pod.spec.containers)
        self._attach_volumes(pod)
        self.shape_pod(pod)
        if self._mounts_build_objects(pod):
            build_objects.gate(pod)  # it schedules once its objects are proven its own
        return pod

    def shape_pod(self, pod: k8s.V1Pod) -> None:
        """Last changes to the pod, after its volumes: subclasses add containers here."""

    def _pack(self, spec: KanikoBuild) -> ContextArchive:
        archive = pack_context(spec.context, spec.dockerfile)
        self.log.info("Packed local context %s: %s", spec.context, archive.describe())
        return archive

    def _check_credentials_options(self) -> None:
        if self.registry_conn_id and self.registry_secret:
            raise KanikoSpecError("registry_secret", self.registry_secret, "cannot be combined with registry_conn_id; choose one")
        if self.git_conn_id and self.git_secret:
            raise KanikoSpecError("git_secret", self.git_secret, "cannot be combined with git_conn_id; choose one")
        if self.registry_secret:
            pod_spec.check_object_name("registry_secret", self.registry_secret)
        if self.git_secret:
            pod_spec.check_object_name("git_secret", self.git_secret)

    @staticmethod
    def secret_name(pod: k8s.V1Pod) -> str:
        return build_objects.secret_name(pod)

    @staticmethod
    def config_map_name(pod: k8s.V1Pod) -> str:
        return build_objects.config_map_name(pod)

    def _mounts_build_objects(self, pod: k8s.V1Pod) -> bool:
        volumes = pod.spec.volumes or []
        return any(getattr(v.secret, "secret_name", None) == self.secret_name(pod) for v in volumes) or any(
            getattr(v.config_map, "name", None) == self.config_map_name(pod) for v in volumes
        )

    def _attach_volumes(self, pod: k8s.V1Pod) -> None:
        container = next(c for c in pod.spec.containers if c.name == self.base_container_name)
        mounts = self.executor_credentials(pod)
        if self._archives:
            mounts.append(pod_spec.context_volume(self.config_map_name(pod), list(self._archives)))
        mounts += [pod_spec.registry_ca_volume(ca, i) for i, ca in enumerate(self._registry_cas())]
        mounts += self.extra_volumes()
        pod.spec.volumes = [*(pod.spec.volumes or []), *(v for v, _ in mounts)]
        container.volume_mounts = [*(container.volume_mounts or []), *(m for _, m in mounts)]
        if self.git_conn_id:
            container.env = [*(container.env or []), *pod_spec.git_env(self.secret_name(pod), "git-username", "git-password")]
        elif self.git_secret:
            container.env = [*(container.env or []), *pod_spec.git_env(self.git_secret, "username", "password")]

    def registry_credentials(self, pod: k8s.V1Pod) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        """The docker config.json of the registry credentials, for pulls and pushes."""
        if self.registry_conn_id:
            return [pod_spec.docker_config_volume(self.secret_name(pod), "config.json")]
        if self.registry_secret:
            return [pod_spec.docker_config_volume(self.registry_secret, ".dockerconfigjson")]
        return []

    def executor_credentials(self, pod: k8s.V1Pod) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        """The docker config.json the executor reads: the registry credentials."""
        return self.registry_credentials(pod)

    def extra_volumes(self) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        return []

    # --- credentials: read once per process, redacted everywhere this process logs ------------

    def _load_credentials(self) -> dict[str, bytes]:
        """The per-build Secret's data, from the connections; every secret form is redacted and masked."""
        data: dict[str, bytes] = {}
        if self.registry_conn_id:
            conn = _connection(self.registry_conn_id, "registry_conn_id", conn_type="docker", need_host=True)
            data["config.json"] = render_docker_config(conn.host, conn.login, conn.password)
            self._register_secrets(*secret_forms(conn.login, conn.password, data["config.json"]))
            self.log.info("Registry credentials for %s come from connection %r", conn.host, self.registry_conn_id)
        if self.git_conn_id:
            conn = _connection(self.git_conn_id, "git_conn_id")
            self._register_secrets(conn.password)
            data["git-username"] = conn.login.encode()
            data["git-password"] = conn.password.encode()
        return data

    def _register_secrets(self, *secrets: str) -> None:
        self.redactor.add(*secrets)
        for secret in secrets:
            mask_secret(secret)  # Airflow's masker too, for its own messages and the supervisor

    # --- per-build objects: created right after the pod, owned by it from birth -------------

    def get_or_create_pod(self, pod_request_obj: k8s.V1Pod, context: Context) -> k8s.V1Pod:
        # The pod comes first, gated, so the Secret and ConfigMap are never unowned and it cannot start
        # before they are proven its own (utils/build_objects.py).
        secret_data = self._load_credentials()  # a bad connection fails before anything exists
        pod = super().get_or_create_pod(pod_request_obj, context)
        if pod_status.terminated_state(pod, self.base_container_name) is not None:
            return pod  # an earlier try's finished pod, kept by KPO: it needs no objects
        try:
            self.build_objects.equip(pod, secret_data, {k: a.data for k, a in self._archives.items()})
        except BaseException as err:
            self.build_objects.abandon(pod, err)
            if isinstance(err, BuildObjectsError):
                raise KanikoBuildFailed(str(err)) from None
            raise
        return pod

    # --- running and reporting --------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if as_bool("render_only", self.render_only):
            return self._push(context, self._render_pod(context))  # nothing pushed: no Asset event
        return super().execute(context)  # execute_sync, or (deferrable) a deferral ending in trigger_reentry


class ConnectionLogin(NamedTuple):
    """What a build takes from a Connection, checked to be there (host is empty when not needed)."""

    host: str
    login: str
    password: str


def _connection(conn_id: str, field: str, *, conn_type: str | None = None, need_host: bool = False) -> ConnectionLogin:
    from airflow_kaniko.hooks import GitHook, RegistryHook  # the hooks read the connection; its type is theirs

    return ConnectionLogin(*(RegistryHook(conn_id, field) if need_host else GitHook(conn_id, field)).login())


def as_bool(field: str, value: object) -> bool:
    """Templated flags render to strings; accept those, refuse anything ambiguous."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise KanikoSpecError(field, value, "must be true or false")
