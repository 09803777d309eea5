"""Redact credentials from text that a build can print, before it reaches any log or XCom.

Airflow's own masking depends on how the process that logs was started (``airflow dags test``
masks nothing, a resumed deferred task starts with no masks), so build output is redacted at its
source as well. Masking is still only a net: any ``RUN`` step can read a mounted credential.
"""

from __future__ import annotations

import re

REPLACEMENT = "***"
#: Shorter values would redact ordinary words; Airflow's masker uses the same floor.
MIN_SECRET_LENGTH = 5


class Redactor:
    """Replaces every registered secret in a text with ``***``, longest first."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def add(self, *secrets: str | None) -> None:
        new = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH} - self._secrets
        if new:
            self._secrets |= new
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def redact(self, text: str) -> str:
        return self._pattern.sub(REPLACEMENT, text) if self._pattern and text else text
