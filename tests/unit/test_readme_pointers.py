"""Every test the documentation points at exists: `tests/...` paths, `file.py::test_name` and bare `test_name` pointers.

The documentation is README.md, CONTRIBUTING.md and the Sphinx pages docs/*.md; a claim moved between them
keeps its pointer checked.

A pointer may be a full path (`tests/unit/oci/test_reference.py`), a path with a test (`path::test_name`), a
path relative to some tier (`kaniko/test_spec.py::test_name`, `test_hardening.py`), or a bare test name.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

TESTS = ROOT / "tests"
DOCUMENTS = ["README.md", "CONTRIBUTING.md", *sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "docs").glob("*.md"))]
FILE_POINTER = re.compile(r"^((?:[\w.-]+/)*(?:test_\w+|conftest|\w+)\.py)(?:::(\w+)(?:\[[^\]]*\])?)?$")
PATH_POINTER = re.compile(r"^tests/[\w./-]*$")
NAME_POINTER = re.compile(r"^(test_\w+)(?:\[[^\]]*\])?$")
# A file of the source tree the documentation sends a reader to (a module, the example DAGs, the worker Role).
SOURCE_POINTER = re.compile(r"^(?:airflow_kaniko|dags|dev)/[\w./-]*$|^deploy/[\w.-]+\.yaml$")


def _definitions(path: Path) -> set[str]:
    return set(re.findall(r"^\s*(?:async\s+)?def\s+(test_\w+)\s*\(", path.read_text(), flags=re.M))


FILES = {path.relative_to(ROOT).as_posix(): _definitions(path) for path in TESTS.rglob("*.py")}


def _files_matching(pointer: str) -> list[str]:
    """A full path names one file; a relative one, every test file whose path ends with it."""
    if pointer.startswith("tests/"):
        return [pointer] if pointer in FILES else []
    return [path for path in FILES if path.endswith("/" + pointer)]


def _stale(pointer: str) -> str | None:
    """Why the pointer names nothing, or None when it resolves."""
    file_match = FILE_POINTER.match(pointer)
    if file_match and (pointer.startswith("tests/") or "test_" in pointer):
        file, name = file_match.groups()
        files = _files_matching(file)
        if not files:
            return f"no file {file}"
        if name and not any(name in FILES[f] for f in files):
            return f"no test {name} in {', '.join(files)}"
        return None
    if PATH_POINTER.match(pointer) or SOURCE_POINTER.match(pointer):
        return None if (ROOT / pointer).exists() else f"no path {pointer}"
    name_match = NAME_POINTER.match(pointer)
    if name_match and not any(name_match.group(1) in names for names in FILES.values()):
        return f"no test {name_match.group(1)} anywhere under tests/"
    return None


def _code(document: str) -> list[str]:
    """Only what the document writes as code, so prose that mentions a word starting with test_ does not count."""
    return re.findall(r"`([^`\n]+)`", (ROOT / document).read_text())


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_test_the_documentation_names_exists(document):
    stale = sorted({f"`{pointer}`: {why}" for pointer in _code(document) if (why := _stale(pointer))})
    assert not stale, f"{document} points at tests that do not exist:\n" + "\n".join(stale)


def test_the_documents_checked_include_the_sphinx_pages():
    assert {"README.md", "CONTRIBUTING.md", "docs/index.md", "docs/security.md", "docs/maintenance.md"} <= set(DOCUMENTS)
    assert all((ROOT / document).is_file() for document in DOCUMENTS)


def test_the_checker_resolves_and_refuses_each_kind_of_pointer():
    assert _stale("tests/unit/test_readme_pointers.py::test_every_test_the_documentation_names_exists") is None
    assert _stale("test_readme_pointers.py::test_every_test_the_documentation_names_exists") is None
    assert _stale("unit/test_readme_pointers.py") is None
    assert _stale("test_every_test_the_documentation_names_exists") is None
    assert _stale("tests/unit/") is None
    assert _stale("tests/unit/test_manifest.py") == "no file tests/unit/test_manifest.py"
    assert _stale("test_readme_pointers.py::test_gone") == "no test test_gone in tests/unit/test_readme_pointers.py"
    assert _stale("test_gone") == "no test test_gone anywhere under tests/"
    assert _stale("tests/nowhere/") == "no path tests/nowhere/"
    assert _stale("airflow_kaniko/oci/registry_client.py") is None
    assert _stale("deploy/worker-rbac.yaml") is None
    assert _stale("airflow_kaniko/registry.py") == "no path airflow_kaniko/registry.py"
    assert _stale("dags/images/") is None
    assert _stale("dev/nowhere.sh") == "no path dev/nowhere.sh"
    assert _stale("--push-retry=3") is None  # not a pointer
