"""Asset event arguments checked before any pod; the events of a real dag.test() run are in tests/integration."""

import pytest


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fingerprint": "not-hex"}, "fingerprint='not-hex'"),
        ({"build_reason": {"kind": "forced", "token": "x"}}, "build_reason=.*unknown key 'token'"),
    ],
)
def test_bad_event_kwargs_fail_before_any_pod(kwargs, message):
    from airflow_kaniko.errors import KanikoSpecError
    from airflow_kaniko.operators.kaniko import KanikoBuildOperator

    op = KanikoBuildOperator(task_id="b", context="git://github.com/acme/app.git", destinations=["r.io/a:1"], **kwargs)
    with pytest.raises(KanikoSpecError, match=message):
        op.build_pod_request_obj(dry_run=True)
