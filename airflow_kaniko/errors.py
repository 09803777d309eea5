"""The error types of the Kaniko layer: catch :class:`KanikoError` for all of them."""

from __future__ import annotations


class KanikoError(Exception):
    """Base class of every error this package raises about a build."""


class KanikoSpecError(KanikoError, ValueError):
    """A build description is invalid.

    :param field: the parameter or manifest field that holds the bad value.
    :param value: the bad value itself (never a credential).
    :param reason: why the value was refused.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")


class TerminationMessageError(KanikoError):
    """A finished container's termination message does not hold what the executor writes."""

    def __init__(self, message: str | None, reason: str) -> None:
        self.message = message
        super().__init__(f"termination message {message!r}: {reason}")
