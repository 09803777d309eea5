"""Read what a finished executor container left in its termination message."""

from __future__ import annotations

import re

from airflow_kaniko.kaniko.errors import TerminationMessageError

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
