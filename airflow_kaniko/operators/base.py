"""What every Kaniko pod shares: hardened defaults, credentials, per-build objects, results."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pendulum
import tenacity
import yaml
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from airflow.providers.cncf.kubernetes.kubernetes_helper_functions import (
    API_RETRIES,
    TRANSIENT_CONNECTION_ERRORS,
    TRANSIENT_STATUS_CODES,
    WaitRetryAfterOrExponential,
)
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.container import get_container_termination_message
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY, AirflowException, AirflowFailException, AirflowSkipException
from airflow.sdk.log import mask_secret
from airflow.utils.helpers import prune_dict
from airflow_kaniko.assets.convention import check_fingerprint, check_reason
from airflow_kaniko.errors import KanikoError, KanikoSpecError
from airflow_kaniko.kaniko.context_archive import MAX_ARCHIVE_BYTES, ContextArchive, pack_context
from airflow_kaniko.kaniko.docker_config import render_docker_config, secret_forms
from airflow_kaniko.kaniko.local_paths import confine
from airflow_kaniko.kaniko.redaction import Redactor
from airflow_kaniko.kaniko.spec import KanikoBuild, RegistryCertificate
from airflow_kaniko.kaniko.termination import BuildFailure, classify_failure
from airflow_kaniko.links.image import KanikoImageLink
from airflow_kaniko.openlineage.lineage import ImageLineageMixin
from airflow_kaniko.utils import pod_spec

if TYPE_CHECKING:
    from airflow.sdk import Context

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", "", "none"}


class KanikoBuildFailed(AirflowException):
    """The build failed; the message carries Kaniko's own error lines, or why the executor never ran.

    :param failure: the classified failure (kind, whether a retry can help, detail).
    """

    def __init__(self, message: str, failure: BuildFailure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


class KanikoDockerfileFailed(KanikoBuildFailed, AirflowFailException):
    """A Dockerfile step failed: the same inputs fail the same way, so the task fails without retry."""


class _RedactingPodManager(PodManager):
    """PodManager whose streamed container output is redacted before it is logged or printed."""

    def __init__(self, *args: Any, redact: Callable[[str], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redact = redact

    # KPO internal: every streamed log line, including the ``::group::`` markers it prints, passes here.
    def _log_message(self, message: str, *args: Any, **kwargs: Any) -> None:
        super()._log_message(self._redact(message), *args, **kwargs)


class KanikoPodOperatorBase(ImageLineageMixin, KubernetesPodOperator):
    """
    Shared glue between Kaniko build specs and a KubernetesPodOperator pod.

    Subclasses say which builds run (:meth:`build_specs`), how the container runs them
    (:meth:`container_argv`) and how to read the result (:meth:`read_result`). This class
    adds the credentials, the packed contexts and the CA bundles, and hardens the parent's defaults.

    :param registry_conn_id: Airflow Connection (conn type ``docker``: host, login, password) whose
        credentials go into a per-build Secret owned by the pod. (templated)
    :param registry_secret: an existing ``kubernetes.io/dockerconfigjson`` Secret to mount instead. (templated)
    :param git_conn_id: Airflow Connection with login and password for a private ``git://`` context. (templated)
    :param git_secret: an existing Secret with ``username`` and ``password`` keys, instead of ``git_conn_id``. (templated)
    :param executor_image: the Kaniko executor image; pin it by digest with ``<image>@sha256:…``. (templated)
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
        (``--registry-mirror``). Not templated: where pulls go is the DAG author's choice.
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
        executor_image: str = pod_spec.DEFAULT_EXECUTOR_IMAGE,
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
        **kwargs: Any,
    ) -> None:
        if kwargs.get("logging_interval") is not None:
            # The triggerer would stream the build's output, where this operator cannot redact credentials.
            raise ValueError(
                f"{type(self).__name__} does not support logging_interval; the build log is read when the pod finishes"
            )
        for owned in ("image", "cmds", "arguments", "do_xcom_push"):
            if owned in kwargs:
                hint = {"image": "use executor_image", "do_xcom_push": "the result is always pushed as the return_value XCom"}
                raise ValueError(
                    f"{type(self).__name__} sets {owned!r} itself; {hint.get(owned, 'it is derived from the build spec')}"
                )
        super().__init__(
            image=executor_image,
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
        self.registry_conn_id = registry_conn_id
        self.registry_secret = registry_secret
        self.git_conn_id = git_conn_id
        self.git_secret = git_secret
        self.insecure_registries = insecure_registries or []
        self.registry_ca = registry_ca
        self.render_only = render_only
        self.base_images = base_images or []
        self.context_roots = [context_roots] if isinstance(context_roots, (str, os.PathLike)) else context_roots
        self.registry_mirrors = registry_mirrors or []
        self._archives: dict[str, ContextArchive] = {}
        self._result: Any = None
        self._emitted = False

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

    def read_result(self, message: str | None) -> Any:
        """The XCom value, from the finished container's termination message."""
        raise NotImplementedError

    def describe_builds(self) -> str:
        return ", ".join(s.name or s.destinations[0] for s in self.build_specs())

    # --- helpers for subclasses -----------------------------------------------------------

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

    def _registry_cas(self) -> list[pod_spec.RegistryCA]:
        return pod_spec.RegistryCA.parse_all(self.registry_ca)

    # --- the pod ---------------------------------------------------------------------------

    def build_pod_request_obj(self, context: Context | None = None, *, dry_run: bool = False) -> k8s.V1Pod:
        specs = self.build_specs()
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
        return pod

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
        return f"{pod.metadata.name}-credentials"

    @staticmethod
    def config_map_name(pod: k8s.V1Pod) -> str:
        return f"{pod.metadata.name}-context"

    def _attach_volumes(self, pod: k8s.V1Pod) -> None:
        container = next(c for c in pod.spec.containers if c.name == self.base_container_name)
        mounts = self.executor_credentials(pod)
        if self._archives:
            mounts.append(pod_spec.context_volume(self.config_map_name(pod), list(self._archives)))
        mounts += [ca.volume(i) for i, ca in enumerate(self._registry_cas())]
        mounts += self.extra_volumes()
        pod.spec.volumes = [*(pod.spec.volumes or []), *(v for v, _ in mounts)]
        container.volume_mounts = [*(container.volume_mounts or []), *(m for _, m in mounts)]
        if self.git_conn_id:
            container.env = [*(container.env or []), *pod_spec.git_env(self.secret_name(pod), "git-username", "git-password")]
        elif self.git_secret:
            container.env = [*(container.env or []), *pod_spec.git_env(self.git_secret, "username", "password")]

    def executor_credentials(self, pod: k8s.V1Pod) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        """The docker config.json the executor reads: the registry credentials, for pulls and pushes."""
        if self.registry_conn_id:
            return [pod_spec.docker_config_volume(self.secret_name(pod), "config.json")]
        if self.registry_secret:
            return [pod_spec.docker_config_volume(self.registry_secret, ".dockerconfigjson")]
        return []

    def extra_volumes(self) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        return []

    # --- credentials: read once per process, redacted everywhere this process logs ------------

    @cached_property
    def redactor(self) -> Redactor:
        return Redactor()

    @cached_property
    def pod_manager(self) -> PodManager:
        # KPO's PodManager streams the build's output; ours redacts the credentials from it first.
        return _RedactingPodManager(kube_client=self.client, callbacks=self.callbacks, redact=self.redactor.redact)

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
        # The pod comes first, so the Secret and ConfigMap are never unowned: if this worker dies at
        # any point, the garbage collector removes them with the pod. The kubelet waits for their volumes.
        secret_data = self._load_credentials()  # a bad connection fails before anything exists
        pod = super().get_or_create_pod(pod_request_obj, context)
        if terminated_state(pod, self.base_container_name) is not None:
            return pod  # an earlier try's finished pod, kept by KPO: it needs no objects
        try:
            self._provide_build_objects(pod, secret_data)
        except BaseException as err:
            self._abandon(pod, err)
            raise
        return pod

    def _provide_build_objects(self, pod: k8s.V1Pod, secret_data: dict[str, bytes]) -> None:
        """Create the pod's Secret and ConfigMap, owned by it; a reattached pod may already have them."""
        if not secret_data and not self._archives:
            return
        name, namespace = pod.metadata.name, pod.metadata.namespace
        uid = pod.metadata.uid or _api_call(self.client.read_namespaced_pod, name=name, namespace=namespace).metadata.uid
        owner = pod_spec.owner_reference(name, uid)
        labels = {"airflow-kaniko/pod": name}
        if secret_data:
            body = pod_spec.build_secret(self.secret_name(pod), namespace, secret_data, labels, owner)
            self._create("Secret", body, self.client.create_namespaced_secret)
        if self._archives:
            archives = {k: a.data for k, a in self._archives.items()}
            body = pod_spec.build_config_map(self.config_map_name(pod), namespace, archives, labels, owner)
            self._create("ConfigMap", body, self.client.create_namespaced_config_map)

    def _create(self, kind: str, body: Any, create: Callable[..., Any]) -> None:
        namespace, name = body.metadata.namespace, body.metadata.name
        try:
            _api_call(create, namespace=namespace, body=body)
        except ApiException as err:
            if err.status == 409:  # a reattached pod's, from the try that created the pod
                self.log.info("%s %s/%s already exists", kind, namespace, name)
                return
            raise KanikoBuildFailed(_api_error(f"create {kind} {namespace}/{name}", err)) from None
        self.log.info("Created %s %s/%s, owned by the build pod", kind, namespace, name)

    def _abandon(self, pod: k8s.V1Pod, err: BaseException) -> None:
        """The pod cannot run without its objects: delete it and whatever was created, leaving nothing."""
        self.log.error("Deleting build pod %s/%s, which cannot start: %s", pod.metadata.namespace, pod.metadata.name, err)
        try:
            _api_call(
                self.client.delete_namespaced_pod,
                name=pod.metadata.name,
                namespace=pod.metadata.namespace,
                grace_period_seconds=0,
            )
        except ApiException as delete_err:
            if delete_err.status != 404:
                self.log.error("Could not delete pod %s/%s: %s", pod.metadata.namespace, pod.metadata.name, delete_err.reason)
        self._delete_build_objects(pod)

    def _delete_build_objects(self, pod: k8s.V1Pod | None) -> None:
        """Delete the pod's Secret and ConfigMap by name; stateless, so any process can run it."""
        if pod is None or pod.metadata is None:
            return
        namespace = pod.metadata.namespace
        for kind, name, delete in (
            ("Secret", self.secret_name(pod), self.client.delete_namespaced_secret),
            ("ConfigMap", self.config_map_name(pod), self.client.delete_namespaced_config_map),
        ):
            try:
                _api_call(delete, name=name, namespace=namespace)
                self.log.info("Deleted %s %s/%s", kind, namespace, name)
            except ApiException as err:
                if err.status != 404:
                    # The ownerReference still lets the garbage collector remove it with the pod.
                    self.log.warning("Could not delete %s %s/%s: %s", kind, namespace, name, err.reason)

    # --- running and reporting --------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if as_bool("render_only", self.render_only):
            return self._push(context, self._render_pod(context))  # nothing pushed: no Asset event
        super().execute(context)  # in deferrable mode this raises TaskDeferred
        return self._succeed(context, self._result)

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        # A new process: it logs the build's output too, so it learns the secrets first.
        try:
            self._load_credentials()
        except (KanikoError, AirflowException) as err:
            self.log.warning("Cannot read the connections to redact the build log: %s", err)
        super().trigger_reentry(context, event)
        return self._succeed(context, self._result)

    # KPO's own retry policy for this method, which an override would otherwise drop.
    @tenacity.retry(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_exponential(max=15),
        retry=tenacity.retry_if_exception_type((HTTPError, ApiException)),
        reraise=True,
    )
    def _write_logs(self, pod: k8s.V1Pod, follow: bool = False, since_time: Any = None) -> None:
        # KPO internal: after a deferral it logs the output itself; send it through the redacting PodManager.
        if isinstance(since_time, str):
            since_time = pendulum.parse(since_time.replace("Z", "+00:00"))
        self.pod_manager.fetch_container_logs(pod, self.base_container_name, follow=follow, since_time=since_time)

    def _succeed(self, context: Context, result: Any) -> Any:
        """The build succeeded: its result as XCom, then one Asset event per pushed repository."""
        self._push(context, result)
        # KPO's execute can call trigger_reentry itself (a pod found finished): emit once per process.
        if not self._emitted:
            self._emitted = True
            self.emit_asset_events(context, result)
        return result

    def emit_asset_events(self, context: Context, result: Any) -> None:
        """Asset events for what ``result`` pushed, through the task's outlets (``airflow_kaniko.assets.events``).

        A result with a ``"platform"`` key is a per-platform staging push: the step that pushes the
        merged image emits its event instead.
        """
        if not self.outlets:
            return
        from airflow_kaniko.assets.events import emit_image_events
        from airflow_kaniko.openlineage.naming import pushed_images

        for build in result if isinstance(result, list) else [result]:
            if not isinstance(build, dict) or "platform" in build or not pushed_images(build):
                continue
            emit_image_events(
                context,
                self.outlets,
                pushed_images(build),
                fingerprint=self.fingerprint,
                reason=self.build_reason,
                redact=self.redactor.redact,
                log=self.log,
            )

    def _push(self, context: Context, result: Any) -> Any:
        # The parent ties do_xcom_push to its sidecar container, so the result is pushed here.
        if result is not None:
            context["ti"].xcom_push(key=XCOM_RETURN_KEY, value=result)
        return result

    def _render_pod(self, context: Context) -> dict[str, Any]:
        pod = self.build_pod_request_obj(context, dry_run=True)
        rendered = yaml.safe_dump(prune_dict(pod.to_dict(), mode="strict"))
        self.log.info("render_only: this pod would run (nothing was created):\n%s", rendered)
        return {
            "dry_run": True,
            "pod": pod.metadata.name,
            "destinations": [d for s in self.build_specs() for d in s.destinations],
        }

    def cleanup(
        self, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, xcom_result: dict | None = None, context: Context | None = None
    ) -> None:
        try:
            super().cleanup(pod, remote_pod, xcom_result, context)
        except AirflowSkipException:
            raise
        except AirflowException:
            failed = self.build_failed(pod, remote_pod)
            if context is not None:
                self.push_failure(context, failed, remote_pod)
            raise failed from None
        finally:
            # The build container has finished: its credentials go now, whatever happens to the pod.
            self._delete_build_objects(pod)
        if remote_pod is not None and not self._killed:
            message = get_container_termination_message(remote_pod, self.base_container_name)
            try:
                self._result = self.read_result(message)
            except KanikoError as err:
                raise KanikoBuildFailed(
                    f"The build of {self.describe_builds()} finished, but its result is unreadable: {err}"
                ) from None
            self.log.info("Result: %s", self._result)

    def build_failed(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> KanikoBuildFailed:
        """The exception for a failed pod: classified, redacted, and final when a retry cannot help."""
        message, failure = self.failure_message(pod, remote_pod)
        message = self.redactor.redact(message)
        failure = BuildFailure(failure.kind, failure.retryable, self.redactor.redact(failure.detail))
        cls = KanikoBuildFailed if failure.retryable else KanikoDockerfileFailed
        return cls(message, failure)

    def push_failure(self, context: Context, failed: KanikoBuildFailed, remote_pod: k8s.V1Pod | None) -> None:
        """What the report reads for a failed build; subclasses with their own failure result override it."""
        destinations = [d for s in self.build_specs() for d in s.destinations]
        failure = failed.failure.to_dict() if failed.failure else None
        context["ti"].xcom_push(key=XCOM_RETURN_KEY, value={"failed": True, "failure": failure, "destinations": destinations})

    def failure_message(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> tuple[str, BuildFailure]:
        """A short failure: which build, where, what kind, and Kaniko's own error lines, never the whole pod."""
        where = f"{pod.metadata.namespace}/{pod.metadata.name}" if pod is not None and pod.metadata else "its pod"
        state = terminated_state(remote_pod, self.base_container_name)
        if state is None and pod is not None:
            # KPO's remote_pod can predate the failure (a start timeout): read what the pod says now.
            remote_pod = self._read_pod_quietly(pod) or remote_pod
            state = terminated_state(remote_pod, self.base_container_name)
        pod_reason = getattr(getattr(remote_pod, "status", None), "reason", None)
        if state is None:
            detail = self._not_started_detail(remote_pod)
            kind = (
                "executor-image" if "image" in detail.lower() else ("deadline" if pod_reason == "DeadlineExceeded" else "unknown")
            )
            failure = BuildFailure(kind, True, detail)
            return (
                f"Kaniko build of {self.describe_builds()} failed in pod {where} before the executor finished: {detail}",
                failure,
            )
        failure = classify_failure(state.message, reason=state.reason, pod_reason=pod_reason)
        retry = "a retry can help" if failure.retryable else "not retried: the same inputs fail the same way"
        return (
            f"Kaniko build of {self.describe_builds()} failed in pod {where} (exit code {state.exit_code}, {state.reason}; "
            f"{failure.kind} failure, {retry}):\n{failure.detail}"
        ), failure

    def _read_pod_quietly(self, pod: k8s.V1Pod) -> k8s.V1Pod | None:
        try:
            return self.pod_manager.read_pod(pod)
        except ApiException:
            return None

    def _not_started_detail(self, remote_pod: k8s.V1Pod | None) -> str:
        status = getattr(remote_pod, "status", None)
        for container in getattr(status, "container_statuses", None) or []:
            waiting = container.state.waiting if container.state else None
            if container.name == self.base_container_name and waiting and waiting.reason:
                return (
                    f"container {container.name} is waiting: {waiting.reason}: {waiting.message or '-'} (image {container.image})"
                )
        return " ".join(filter(None, [getattr(status, "reason", None), getattr(status, "message", None)])) or "it never ran"

    def on_kill(self) -> None:
        super().on_kill()
        self._delete_build_objects(self.pod)


def terminated_state(pod: k8s.V1Pod | None, container: str, *, init: bool = False) -> k8s.V1ContainerStateTerminated | None:
    status = pod.status if pod is not None else None
    statuses = (getattr(status, "init_container_statuses" if init else "container_statuses", None) if status else None) or []
    status = next((s for s in statuses if s.name == container), None)
    return status.state.terminated if status and status.state else None


def _transient(err: BaseException) -> bool:
    # KPO's transient statuses, but 409: for these creates it means "already there", which is final.
    if isinstance(err, ApiException):
        return err.status in TRANSIENT_STATUS_CODES - {409}
    return isinstance(err, TRANSIENT_CONNECTION_ERRORS)


def _api_call(call: Callable[..., Any], **kwargs: Any) -> Any:
    """One Kubernetes API call under KPO's retry policy (its attempts, Retry-After on 429, backoff)."""
    retry = tenacity.retry(
        stop=tenacity.stop_after_attempt(API_RETRIES),
        wait=WaitRetryAfterOrExponential(),
        retry=tenacity.retry_if_exception(_transient),
        reraise=True,
    )
    return retry(call)(**kwargs)


def _api_error(action: str, err: ApiException) -> str:
    hint = " (the worker's Role needs this verb: see deploy/worker-rbac.yaml)" if err.status == 403 else ""
    return f"Could not {action}: {err.status} {err.reason}{hint}"


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
