"""Read what a finished executor container left in its termination message."""

from __future__ import annotations

import re

from airflow_kaniko.errors import TerminationMessageError
from airflow_kaniko.results import BuildFailure

__all__ = ["BuildFailure", "classify_failure", "failure_summary", "parse_digest", "strip_ansi"]

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ERROR_RE = re.compile(r"level=(?:error|fatal)|\b(?:ERRO|FATA)\[|\berror\b|\bfailed\b", re.IGNORECASE)
# Kubernetes keeps the tail of the log as the message; it may start mid-line.
FALLBACK_TAIL_BYTES = 2048


def parse_digest(message: str | None) -> str:
    """The ``sha256:…`` digest of a successful build's termination message."""
    if not message or not message.strip():
        raise TerminationMessageError(message, "is empty; the executor wrote no digest")
    text = message.strip()
    if not DIGEST_RE.fullmatch(text):
        raise TerminationMessageError(text[:200], "is not a 'sha256:<64 hex>' digest")
    return text


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text)


def failure_summary(message: str | None, *, max_lines: int = 8) -> str:
    """Kaniko's own error lines from a failed container's log tail, colour codes removed."""
    if not message or not message.strip():
        return "(the executor left no output)"
    lines = strip_ansi(message).replace("\r", "").split("\n")
    if len(message.encode()) >= FALLBACK_TAIL_BYTES and len(lines) > 1:
        lines = lines[1:]  # the tail started mid-line
    lines = [line.rstrip() for line in lines if line.strip()]
    errors = [line for line in lines if _ERROR_RE.search(line)]
    return "\n".join((errors or lines)[-max_lines:])


# Checked in order: a registry outage inside a build stage is still an outage, not a Dockerfile error.
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (
            "registry",
            r"status code 5\d\d|\b50[0-9] (?:internal server error|bad gateway|service unavailable|gateway timeout)"
            r"|connection refused|connection reset|i/o timeout|tls handshake timeout|no such host|too many "
            r"requests|status code 429",
        ),
        ("push", r"error pushing image|error checking push permissions|failed to push"),
        (
            "pull",
            r"unable to complete operation after|manifest_unknown|manifest unknown|error retrieving image|failed to get image"
            r"|retrieving image .* from registry|unauthorized|denied|x509:",
        ),
        (
            "dockerfile",
            r"failed to execute command|failed to get files? used from context|failed to get fileinfo|dockerfile parse error"
            r"|unknown instruction|error resolving dockerfile path|copy failed|error building stage|error building image",
        ),
    )
)
_POD_REASONS = {"OOMKilled": "out-of-memory", "DeadlineExceeded": "deadline", "Evicted": "evicted"}


def classify_failure(message: str | None, *, reason: str | None = None, pod_reason: str | None = None) -> BuildFailure:
    """Classify a failed executor from its termination message and the container's and pod's reasons."""
    detail = failure_summary(message)
    for known in (reason, pod_reason):
        if known in _POD_REASONS:
            return BuildFailure(_POD_REASONS[known], True, f"{known}: {detail}")
    # Only the error lines: a healthy build's log also says "Retrieving image ... from registry".
    for kind, pattern in _KINDS:
        if pattern.search(detail):
            return BuildFailure(kind, kind != "dockerfile", detail)
    return BuildFailure("unknown", True, detail)
