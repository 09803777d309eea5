"""The push strategies: what the executor mounts and runs in each mode."""

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.kaniko.spec import KanikoBuild
from airflow_kaniko.utils import pod_spec
from airflow_kaniko.utils.push_modes import PULL_CONFIG_KEY, PUSH_CONTAINER, DirectPushMode, IsolatedPushMode

SPEC = KanikoBuild(context="git://github.com/acme/app.git#refs/heads/main", destinations=["reg.io/team/app:1"])
REGISTRY = [pod_spec.docker_config_volume("pod-credentials", "config.json")]


def test_the_direct_push_executor_pushes_with_the_registry_credentials():
    mode = DirectPushMode()
    assert mode.executor_credentials(REGISTRY, "pod-credentials") == REGISTRY
    assert mode.executor_args(SPEC) == SPEC.args() and "--no-push" not in mode.executor_args(SPEC)
    assert mode.executor_init_container is None and mode.pull_conn_id is None


def test_the_isolated_executor_mounts_only_pull_credentials_and_does_not_push():
    mode = IsolatedPushMode(pod_spec.DEFAULT_PUSHER_IMAGE, pull_conn_id="pull")
    ((volume, mount),) = mode.executor_credentials(REGISTRY, "pod-credentials")
    assert volume.secret.secret_name == "pod-credentials" and volume.secret.items[0].key == PULL_CONFIG_KEY
    assert "--no-push" in mode.executor_args(SPEC)
    assert IsolatedPushMode(pod_spec.DEFAULT_PUSHER_IMAGE).executor_credentials(REGISTRY, "pod-credentials") == []
    with pytest.raises(KanikoSpecError, match="pull_secret='team-pull': cannot be combined with pull_conn_id"):
        IsolatedPushMode(pod_spec.DEFAULT_PUSHER_IMAGE, "pull", "team-pull").executor_credentials(REGISTRY, "x")


def test_isolated_push_watches_the_last_pusher_and_keeps_the_executor_name_free():
    kwargs = {}
    IsolatedPushMode.operator_defaults(kwargs)
    assert kwargs == {
        "base_container_name": PUSH_CONTAINER,
        "schedule_timeout_seconds": 120,
        "startup_timeout_seconds": pod_spec.DEFAULT_ACTIVE_DEADLINE_SECONDS,
    }
    with pytest.raises(KanikoSpecError, match="base_container_name='kaniko'"):
        IsolatedPushMode.operator_defaults({"base_container_name": pod_spec.EXECUTOR_CONTAINER})
