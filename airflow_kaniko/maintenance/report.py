"""The maintenance run's report: one row per image of the finished plan, as a table, XCom and the run's note."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_kaniko.maintenance.plan_state import BUILD, FAILED, PARENT_FAILED, CleanupDict, Plan
from airflow_kaniko.results import FailureDict

# Airflow keeps at most this many characters of a DAG run's note.
NOTE_MAX_CHARS = 1000


@dataclass(frozen=True)
class ReportRow:
    name: str
    status: str  # "rebuilt", "unchanged", "failed" or "planned" (a dry run's)
    digest: str | None = None
    images: list[str] = field(default_factory=list)
    #: For a failed build: ``{"kind", "retryable", "detail"}`` when the build got far enough to say.
    failure: FailureDict | None = None
    reason: str | None = None  # why it was rebuilt or skipped, e.g. "rebuilt (context changed)"
    detail: dict[str, Any] | None = None  # the reason as data, the fingerprint, the previous digest
    platforms: list[str] | None = None  # a multi-arch image's platforms; its digest is the index's
    cleanup: CleanupDict | None = None  # a rebuilt image's stale tags deleted after the run, and any warnings

    @property
    def label(self) -> str:
        """The name, with a multi-arch image's platforms: ``app [linux/amd64, linux/arm64]``."""
        return f"{self.name} [{', '.join(self.platforms)}]" if self.platforms else self.name

    @property
    def status_text(self) -> str:
        return f"{self.status} ({self.failure['kind']})" if self.failure else self.status


@dataclass(frozen=True)
class BuildReport:
    rows: list[ReportRow]

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.rows if r.status == "failed"]

    @property
    def cleanup_warnings(self) -> list[str]:
        """``<image>: <warning>`` for every registry-cleanup warning (never a failure of the run)."""
        return [f"{r.name}: {w}" for r in self.rows if r.cleanup for w in r.cleanup["warnings"]]

    def cleanup_text(self) -> str | None:
        """``registry cleanup: 3 tag(s) deleted, 1 warning(s)``; ``None`` when no cleanup ran or it had nothing to say."""
        records = [r.cleanup for r in self.rows if r.cleanup is not None]
        deleted, warnings = sum(len(r["deleted"]) for r in records), sum(len(r["warnings"]) for r in records)
        if not deleted and not warnings:  # nothing to delete: no line in the table or the run's note
            return None
        return f"registry cleanup: {deleted} tag(s) deleted" + (f", {warnings} warning(s)" if warnings else "")

    def to_dict(self) -> dict[str, Any]:
        rows = [
            {
                k: v
                for k, v in asdict(r).items()
                if v is not None or k not in ("reason", "detail", "failure", "platforms", "cleanup")
            }
            for r in self.rows
        ]
        return {"images": rows, "failed": self.failed}

    def table(self) -> str:
        header = ("IMAGE", "DIGEST", "REASON")
        lines = [(r.label, r.digest or "-", (r.status_text if r.failure else r.reason) or r.status) for r in self.rows]
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header) - 1)]
        table = [
            "  ".join(col.ljust(w) for col, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1] for row in [header, *lines]
        ]
        cleanup = self.cleanup_text()
        return "\n".join(table + ([cleanup] if cleanup else []) + [f"WARNING {w}" for w in self.cleanup_warnings])

    def markdown(self, title: str, limit: int = NOTE_MAX_CHARS) -> str:
        """The report as a Markdown table (image, status, short digest, reason), at most ``limit`` characters.

        Rows that do not fit are counted in a last line; the XCom keeps all of them.
        """
        counts = ", ".join(f"{sum(r.status == s for r in self.rows)} {s}" for s in dict.fromkeys(r.status for r in self.rows))
        cleanup = self.cleanup_text()
        head = [
            f"**{_cell(title)}**: {counts or 'no images'}" + (f"; {cleanup}" if cleanup else ""),
            "",
            "| image | status | digest | reason |",
            "| --- | --- | --- | --- |",
        ]
        lines = [f"| {_cell(r.label)} | {r.status} | {short_digest(r.digest)} | {_cell(reason(r))} |" for r in self.rows]
        for shown in range(len(lines), -1, -1):
            more = ["", f"… and {len(lines) - shown} more in the report task's XCom"] if shown < len(lines) else []
            text = "\n".join(head + lines[:shown] + more)
            if len(text) <= limit:
                return text
        return text[:limit]


def short_digest(digest: str | None) -> str:
    """``sha256:`` and the first 12 hex digits, in code style; ``-`` when there is none."""
    if not digest:
        return "-"
    algorithm, _, hexdigits = digest.partition(":")
    return f"`{algorithm}:{hexdigits[:12]}`"


def reason(row: ReportRow) -> str:
    """Why an image was rebuilt, skipped or failed, in a few words; empty when nothing says."""
    if row.status != "failed":
        return row.reason or ""
    if row.failure:  # the operator's classified failure: {"kind", "retryable", "detail"}
        return ": ".join(str(part) for part in (row.failure.get("kind"), row.failure.get("detail")) if part)
    return "no result from the build task; see its log"


def _cell(text: str) -> str:
    # A table cell is one line, and a pipe would end it.
    return " ".join(text.split()).replace("|", "\\|")


def summarize_plan(plan: Plan) -> BuildReport:
    """One row per image of a finished maintenance plan (see ``maintenance.planner.finish``), with its reason."""
    from airflow_kaniko.maintenance.reasons import Outcome, Reason

    rows = []
    for names in plan["levels"]:
        for name in names:
            state = plan["images"][name]
            status = {BUILD: "planned", PARENT_FAILED: FAILED}.get(state["status"], state["status"])
            reason = Reason.from_dict(state["reason"]) if state["reason"] else Reason("failed")
            outcome = Outcome(name, reason, status, state["digest"], state["previous_digest"], list(state["images"]))
            detail = {
                "level": state["level"],
                "reason": reason.to_dict(),
                "identical": outcome.identical,
                "fingerprint": state["fingerprint"],
                "previous_digest": state["previous_digest"],
            }
            if state.get("platform_digests"):
                detail["platform_digests"] = state["platform_digests"]
            failure = state.get("failure")
            rows.append(
                ReportRow(
                    name,
                    status,
                    state["digest"],
                    list(state["images"]),
                    failure=failure,
                    reason=outcome.text(),
                    detail=detail,
                    platforms=(state.get("kwargs") or {}).get("platforms"),
                    cleanup=state.get("cleanup"),
                )
            )
    return BuildReport(rows)
