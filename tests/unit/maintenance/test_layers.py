"""The planner and the index merge depend on the registry protocol, never on the HTTP adapter.

Make lint's import contracts say the same for whole layers; this pins the two modules the protocol
exists for, reading every import statement, those inside functions too.
"""

import ast

import pytest

from tests.conftest import ROOT

PROTOCOL_USERS = sorted((ROOT / "airflow_kaniko" / "maintenance").glob("*.py")) + [ROOT / "airflow_kaniko/oci/index_push.py"]


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("path", PROTOCOL_USERS, ids=lambda p: p.stem)
def test_a_protocol_user_never_imports_the_registry_adapter(path):
    assert "airflow_kaniko.oci.registry_client" not in set(imported_modules(path))
