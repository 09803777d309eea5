"""Base images pinned by digest for one build: the plain data a plan hands to the operator, and its check.

The maintenance planner resolves every base a build pulls; the operator then packs a Dockerfile that
names each by that digest (``maintenance.dockerfile.pin_images``), so the build pulls exactly what was
fingerprinted. Cheap to import: the operator module imports it at DAG parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypedDict

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci.reference import is_reference, split


class BasePin(TypedDict):
    """One external image of a Dockerfile as a build must pull it (plain data: it travels in a build's kwargs).

    :param line: the line of the instruction that names it (``BaseImage.line``).
    :param written: the reference as written there (``${BASE}``, ``busybox:1.36``).
    :param pinned: what the build pulls instead, ``registry/repo[:tag]@sha256:…``.
    """

    line: int
    written: str
    pinned: str


MAX_PINS = 256
_PIN_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


def check_pins(value: object, field_name: str = "base_pins") -> list[BasePin]:
    """``value`` as a list of :class:`BasePin`, or :class:`KanikoSpecError` naming ``field_name`` and what is wrong."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise KanikoSpecError(field_name, value, "must be a list of {line, written, pinned} mappings")
    if len(value) > MAX_PINS:
        raise KanikoSpecError(field_name, f"{len(value)} pins", f"at most {MAX_PINS}")
    pins = []
    for pin in value:
        if not isinstance(pin, Mapping) or set(pin) != {"line", "written", "pinned"}:
            raise KanikoSpecError(field_name, pin, "each must be a mapping of exactly line, written and pinned")
        line, written, pinned = pin["line"], pin["written"], pin["pinned"]
        if not isinstance(line, int) or isinstance(line, bool) or line < 1:
            raise KanikoSpecError(field_name, pin, "line must be a positive integer")
        if not isinstance(written, str) or not written or len(written) > 512 or any(c.isspace() for c in written):
            raise KanikoSpecError(field_name, pin, "written must be the reference as written, one word of at most 512 characters")
        if not (isinstance(pinned, str) and is_reference(pinned) and _PIN_DIGEST_RE.fullmatch(split(pinned)[3] or "")):
            raise KanikoSpecError(field_name, pin, "pinned must be an image reference ending in @sha256:<64 hex>")
        pins.append(BasePin(line=line, written=written, pinned=pinned))
    return pins
