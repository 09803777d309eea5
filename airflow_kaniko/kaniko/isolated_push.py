"""A build whose executor never sees the push credentials: the argv of its executor and of its pushers.

Any ``RUN`` step can read what the executor container mounts (Kaniko #2153), so masking is only a net.
In this mode the executor builds with ``--no-push`` into an OCI layout on a volume it shares with the
pushers; each pusher is `crane <https://github.com/google/go-containerregistry/tree/main/cmd/crane>`_,
runs after the executor has exited, alone mounts the push credentials and pushes the layout to one
destination. Every pusher pushes the same bytes, so every destination gets the same digest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from airflow_kaniko.errors import KanikoSpecError, TerminationMessageError
from airflow_kaniko.kaniko.spec import TERMINATION_LOG, KanikoBuild
from airflow_kaniko.kaniko.termination import parse_digest
from airflow_kaniko.oci import reference

#: The volume both containers share; under /kaniko, which Kaniko never snapshots.
OUTPUT_DIR = "/kaniko/output"
OCI_LAYOUT = f"{OUTPUT_DIR}/image"
#: Where a pusher reads its docker config.json and its registry CA bundles.
PUSHER_DOCKER_CONFIG_DIR = "/home/nonroot/.docker"
PUSHER_REGISTRY_CA_DIR = "/registry-ca"
#: Flags that would undo the isolation or the layout the pushers read.
_EXECUTOR_FLAGS_REFUSED = ("--oci-layout-path", "--tar-path", "--no-push-cache", "--skip-push-permission-check")
_PUSHED_RE = re.compile(r"(?P<name>[^\s@]+)@(?P<digest>sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class IsolatedPush:
    """One build, split into an executor that cannot push and one pusher per destination.

    :param build: the validated build; its ``cache`` must be off, because Kaniko pushes cache
        layers itself and would need the push credentials.
    """

    build: KanikoBuild

    def __post_init__(self) -> None:
        if self.build.cache:
            raise KanikoSpecError(
                "cache",
                True,
                "cannot be used with isolate_push_credentials: Kaniko pushes cache layers itself, "
                "so the executor would need the push credentials",
            )
        for arg in self.build.extra_args:
            if arg.split("=", 1)[0] in _EXECUTOR_FLAGS_REFUSED:
                reason = "is set by isolate_push_credentials, which writes the image to an OCI layout for the pushers"
                raise KanikoSpecError("extra_args", arg, reason)

    def executor_args(self) -> list[str]:
        """The executor's argv: the build's own, never pushing, the image left in :data:`OCI_LAYOUT`.

        ``--digest-file`` still writes the built digest to the executor's termination message, for the record.
        """
        args = [a for a in self.build.args() if not a.startswith("--push-retry")]  # crane pushes, with its own retries
        return [*args, "--no-push", f"--oci-layout-path={OCI_LAYOUT}"]

    def pusher_args(self, destination: str) -> list[str]:
        """crane's argv (the image's entrypoint is crane) for one destination; writes ``<repository>@<digest>``."""
        if destination not in self.build.destinations:
            reason = f"is not one of this build's destinations {list(self.build.destinations)}"
            raise KanikoSpecError("destination", destination, reason)
        args = ["push", OCI_LAYOUT, destination, f"--image-refs={TERMINATION_LOG}"]
        if reference.registry_of(destination) in self.build.insecure_registries:
            args.append("--insecure")
        return args

    def pusher_env(self) -> dict[str, str]:
        """Where crane finds the credentials and, through Go's SSL_CERT_DIR, the registries' own CAs."""
        env = {"DOCKER_CONFIG": PUSHER_DOCKER_CONFIG_DIR}
        if self.build.registry_certificates:
            env["SSL_CERT_DIR"] = ":".join(pusher_ca_dir(i) for i in range(len(self.build.registry_certificates)))
        return env

    def pusher_names(self, watched: str) -> list[str]:
        """Container names in destination order: the first destination's pusher is the watched one."""
        return [watched, *(f"{watched}-{i}" for i in range(1, len(self.build.destinations)))]

    def pushed_digest(self, executor_message: str | None, pusher_messages: Sequence[str | None]) -> str:
        """The digest every destination got, which must be the one the executor built (its ``--digest-file``)."""
        built = parse_digest(executor_message)
        if len(pusher_messages) != len(self.build.destinations):
            reason = f"has {len(pusher_messages)} pushers' messages for {len(self.build.destinations)} destinations"
            raise TerminationMessageError(repr(list(pusher_messages)), reason)
        for destination, message in zip(self.build.destinations, pusher_messages, strict=True):
            pushed = parse_pushed(message, destination)
            if pushed != built:
                raise TerminationMessageError(message, f"says {destination} got {pushed}, but the executor built {built}")
        return built


def pusher_ca_dir(index: int) -> str:
    return f"{PUSHER_REGISTRY_CA_DIR}/{index}"


def parse_pushed(message: str | None, destination: str) -> str:
    """The digest from crane's ``--image-refs`` output, ``<repository>@sha256:…``, checked against ``destination``."""
    if not message or not message.strip():
        raise TerminationMessageError(message, "is empty; the pusher wrote no digest")
    text = message.strip()
    match = _PUSHED_RE.fullmatch(text)
    if not match:
        raise TerminationMessageError(text[:200], "is not '<repository>@sha256:<64 hex>'")
    if match["name"] not in _repository_spellings(destination):
        raise TerminationMessageError(text[:200], f"names another repository than the destination {destination!r}")
    return match["digest"]


def _repository_spellings(destination: str) -> Sequence[str]:
    """How go-containerregistry may spell the repository of ``destination``: Docker Hub names are expanded."""
    repository = destination.rsplit(":", 1)[0] if ":" in destination.rsplit("/", 1)[-1] else destination
    if reference.registry_of(destination) not in ("docker.io", "index.docker.io"):
        return (repository,)
    path = repository.split("/", 1)[1] if repository.startswith(("docker.io/", "index.docker.io/")) else repository
    if "/" not in path:
        path = f"library/{path}"
    return (f"index.docker.io/{path}",)
