"""The provider's ``[kaniko]`` configuration section: what a platform team sets once in ``airflow.cfg``.

``SECTION`` is what ``get_provider_info`` registers; the readers below are what the operators call when
an argument is absent (an argument always wins). Each reads Airflow's configuration when called, never
at import, so an option set through ``AIRFLOW__KANIKO__<OPTION>`` applies to the next task.
"""

from __future__ import annotations

DEFAULT_EXECUTOR_IMAGE = "ghcr.io/osscontainertools/kaniko:v1.28.3"
DEFAULT_DEBUG_EXECUTOR_IMAGE = "ghcr.io/osscontainertools/kaniko:v1.28.3-debug"
DEFAULT_PUSHER_IMAGE = "gcr.io/go-containerregistry/crane:v0.22.1"

NAME = "kaniko"


def _option(description: str, type_: str, default: str, example: str | None = None) -> dict[str, str | None]:
    return {"description": description, "version_added": "0.1.0", "type": type_, "example": example, "default": default}


#: The section as ``get_provider_info``'s ``config`` declares it (the schema of cncf-kubernetes' sections).
SECTION = {
    NAME: {
        "description": "Defaults of the Kaniko operators; an operator's own argument always takes precedence.\n",
        "options": {
            "executor_image": _option(
                "The Kaniko executor image of KanikoBuildOperator and of the maintenance DAG's planner (part of\n"
                "its fingerprint). Pin it by digest with ``<image>@sha256:...``.\n",
                "string",
                DEFAULT_EXECUTOR_IMAGE,
                "registry.example.com/mirror/kaniko@sha256:...",
            ),
            "debug_executor_image": _option(
                "The ``-debug`` executor image (it has the shell KanikoMultiBuildOperator runs its script in).\n",
                "string",
                DEFAULT_DEBUG_EXECUTOR_IMAGE,
                "registry.example.com/mirror/kaniko:v1.28.3-debug",
            ),
            "pusher_image": _option(
                "The crane image of the pushers when ``isolate_push_credentials`` is on.\n",
                "string",
                DEFAULT_PUSHER_IMAGE,
                "registry.example.com/mirror/crane:v0.22.1",
            ),
            "registry_mirrors": _option(
                "Pull-through mirrors for Docker Hub base images (``--registry-mirror``), registry hosts,\n"
                "comma-separated. Empty: none.\n",
                "string",
                "",
                "mirror.example.com,mirror-2.example.com:5000",
            ),
            "namespace": _option(
                "The namespace of build pods. Empty: KubernetesPodOperator's choice (the Kubernetes\n"
                "connection's namespace, else the worker's own when it runs in the cluster, else ``default``).\n",
                "string",
                "",
                "image-builds",
            ),
        },
    }
}


def _get(option: str) -> str:
    from airflow.sdk import conf  # here, not at import: the section is read when an operator needs it

    return conf.get(NAME, option, fallback="").strip()


def executor_image() -> str:
    return _get("executor_image") or DEFAULT_EXECUTOR_IMAGE


def debug_executor_image() -> str:
    return _get("debug_executor_image") or DEFAULT_DEBUG_EXECUTOR_IMAGE


def pusher_image() -> str:
    return _get("pusher_image") or DEFAULT_PUSHER_IMAGE


def registry_mirrors() -> list[str]:
    return [host.strip() for host in _get("registry_mirrors").split(",") if host.strip()]


def namespace() -> str | None:
    """The build pods' namespace; ``None`` leaves it to KubernetesPodOperator."""
    return _get("namespace") or None
