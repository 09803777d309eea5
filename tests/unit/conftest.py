"""The unit tier never waits: every backoff the code under test would sleep is recorded instead."""

import time

import pytest
import tenacity.nap

from airflow_kaniko.oci import registry_client


class _RecordedTime:
    """The time module as one module sees it, with sleep recording the delay instead of sleeping."""

    def __init__(self, naps):
        self._naps = naps

    def sleep(self, seconds):
        self._naps.append(seconds)

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture(autouse=True)
def naps(monkeypatch):
    """The delays slept, in order: tenacity's (KPO's Kubernetes API retries) and the registry client's backoff."""
    slept = []
    monkeypatch.setattr(tenacity.nap, "time", _RecordedTime(slept))
    monkeypatch.setattr(registry_client, "time", _RecordedTime(slept))
    return slept
