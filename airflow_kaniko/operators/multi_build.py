"""KanikoMultiBuildOperator: several images, one after another, in one debug-image pod."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes.client import models as k8s

from airflow.providers.cncf.kubernetes.utils.container import get_container_termination_message
from airflow_kaniko import config
from airflow_kaniko.errors import KanikoError, KanikoSpecError
from airflow_kaniko.kaniko import multi_build_script
from airflow_kaniko.kaniko.spec import KanikoBuild
from airflow_kaniko.operators.base import KanikoBuildFailed, KanikoPodOperatorBase, Returned, as_bool
from airflow_kaniko.results import BuildFailure
from airflow_kaniko.utils.pod_status import pod_location

_BUILD_KEYS = frozenset(
    {
        "name",
        "context",
        "destinations",
        "dockerfile",
        "build_args",
        "target",
        "labels",
        "cache",
        "cache_repo",
        "cache_ttl",
        "extra_args",
    }
)


class KanikoMultiBuildOperator(KanikoPodOperatorBase):
    """
    Build several images sequentially in one pod, running the executor once per build with ``--cleanup``.

    Prefer :class:`~airflow_kaniko.operators.kaniko.KanikoBuildOperator`, one pod per image. This
    mode trades isolation for fewer pods: the builds share a filesystem, credentials and a failure
    domain. It needs the ``-debug`` executor image, whose busybox shell runs a fixed script; every
    build value reaches the executor as its own argument, never as shell code.

    The return value is a list, in the given order, of ``{"name", "status", "digest", "images"}``
    with status ``succeeded``, ``failed`` or ``skipped``. On failure the task fails, and the list
    is still pushed as the ``return_value`` XCom, so it says exactly which builds succeeded.

    :param builds: one mapping per image, with the keys ``name`` (required, unique), ``context``,
        ``destinations``, ``dockerfile``, ``build_args``, ``target``, ``labels``, ``cache``,
        ``cache_repo``, ``cache_ttl`` and ``extra_args``, as for a single build. (templated)
    :param keep_going: run the remaining builds after one fails, instead of stopping. (templated)
    :param executor_image: defaults to ``[kaniko] debug_executor_image``, the ``-debug`` image, the only one
        with a shell. (templated)
    """

    template_fields: Sequence[str] = (*KanikoPodOperatorBase.template_fields, "builds", "keep_going")
    template_fields_renderers = {**KanikoPodOperatorBase.template_fields_renderers, "builds": "json"}

    def __init__(
        self,
        *,
        builds: Sequence[Mapping[str, Any]],
        keep_going: bool | str = False,
        executor_image: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(executor_image=executor_image if executor_image is not None else config.debug_executor_image(), **kwargs)
        self.builds = builds
        self.keep_going = keep_going

    def build_specs(self) -> list[KanikoBuild]:
        if isinstance(self.builds, (str, Mapping)) or not isinstance(self.builds, Sequence):
            raise KanikoSpecError("builds", self.builds, "must be a list of build mappings")
        specs = [self._spec(index, build) for index, build in enumerate(self.builds)]
        multi_build_script.check_builds(specs)
        return specs

    def _spec(self, index: int, build: object) -> KanikoBuild:
        if not isinstance(build, Mapping):
            raise KanikoSpecError(f"builds[{index}]", build, "must be a mapping")
        unknown = sorted(set(build) - _BUILD_KEYS)
        if unknown:
            raise KanikoSpecError(f"builds[{index}]", unknown[0], f"is not a build key; use {', '.join(sorted(_BUILD_KEYS))}")
        fields = dict(build)
        try:
            fields["context"] = self.resolve_context(fields.get("context"))
            fields["cache"] = as_bool("cache", fields.get("cache", False))
            return KanikoBuild(
                **fields,
                insecure_registries=self.insecure_registries,
                registry_certificates=self.registry_certificates(),
                registry_mirrors=self.registry_mirrors,
            )
        except KanikoSpecError as err:
            raise KanikoSpecError(f"builds[{index}].{err.field}", err.value, err.reason) from None
        except TypeError as err:  # a required key is missing
            raise KanikoSpecError(f"builds[{index}]", dict(build), f"is incomplete: {err}") from None

    def container_argv(self, specs: list[KanikoBuild]) -> tuple[list[str], list[str]]:
        argv = multi_build_script.command(specs, keep_going=as_bool("keep_going", self.keep_going))
        return argv[:3], argv[3:]

    def archive_key(self, index: int) -> str:
        return multi_build_script.archive_path(index).rsplit("/", 1)[1]

    def extra_volumes(self) -> list[tuple[k8s.V1Volume, k8s.V1VolumeMount]]:
        volume = k8s.V1Volume(name="results", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="1Mi"))
        return [(volume, k8s.V1VolumeMount(name="results", mount_path=multi_build_script.RESULTS_DIR))]

    def read_result(self, pod: k8s.V1Pod, message: str | None) -> Returned:
        outcomes = multi_build_script.parse_results(message, self.specs())
        for outcome in outcomes:
            self.log.info("%s: %s %s", outcome.name, outcome.status, outcome.digest or "")
        not_built = [o.name for o in outcomes if o.status != multi_build_script.SUCCEEDED]
        if not_built:
            raise KanikoError(f"the pod succeeded but {', '.join(not_built)} were not built")
        return [o.to_dict() for o in outcomes]

    def _outcomes(self, remote_pod: k8s.V1Pod | None) -> list[multi_build_script.BuildOutcome] | None:
        message = get_container_termination_message(remote_pod, self.base_container_name) if remote_pod else None
        try:
            return multi_build_script.parse_results(message, self.specs()) if message else None
        except KanikoError:
            return None  # the container died before writing results: the message is its log tail

    def failed_result(self, failed: KanikoBuildFailed, remote_pod: k8s.V1Pod | None) -> Returned | None:
        # The per-build outcomes say exactly which builds succeeded.
        outcomes = self._outcomes(remote_pod)
        return [o.to_dict() for o in outcomes] if outcomes else None

    def failure_message(self, pod: k8s.V1Pod | None, remote_pod: k8s.V1Pod | None) -> tuple[str, BuildFailure]:
        outcomes = self._outcomes(remote_pod)
        if not outcomes:
            return super().failure_message(pod, remote_pod)
        where = pod_location(pod)
        lines = [
            f"Multi-build in pod {where}: {sum(o.status == multi_build_script.FAILED for o in outcomes)} of {len(outcomes)} "
            f"builds failed"
        ]
        for o in outcomes:
            detail = (
                o.digest
                if o.status == multi_build_script.SUCCEEDED
                else (f"exit code {o.exit_code}" if o.status == multi_build_script.FAILED else "not run")
            )
            lines.append(f"  {o.name}: {o.status} ({detail})")
        lines.append("Kaniko's output for each build is in the task log above.")
        # Which build failed, and why, is only in the log: a retry stays possible.
        return "\n".join(lines), BuildFailure("unknown", True, lines[0])
