"""Why an image was rebuilt or skipped, as data (for XCom) and as one line (for the report)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Kinds, and whether each means a pod is started.
REBUILD_KINDS = (
    "forced",
    "unknowable",
    "remote_source",
    "max_age",
    "tag_mismatch",
    "parent",
    "base",
    "context",
    "settings",
    "first",
    "unverified",
)
SKIP_KINDS = ("unchanged",)
OUTCOME_KINDS = ("failed", "parent_failed")


@dataclass(frozen=True)
class BaseChange:
    reference: str
    old: str | None
    new: str


@dataclass(frozen=True)
class Reason:
    """One decision. Only the fields of its ``kind`` are set.

    :param kind: one of :data:`REBUILD_KINDS`, :data:`SKIP_KINDS`, :data:`OUTCOME_KINDS`.
    :param bases: for ``base``: each base whose digest moved.
    :param parents: for ``parent`` and ``parent_failed``: the parent images.
    :param fingerprint: for ``unchanged``: the fingerprint found in the registry.
    :param digest: for ``unchanged``: the digest that fingerprint's tag points at.
    :param detail: for ``unknowable`` (``s3:// context``), ``remote_source`` (the remote ``ADD`` source, redacted),
        ``settings`` (changed fields), ``unverified`` (the error).
    """

    kind: str
    bases: tuple[BaseChange, ...] = ()
    parents: tuple[str, ...] = ()
    fingerprint: str | None = None
    digest: str | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in REBUILD_KINDS + SKIP_KINDS + OUTCOME_KINDS:
            raise ValueError(f"unknown reason kind {self.kind!r}")

    @property
    def rebuild(self) -> bool:
        return self.kind in REBUILD_KINDS

    def text(self, *, identical: bool = False) -> str:
        """The report's line; ``identical``: the rebuild pushed the digest that was already there."""
        body = {
            "forced": "forced",
            "max_age": "older than max_age",
            "tag_mismatch": "fingerprint tag did not match its image",
            "parent": f"parent {', '.join(self.parents)} rebuilt",
            "base": "; ".join(f"base {c.reference} {short(c.old) if c.old else 'none'} → {short(c.new)}" for c in self.bases),
            "context": "context changed",
            "settings": f"build settings changed: {self.detail}",
            "first": self.detail or "no previous build",
            "unverified": f"built anyway: {self.detail}",
        }
        if self.kind == "unknowable":
            return f"always rebuilt ({self.detail})"
        if self.kind == "remote_source":
            return f"always rebuilt (ADD {self.detail})"
        if self.kind == "unchanged":
            return f"unchanged (fingerprint {(self.fingerprint or '')[:12]}…, digest {short(self.digest)})"
        if self.kind == "failed":
            return "failed"
        if self.kind == "parent_failed":
            return f"failed (parent {', '.join(self.parents)} failed)"
        return f"rebuilt, identical ({body[self.kind]})" if identical else f"rebuilt ({body[self.kind]})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # tuples become lists: the dict is what XCom's JSON gives back
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items() if v not in ((), None)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        return cls(
            kind=data["kind"],
            bases=tuple(BaseChange(**b) for b in data.get("bases", ())),
            parents=tuple(data.get("parents", ())),
            fingerprint=data.get("fingerprint"),
            digest=data.get("digest"),
            detail=data.get("detail"),
        )


def short(digest: str | None) -> str:
    """``sha256:`` and the first 12 hex digits, then an ellipsis."""
    if not digest:
        return "-"
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:12]}…" if hexpart else digest[:12] + "…"


def explain_change(previous: Mapping[str, Any] | None, current: Mapping[str, Any], *, last_digest: str | None = None) -> Reason:
    """Why a fingerprint moved, from the inputs summary of the last build (its label) and this one's.

    :param previous: the last build's :meth:`BuildInputs.summary`, or ``None`` when it has none.
    :param current: this build's summary.
    :param last_digest: the last build's digest, ``None`` when there is no last build.
    """
    if last_digest is None:
        return Reason("first")
    if not previous:
        return Reason("first", detail="the last build recorded no fingerprint")
    old_bases, new_bases = previous.get("bases", {}), current["bases"]
    moved = tuple(
        BaseChange(ref, old_bases.get(ref), digest) for ref, digest in new_bases.items() if old_bases.get(ref) != digest
    )
    if moved:
        return Reason("base", bases=moved)
    if previous.get("version", 1) != current.get("version", 1):  # every input hashed anew: none to single out
        return Reason("settings", detail="fingerprint format")
    if previous.get("context") != current["context"]:
        return Reason("context")
    old_settings, new_settings = previous.get("settings") or {}, current["settings"]
    keys = [*new_settings, *(k for k in old_settings if k not in new_settings)]
    changed = [key for key in keys if old_settings.get(key) != new_settings.get(key)]
    return Reason("settings", detail=", ".join(changed) or "fingerprint format")


@dataclass(frozen=True)
class Outcome:
    """One image's row: the decision, and what the build (if any) produced."""

    name: str
    reason: Reason
    status: str  # "unchanged", "rebuilt", "failed", "planned"
    digest: str | None = None
    previous_digest: str | None = None
    images: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.status == "rebuilt" and self.digest is not None and self.digest == self.previous_digest

    def text(self) -> str:
        if self.status == "failed" and self.reason.kind != "parent_failed":
            return "failed"
        if self.status == "planned":
            return ("would be " + self.reason.text()) if self.reason.rebuild else self.reason.text()
        return self.reason.text(identical=self.identical)
