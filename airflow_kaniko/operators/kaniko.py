"""KanikoBuildOperator: one image, one isolated, non-privileged Kaniko pod."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow_kaniko.kaniko import termination
from airflow_kaniko.kaniko.spec import LOCAL_CONTEXT_ARCHIVE, KanikoBuild
from airflow_kaniko.operators.base import KanikoBuildFailed, KanikoPodOperatorBase, as_bool

__all__ = ["KanikoBuildFailed", "KanikoBuildOperator"]


class KanikoBuildOperator(KanikoPodOperatorBase):
    """
    Build one image with Kaniko in a fresh, non-privileged pod and push it to its destinations.

    A :class:`~airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator`: all of its
    parameters keep working (namespace, node_selector, tolerations, affinity, deferrable, ...).
    See :class:`~airflow_kaniko.operators.base.KanikoPodOperatorBase` for the credential, CA and
    hardened-default parameters. The return value (XCom ``return_value``) is
    ``{"digest": "sha256:…", "images": ["<destination>@sha256:…", …]}``, tags kept.

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
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

    def build_specs(self) -> list[KanikoBuild]:
        return [
            KanikoBuild(
                context=self.resolve_context(self.context),
                destinations=self.destinations,
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
            )
        ]

    def container_argv(self, specs: list[KanikoBuild]) -> tuple[list[str], list[str]]:
        # The image's entrypoint is the executor; there is no shell to go through.
        return [], specs[0].args()

    def archive_key(self, index: int) -> str:
        return LOCAL_CONTEXT_ARCHIVE.rsplit("/", 1)[1]

    def build_pod_request_obj(self, context=None, *, dry_run: bool = False):
        if self.image_name:
            self.labels = {**self.labels, "airflow-kaniko/image": self.image_name}
            # kubectl shows which image a pod builds; KubernetesPodOperator adds a random suffix.
            self.name = self.name or f"kaniko-{self.image_name.replace('_', '-')}"
        return super().build_pod_request_obj(context, dry_run=dry_run)

    def read_result(self, message: str | None) -> dict[str, Any]:
        digest = termination.parse_digest(message)
        return {"digest": digest, "images": self.build_specs()[0].images(digest)}
