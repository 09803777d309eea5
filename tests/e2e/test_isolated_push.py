"""isolate_push_credentials: a RUN step finds no push credentials, and every tag still gets the pushed digest."""

import subprocess

import pytest
from registry import manifest_digest

from tests.e2e.kube import leftovers
from tests.e2e.test_scenarios import scenario

PROBE = "tests/e2e/images/probe"


@pytest.fixture(scope="module")
def probe_context(tmp_path_factory):
    """FROM scratch plus a static binary, so the executor pulls nothing and needs no credentials at all."""
    from tests.conftest import ROOT

    context = tmp_path_factory.mktemp("probe")
    subprocess.run(
        ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(context / "probe"), "."],
        cwd=ROOT / PROBE,
        env={**__import__("os").environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
        check=True,
    )
    (context / "Dockerfile").write_text('FROM scratch\nCOPY probe /probe\nRUN ["/probe", "/kaniko/.docker"]\n')
    return context


def test_run_step_sees_no_push_credentials_and_every_tag_gets_the_digest(
    runner, cluster, core, tmp_path, probe_context, monkeypatch
):
    monkeypatch.setenv("KANIKO_E2E_PROBE_CONTEXT", str(probe_context))
    result, run = scenario(runner, "e2e_isolated_push", tmp_path)
    text = result.text()
    assert run["state"] == "success", text[-3000:]
    # The RUN step listed the executor's credential directory: empty, so config.json cannot be read.
    assert "probe: /kaniko/.docker has 0 entries" in text, text[-3000:]
    assert '"auths"' not in text
    value = run["xcom"][("build", -1)]
    assert [image.split("@")[0] for image in value["images"]] == [
        f"{cluster.registry}/e2e/isolated:1",
        f"{cluster.registry}/e2e/isolated:2",
        f"{cluster.registry}/e2e/isolated-copy:1",
    ]
    auth = cluster.credentials()
    for image in value["images"]:
        reference, digest = image.split("@")
        assert digest == value["digest"]
        assert manifest_digest(cluster.registry, reference, auth, cluster.registry_ca) == digest
    assert leftovers(core, cluster.namespace) == []


def test_base_image_pulled_with_pull_credentials_deferrable(runner, cluster, core, tmp_path):
    result, run = scenario(runner, "e2e_isolated_push_pull_credentials", tmp_path)
    text = result.text()
    assert run["state"] == "success", text[-3000:]
    assert "Pausing task as DEFERRED" in text
    # The executor's own log reached the task log, although it ran as an init container.
    assert (
        "Log of the executor (init container kaniko)" in text
        and "Skipping push to container registry due to --no-push flag" in text
    )
    value = run["xcom"][("build", -1)]
    reference, digest = value["images"][0].split("@")
    assert manifest_digest(cluster.registry, reference, cluster.credentials(), cluster.registry_ca) == digest
    assert leftovers(core, cluster.namespace) == []


def test_a_failing_build_names_the_executor_and_shows_its_log(runner, cluster, core, tmp_path):
    result, run = scenario(runner, "e2e_isolated_push_broken", tmp_path)
    text = result.text()
    assert run["state"] == "failed"
    assert "failed in pod" in text and "container kaniko (exit code 3, Error; dockerfile failure, not retried" in text, text[
        -3000:
    ]
    assert (
        "error building image: error building stage: failed to execute command: waiting for process to exit: exit status 3"
        in text
    )
    assert "Log of the executor (init container kaniko)" in text and "this step fails on purpose" in text
    assert leftovers(core, cluster.namespace) == []
