"""What every Kaniko pod shares: hardened defaults, credentials, per-build objects, results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.container import get_container_termination_message
from airflow.providers.common.compat.sdk import XCOM_RETURN_KEY, AirflowException, AirflowSkipException
from airflow.sdk import Connection
from airflow.sdk.log import mask_secret
from airflow.utils.helpers import prune_dict
from airflow_kaniko import pod_objects
from airflow_kaniko.kaniko.context_archive import MAX_ARCHIVE_BYTES, ContextArchive, pack_context
from airflow_kaniko.kaniko.docker_config import basic_auth, render_docker_config
from airflow_kaniko.kaniko.errors import KanikoError, KanikoSpecError
from airflow_kaniko.kaniko.spec import KanikoBuild, RegistryCertificate
from airflow_kaniko.kaniko.termination import failure_summary

if TYPE_CHECKING:
    from airflow.sdk import Context

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", "", "none"}


class KanikoBuildFailed(AirflowException):
    """The executor ran and failed; the message carries Kaniko's own error lines."""


class KanikoPodOperatorBase(KubernetesPodOperator):
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
    :param insecure_registries: registries to reach over plain HTTP. (templated)
    :param registry_ca: CA bundle(s) for registries with a private CA:
        ``{"registry": "host:port", "config_map": "name"}`` (or ``"secret"``), optional ``"key"``
        (default ``ca.crt``), or a list of such. (templated)
    :param render_only: render and log the pod instead of running it; nothing is created. (templated)
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
        "insecure_registries",
        "registry_ca",
        "render_only",
    )
    template_fields_renderers = {**KubernetesPodOperator.template_fields_renderers, "arguments": "py"}
    BASE_CONTAINER_NAME = "kaniko"
    ui_color = "#f5c542"

    def __init__(
        self,
        *,
        registry_conn_id: str | None = None,
        registry_secret: str | None = None,
        git_conn_id: str | None = None,
        git_secret: str | None = None,
        executor_image: str = pod_objects.DEFAULT_EXECUTOR_IMAGE,
        insecure_registries: Sequence[str] | None = None,
        registry_ca: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
        render_only: bool | str = False,
        container_security_context: k8s.V1SecurityContext | dict | None = None,
        security_context: k8s.V1PodSecurityContext | dict | None = None,
        automount_service_account_token: bool = False,
        container_resources: k8s.V1ResourceRequirements | dict | None = None,
        active_deadline_seconds: int | None = pod_objects.DEFAULT_ACTIVE_DEADLINE_SECONDS,
        termination_message_policy: str = "FallbackToLogsOnError",
        startup_check_interval_seconds: int = 1,
        poll_interval: float = 1,
        log_pod_spec_on_failure: bool = False,
        **kwargs: Any,
    ) -> None:
        for owned in ("image", "cmds", "arguments", "do_xcom_push"):
            if owned in kwargs:
                hint = {"image": "use executor_image", "do_xcom_push": "the result is always pushed as the return_value XCom"}
                raise ValueError(f"{type(self).__name__} sets {owned!r} itself; {hint.get(owned, 'it is derived from the build spec')}")
        super().__init__(
            image=executor_image,
            do_xcom_push=False,  # the parent's switch for its XCom sidecar; the result is pushed by _push
            container_security_context=container_security_context or pod_objects.container_security_context(),
            security_context=security_context or pod_objects.pod_security_context(),
            automount_service_account_token=automount_service_account_token,
            container_resources=pod_objects.as_resources(container_resources) or pod_objects.default_resources(),
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
        self._archives: dict[str, ContextArchive] = {}
        self._owned_objects: list[tuple[str, str, str]] = []  # (kind, namespace, name)
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

    def read_result(self, message: str | None) -> Any:
        """The XCom value, from the finished container's termination message."""
        raise NotImplementedError

    def describe_builds(self) -> str:
        return ", ".join(s.name or s.destinations[0] for s in self.build_specs())

    # --- helpers for subclasses -----------------------------------------------------------

    def resolve_context(self, context: object) -> object:
        """A relative local directory is relative to the DAG file, as template paths are."""
        fileloc = getattr(getattr(self, "dag", None), "fileloc", None) if self.has_dag() else None
        if isinstance(context, str) and "://" not in context and not context.startswith("/") and fileloc:
            return str(Path(fileloc).parent / context)
        return context

    def registry_certificates(self) -> list[RegistryCertificate]:
        return [ca.certificate(i) for i, ca in enumerate(self._registry_cas())]

    def _registry_cas(self) -> list[pod_objects.RegistryCA]:
        return pod_objects.RegistryCA.parse_all(self.registry_ca)

    # --- the pod ---------------------------------------------------------------------------

    def build_pod_request_obj(self, context: Context | None = None, *, dry_run: bool = False) -> k8s.V1Pod:
        specs = self.build_specs()
        self._check_credentials_options()
        self._archives = {self.archive_key(i): self._pack(s) for i, s in enumerate(specs) if s.is_local_context}
        total = sum(len(a.data) for a in self._archives.values())
        if total > MAX_ARCHIVE_BYTES:
            raise KanikoSpecError(
                "context", f"{len(self._archives)} local contexts", f"pack to {total} bytes together, over the {MAX_ARCHIVE_BYTES} bytes a ConfigMap carries"
            )
        self.cmds, self.arguments = self.container_argv(specs)
        self.labels = {**self.labels, **pod_objects.MANAGED_BY}
        pod = super().build_pod_request_obj(context, dry_run=dry_run)
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
            pod_objects.check_object_name("registry_secret", self.registry_secret)
        if self.git_secret:
            pod_objects.check_object_name("git_secret", self.git_secret)

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
            mounts.append(pod_objects.context_volume(self.config_map_name(pod), list(self._archives)))
        mounts += [ca.volume(i) for i, ca in enumerate(self._registry_cas())]
        mounts += self.extra_volumes()
        pod.spec.volumes = [*(pod.spec.volumes or []), *(v for v, _ in mounts)]
        container.volume_mounts = [*(container.volume_mounts or []), *(m for _, m in mounts)]
        if self.git_conn_id:
            container.env = [*(container.env or []), *pod_objects.git_env(self.secret_name(pod), "git-username", "git-password")]
        elif self.git_secret:
            container.env = [*(container.env or []), *pod_objects.git_env(self.git_secret, "username", "password")]

    def executor_credentials(self, pod: k8s.V1Pod) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        """The docker config.json the executor reads: the registry credentials, for pulls and pushes."""
        if self.registry_conn_id:
            return [pod_objects.docker_config_volume(self.secret_name(pod), "config.json")]
        if self.registry_secret:
            return [pod_objects.docker_config_volume(self.registry_secret, ".dockerconfigjson")]
        return []

    def extra_volumes(self) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        return []

    # --- per-build objects: created just before the pod, then owned by it -----------------

    def get_or_create_pod(self, pod_request_obj: k8s.V1Pod, context: Context) -> k8s.V1Pod:
        secret_data = self._secret_data()  # reads connections, so a bad one fails before anything exists
        namespace = pod_request_obj.metadata.namespace
        labels = {"airflow-kaniko/pod": pod_request_obj.metadata.name}
        try:
            if secret_data:
                body = pod_objects.build_secret(self.secret_name(pod_request_obj), namespace, secret_data, labels)
                self._create("Secret", namespace, body, self.client.create_namespaced_secret)
            if self._archives:
                archives = {k: a.data for k, a in self._archives.items()}
                body = pod_objects.build_config_map(self.config_map_name(pod_request_obj), namespace, archives, labels)
                self._create("ConfigMap", namespace, body, self.client.create_namespaced_config_map)
            pod = super().get_or_create_pod(pod_request_obj, context)
            if pod is pod_request_obj:
                self._adopt(pod)
        except BaseException:
            self._delete_owned_objects()
            raise
        if pod is not pod_request_obj:
            # Reattached to a pod of an earlier try; that pod owns its own objects.
            self._delete_owned_objects()
        return pod

    def _secret_data(self) -> dict[str, bytes]:
        data: dict[str, bytes] = {}
        if self.registry_conn_id:
            conn = _connection(self.registry_conn_id, "registry_conn_id", conn_type="docker", need_host=True)
            config = render_docker_config(conn.host, conn.login, conn.password)
            for secret in (conn.password, basic_auth(conn.login, conn.password), config.decode()):
                mask_secret(secret)
            data["config.json"] = config
            self.log.info("Registry credentials for %s come from connection %r", conn.host, self.registry_conn_id)
        if self.git_conn_id:
            conn = _connection(self.git_conn_id, "git_conn_id")
            mask_secret(conn.password)
            data["git-username"] = conn.login.encode()
            data["git-password"] = conn.password.encode()
        return data

    def _create(self, kind: str, namespace: str, body: Any, create: Any) -> None:
        create(namespace=namespace, body=body)
        self._owned_objects.append((kind, namespace, body.metadata.name))
        self.log.info("Created %s %s/%s for this build", kind, namespace, body.metadata.name)

    def _adopt(self, pod_request: k8s.V1Pod) -> None:
        if not self._owned_objects:
            return
        pod = self.client.read_namespaced_pod(name=pod_request.metadata.name, namespace=pod_request.metadata.namespace)
        owner = self.client.api_client.sanitize_for_serialization(pod_objects.owner_reference(pod))
        for kind, namespace, name in self._owned_objects:
            patch = self.client.patch_namespaced_secret if kind == "Secret" else self.client.patch_namespaced_config_map
            patch(name=name, namespace=namespace, body={"metadata": {"ownerReferences": [owner]}})

    def _delete_owned_objects(self) -> None:
        while self._owned_objects:
            kind, namespace, name = self._owned_objects.pop()
            delete = self.client.delete_namespaced_secret if kind == "Secret" else self.client.delete_namespaced_config_map
            try:
                delete(name=name, namespace=namespace)
                self.log.info("Deleted %s %s/%s", kind, namespace, name)
            except ApiException as err:
                if err.status != 404:
                    # The ownerReference still lets the garbage collector remove it with the pod.
                    self.log.warning("Could not delete %s %s/%s: %s", kind, namespace, name, err.reason)

    # --- running and reporting --------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        if as_bool("render_only", self.render_only):
            return self._push(context, self._render_pod(context))
        super().execute(context)  # in deferrable mode this raises TaskDeferred
        return self._push(context, self._result)

    def trigger_reentry(self, context: Context, event: dict[str, Any]) -> Any:
        super().trigger_reentry(context, event)
        return self._push(context, self._result)

    def _push(self, context: Context, result: Any) -> Any:
        # The parent ties do_xcom_push to its sidecar container, so the result is pushed here.
        if result is not None:
            context["ti"].xcom_push(key=XCOM_RETURN_KEY, value=result)
        return result

    def _render_pod(self, context: Context) -> dict[str, Any]:
        pod = self.build_pod_request_obj(context, dry_run=True)
        rendered = yaml.safe_dump(prune_dict(pod.to_dict(), mode="strict"))
        self.log.info("render_only: this pod would run (nothing was created):\n%s", rendered)
        return {"dry_run": True, "pod": pod.metadata.name, "destinations": [d for s in self.build_specs() for d in s.destinations]}

    def cleanup(self, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, xcom_result: dict | None = None, context: Context | None = None) -> None:
        try:
            super().cleanup(pod, remote_pod, xcom_result, context)
        except AirflowSkipException:
            raise
        except AirflowException:
            raise KanikoBuildFailed(self.failure_message(pod, remote_pod)) from None
        finally:
            self._delete_owned_objects()
        if remote_pod is not None and not self._killed:
            message = get_container_termination_message(remote_pod, self.base_container_name)
            try:
                self._result = self.read_result(message)
            except KanikoError as err:
                raise KanikoBuildFailed(f"The build of {self.describe_builds()} finished, but its result is unreadable: {err}") from None
            self.log.info("Result: %s", self._result)

    def failure_message(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> str:
        """A short failure: which build, where, and Kaniko's own error lines, never the whole pod."""
        where = f"{pod.metadata.namespace}/{pod.metadata.name}" if pod is not None and pod.metadata else "its pod"
        state = terminated_state(remote_pod, self.base_container_name)
        if state is None:
            status = getattr(remote_pod, "status", None)
            detail = " ".join(filter(None, [getattr(status, "reason", None), getattr(status, "message", None)])) or "it never ran"
            return f"Kaniko build of {self.describe_builds()} failed in pod {where} before the executor finished: {detail}"
        return (
            f"Kaniko build of {self.describe_builds()} failed in pod {where} (exit code {state.exit_code}, {state.reason}):\n"
            f"{failure_summary(state.message)}"
        )

    def on_kill(self) -> None:
        super().on_kill()
        self._delete_owned_objects()


def terminated_state(pod: k8s.V1Pod | None, container: str, *, init: bool = False) -> k8s.V1ContainerStateTerminated | None:
    status = pod.status if pod is not None else None
    statuses = (getattr(status, "init_container_statuses" if init else "container_statuses", None) if status else None) or []
    status = next((s for s in statuses if s.name == container), None)
    return status.state.terminated if status and status.state else None


def _connection(conn_id: str, field: str, *, conn_type: str | None = None, need_host: bool = False) -> Connection:
    conn = Connection.get(conn_id)
    if conn_type and conn.conn_type != conn_type:
        raise KanikoSpecError(field, conn_id, f"has conn type {conn.conn_type!r}; it must be {conn_type!r}")
    missing = [name for name, value in (("host", conn.host if need_host else "-"), ("login", conn.login), ("password", conn.password)) if not value]
    if missing:
        raise KanikoSpecError(field, conn_id, f"has no {' or '.join(missing)}")
    return conn


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
