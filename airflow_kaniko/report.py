"""Summarise the results of mapped builds: what was pushed, what failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ReportRow:
    name: str
    status: str  # "pushed", "failed" or "rendered"
    digest: str | None = None
    images: list[str] = field(default_factory=list)
    #: For a failed build: ``{"kind", "retryable", "detail"}`` when the build got far enough to say.
    failure: dict[str, Any] | None = None

    @property
    def status_text(self) -> str:
        return f"{self.status} ({self.failure['kind']})" if self.failure else self.status


@dataclass(frozen=True)
class BuildReport:
    rows: list[ReportRow]

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.rows if r.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return {"images": [asdict(r) for r in self.rows], "failed": self.failed}

    def table(self) -> str:
        header = ("IMAGE", "STATUS", "DIGEST", "REFERENCES")
        lines = [(r.name, r.status_text, r.digest or "-", ", ".join(r.images) or "-") for r in self.rows]
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(3)]
        return "\n".join("  ".join(col.ljust(w) for col, w in zip(row[:3], widths, strict=True)) + "  " + row[3] for row in [header, *lines])


def summarize(planned: Iterable[Mapping[str, Any]], results: Iterable[Mapping[str, Any] | None]) -> BuildReport:
    """Match results to planned builds by destination; a planned build with no result failed."""
    by_destination: dict[str, Mapping[str, Any]] = {}
    for result in results:
        if not result:
            continue
        references = result.get("destinations") or [ref.split("@", 1)[0] for ref in result.get("images", [])]
        for ref in references:
            by_destination[ref] = result
    rows = []
    for build in planned:
        result = next((by_destination[d] for d in build["destinations"] if d in by_destination), None)
        if result is None:
            rows.append(ReportRow(build["image_name"], "failed"))
        elif result.get("failed"):
            rows.append(ReportRow(build["image_name"], "failed", failure=result.get("failure")))
        elif result.get("dry_run"):
            rows.append(ReportRow(build["image_name"], "rendered", None, list(build["destinations"])))
        else:
            rows.append(ReportRow(build["image_name"], "pushed", result["digest"], list(result["images"])))
    return BuildReport(rows)
