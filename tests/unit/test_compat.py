"""The compat shims on the installed upstream versions (the unit tier runs on both pin sets), and the rule that
no other module of the package names a private upstream symbol."""

import tokenize
from pathlib import Path

import pytest
import tenacity
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

import airflow_kaniko
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.utils.pod_manager import PodManager
from airflow_kaniko.compat import kpo, task_sdk

PACKAGE = Path(airflow_kaniko.__file__).parent
# KPO's, the task SDK's and python-dxf's private names, as the code (not a comment) spells them.
PRIVATE = {"_log_message", "_write_logs", "_killed", "_get_pod", "_request", "_sessions", "execution_time"}


def _names(path):
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            if token.type == tokenize.NAME and token.string in PRIVATE:
                yield token.start[0], token.line.strip()


def test_no_module_but_compat_names_a_private_upstream_symbol():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parent.name != "compat"
        for number, line in _names(path)
    ]
    assert offenders == []


def test_the_scan_sees_a_private_name_in_code(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("# op._killed in a comment is fine\nkilled = op._killed\nfrom airflow.sdk.execution_time import x\n")
    assert [number for number, _ in _names(module)] == [2, 3]


def test_the_redacting_pod_manager_overrides_the_method_every_log_line_passes(capsys):
    """PodManager._log_message(message, container_name, prefix_enabled, log_formatter) upstream."""
    assert "_log_message" in vars(PodManager)
    manager = kpo.redacting_pod_manager(kube_client=None, redact=lambda line: line.replace("hunter2", "***"))
    assert isinstance(manager, PodManager)
    manager._log_message("token hunter2", "kaniko", True, None)
    manager._log_message("::group::hunter2", "kaniko", True, None)  # printed, not logged, upstream
    out = capsys.readouterr().out
    assert "hunter2" not in out and "[kaniko] token ***" in out and "::group::***" in out


def test_the_write_logs_override_replaces_kpos_and_keeps_its_retry(monkeypatch):
    assert "_write_logs" in vars(KubernetesPodOperator)  # the upstream method the mixin overrides
    calls = []
    failures = [2]  # how many calls fail before one succeeds

    class Operator(kpo.RedactedDeferredLogs):
        base_container_name = "kaniko"

        class pod_manager:  # noqa: N801
            @staticmethod
            def fetch_container_logs(pod, container, **kwargs):
                calls.append((container, kwargs))
                if len(calls) <= failures[0]:
                    raise ApiException(status=500, reason="etcd leader changed")

    write_logs = kpo.write_logs_with_retry.retry_with(wait=tenacity.wait_none())
    write_logs(Operator(), k8s.V1Pod(), since_time="2026-12-04T01:00:00Z")
    assert len(calls) == 3  # upstream's three attempts
    assert calls[0][0] == "kaniko" and calls[0][1]["since_time"].year == 2026  # the string is parsed, as upstream
    calls.clear()
    failures[0] = 10
    with pytest.raises(ApiException):
        write_logs(Operator(), k8s.V1Pod())
    assert len(calls) == 3  # three attempts, then the error


def test_was_killed_reads_the_flag_kpos_on_kill_sets(monkeypatch):
    op = KubernetesPodOperator(task_id="t", image="busybox")
    assert kpo.was_killed(op) is False
    monkeypatch.setattr(KubernetesPodOperator, "client", None, raising=False)
    op.on_kill()  # no pod yet: only the flag
    assert kpo.was_killed(op) is True


@pytest.mark.parametrize(("status", "attempts"), [(429, 3), (503, 3), (409, 1), (403, 1)])
def test_kube_api_call_uses_kpos_policy_but_takes_409_as_final(status, attempts):
    calls = []

    def create():
        calls.append(1)
        if len(calls) < 3:
            err = ApiException(status=status, reason="x")
            err.headers = {"Retry-After": "0"}
            raise err
        return "created"

    if attempts == 3:
        assert kpo.kube_api_call(create) == "created"
    else:
        with pytest.raises(ApiException):
            kpo.kube_api_call(create)
    assert len(calls) == attempts


def test_xcom_value_reads_through_the_configured_backend(monkeypatch):
    from airflow.sdk.execution_time.xcom import XCom

    seen = {}

    def get_value(*, ti_key, key):
        seen.update(ti_key=ti_key, key=key)
        return {"digest": "sha256:" + "a" * 64}

    monkeypatch.setattr(XCom, "get_value", get_value)
    assert task_sdk.xcom_value("ti-key", "return_value") == {"digest": "sha256:" + "a" * 64}
    assert seen == {"ti_key": "ti-key", "key": "return_value"}
