"""Several builds, one after another, in one debug-image container.

The container runs a fixed shell script. Every value from a build spec reaches
the executor as its own argv item, through the script's positional parameters:
nothing is ever interpolated into shell code, so no value can inject syntax.
Each run has ``--cleanup`` so the next build starts from a clean filesystem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from airflow_kaniko.errors import KanikoSpecError, TerminationMessageError
from airflow_kaniko.kaniko.spec import LOCAL_CONTEXT_DIR, KanikoBuild
from airflow_kaniko.kaniko.termination import DIGEST_RE

SHELL = "/busybox/sh"
#: An emptyDir for the digest files; Kaniko skips mount points, so --cleanup keeps it.
RESULTS_DIR = "/kaniko/results"
TERMINATION_MESSAGE_LIMIT = 4096
# "<index> ok sha256:<64 hex>\n" with a three-digit index.
_RESULT_LINE_BYTES = len("999 ok sha256:") + 64 + 1

# Positional parameters: $1 keep-going flag, then per build: name, argc, argv...
# Only shell builtins run besides the executor: --cleanup may delete everything
# outside /kaniko and the mount points. The KANIKO_* variables exist for the unit tests.
SCRIPT = r"""set -u
executor=${KANIKO_EXECUTOR:-/kaniko/executor}
results=${KANIKO_RESULTS:-/kaniko/results}
log=${KANIKO_TERMINATION_LOG:-/dev/termination-log}
keep_going=$1
shift
failed=0
i=0
run_executor() {
  count=$1
  shift
  seen=0
  for arg in "$@"; do
    if [ "$seen" -lt "$count" ]; then set -- "$@" "$arg"; fi
    seen=$((seen + 1))
  done
  shift "$seen"
  "$executor" "$@"
}
: > "$log"
while [ "$#" -gt 0 ]; do
  name=$1
  count=$2
  shift 2
  if [ "$failed" -eq 0 ] || [ "$keep_going" = 1 ]; then
    echo "kaniko-multi-build: [$i] $name: building"
    run_executor "$count" "$@"
    rc=$?
    digest=""
    if [ "$rc" -eq 0 ]; then read -r digest < "$results/$i.digest"; fi
    if [ "$rc" -eq 0 ] && [ -n "$digest" ]; then
      echo "$i ok $digest" >> "$log"
      echo "kaniko-multi-build: [$i] $name: pushed $digest"
    else
      failed=1
      echo "$i failed $rc" >> "$log"
      echo "kaniko-multi-build: [$i] $name: FAILED with exit code $rc"
    fi
  else
    echo "$i skipped" >> "$log"
    echo "kaniko-multi-build: [$i] $name: skipped after an earlier failure"
  fi
  shift "$count"
  i=$((i + 1))
done
[ "$failed" -eq 0 ]
"""

SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"


def archive_path(index: int) -> str:
    """Where build ``index``'s packed local context is mounted."""
    return f"{LOCAL_CONTEXT_DIR}/context-{index}.tar.gz"


def max_builds() -> int:
    return TERMINATION_MESSAGE_LIMIT // _RESULT_LINE_BYTES


def check_builds(builds: Sequence[KanikoBuild]) -> None:
    """Refuse a list that could not be reported back, or whose builds would overwrite each other."""
    if not builds:
        raise KanikoSpecError("builds", list(builds), "needs at least one build")
    if len(builds) > max_builds():
        raise KanikoSpecError(
            "builds", f"{len(builds)} builds", f"at most {max_builds()} fit in the 4 KiB termination message; split the list"
        )
    names = [b.name for b in builds]
    for index, name in enumerate(names):
        if name is None:
            raise KanikoSpecError(f"builds[{index}].name", None, "every build in a multi-build needs a name")
        if names.index(name) != index:
            raise KanikoSpecError(f"builds[{index}].name", name, "is used by another build in this list")
    pushed_by: dict[str, int] = {}
    for index, build in enumerate(builds):
        for dest in build.destinations:
            first = pushed_by.setdefault(dest, index)
            if first != index:
                raise KanikoSpecError(
                    f"builds[{index}].destinations",
                    dest,
                    f"is pushed by both builds[{first}] ({names[first]}) and builds[{index}] ({names[index]}); the "
                    f"second would overwrite the first",
                )


def command(builds: Sequence[KanikoBuild], *, keep_going: bool = False) -> list[str]:
    """The container's full argv: the fixed script, then every build's args as data."""
    check_builds(builds)
    argv = [SHELL, "-c", SCRIPT, "kaniko-multi-build", "1" if keep_going else "0"]
    for index, build in enumerate(builds):
        args = build.args(digest_file=f"{RESULTS_DIR}/{index}.digest", local_archive=archive_path(index))
        # First, so a bare value flag at the end of extra_args cannot swallow it as its value.
        args.insert(0, "--cleanup")
        argv += [build.name or "", str(len(args)), *args]
    return argv


@dataclass(frozen=True)
class BuildOutcome:
    """What became of one build of a multi-build."""

    name: str
    status: str
    digest: str | None = None
    images: list[str] = field(default_factory=list)
    exit_code: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "digest": self.digest, "images": list(self.images)}


def parse_results(message: str | None, builds: Sequence[KanikoBuild]) -> list[BuildOutcome]:
    """One outcome per build, in order; builds the script never reached count as skipped."""
    lines = (message or "").strip().splitlines()
    outcomes: dict[int, BuildOutcome] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 2 or not parts[0].isdigit() or int(parts[0]) >= len(builds):
            raise TerminationMessageError(message, f"has an unreadable result line {line!r}")
        index, status = int(parts[0]), parts[1]
        build = builds[index]
        name = build.name or str(index)
        if status == "ok" and len(parts) == 3 and DIGEST_RE.fullmatch(parts[2]):
            outcomes[index] = BuildOutcome(name, SUCCEEDED, parts[2], build.images(parts[2]), 0)
        elif status == "failed" and len(parts) == 3 and parts[2].lstrip("-").isdigit():
            outcomes[index] = BuildOutcome(name, FAILED, exit_code=int(parts[2]))
        elif status == "skipped" and len(parts) == 2:
            outcomes[index] = BuildOutcome(name, SKIPPED)
        else:
            raise TerminationMessageError(message, f"has an unreadable result line {line!r}")
    return [outcomes.get(i) or BuildOutcome(b.name or str(i), SKIPPED) for i, b in enumerate(builds)]
