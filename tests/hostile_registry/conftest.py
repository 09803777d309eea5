"""The hostile-registry tier: no cluster, servers on 127.0.0.1 only (see servers.py)."""

import pytest

from tests.hostile_registry.servers import make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))
