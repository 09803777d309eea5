"""One platform per pod (KanikoBuildOperator(platform=...)) and the merge step (KanikoImageIndexOperator)."""

import hashlib
import json

import pytest

from airflow_kaniko.errors import KanikoSpecError
from airflow_kaniko.oci import index_push
from airflow_kaniko.oci.index_push import MergeError
from airflow_kaniko.oci.platforms import INDEX_MEDIA_TYPE
from airflow_kaniko.oci.registry_protocol import ServedManifest
from airflow_kaniko.operators.image_index import KanikoImageIndexOperator
from airflow_kaniko.operators.kaniko import KanikoBuildFailed
from airflow_kaniko.results import parse_results
from tests.unit.operators.fake_kube import FakeCoreV1, finish
from tests.unit.operators.test_kaniko import DIGEST, REG, finished_pod, operator, rendered, ti_recorder, with_fake_cluster

FINAL = [f"{REG}/demo/hello:1", f"{REG}/demo/hello:latest"]
DOCKER = "application/vnd.docker.distribution.manifest.v2+json"


def test_a_platform_pod_builds_that_platform_on_its_architecture_and_pushes_only_staging_tags():
    pod = rendered(operator(platform="linux/arm64"))
    args = pod.spec.containers[0].args
    assert "--custom-platform=linux/arm64" in args
    assert [a for a in args if a.startswith("--destination=")] == [f"--destination={REG}/demo/hello:1-linux-arm64"]
    assert pod.spec.node_selector == {"kubernetes.io/arch": "arm64"}
    assert pod.metadata.name.startswith("kaniko-hello-linux-arm64")


def test_node_selector_overrides():
    # The user's own key wins; other keys are kept alongside the platform's.
    pod = rendered(operator(platform="linux/arm64", node_selector={"kubernetes.io/arch": "amd64", "pool": "builds"}))
    assert pod.spec.node_selector == {"kubernetes.io/arch": "amd64", "pool": "builds"}
    assert rendered(operator(platform="linux/arm64", platform_node_selector=False)).spec.node_selector in (None, {})
    assert rendered(operator()).spec.node_selector in (None, {})  # no platform: the node's own, as before
    with pytest.raises(KanikoSpecError, match="platform_node_selector"):
        operator(platform="linux/arm64", platform_node_selector="{{ params.x }}")


@pytest.mark.parametrize("platform", ["arm64", "linux/arm64;rm -rf /", "linux/arm64\n--destination=evil:1"])
def test_a_bad_platform_fails_before_any_pod(platform):
    with pytest.raises(KanikoSpecError) as err:
        rendered(operator(platform=platform))
    assert err.value.field == "platform" and err.value.value == platform


def test_custom_platform_in_extra_args_is_refused():
    with pytest.raises(KanikoSpecError, match="--custom-platform is set by the operator"):
        rendered(operator(extra_args=["--custom-platform=linux/arm64"]))


def test_a_platform_result_names_its_platform_and_final_destinations(registry_conn):
    op = with_fake_cluster(operator(platform="linux/arm64"), FakeCoreV1())
    request = rendered(op)
    op.get_or_create_pod(request, context={})
    assert finish(op, request, finished_pod(request, exit_code=0, message=DIGEST, phase="Succeeded")) == {
        "digest": DIGEST,
        "images": [f"{REG}/demo/hello:1-linux-arm64@{DIGEST}"],
        "platform": "linux/arm64",
        "destinations": FINAL,
    }


def test_a_failed_platform_says_which_platform_and_image(registry_conn):
    op = with_fake_cluster(operator(platform="linux/arm64"), FakeCoreV1())
    request = rendered(op)
    context, pushed = ti_recorder()
    with pytest.raises(KanikoBuildFailed):
        op.cleanup(
            request, finished_pod(request, exit_code=1, message="error building image: boom", phase="Failed"), context=context
        )
    assert pushed["return_value"]["platform"] == "linux/arm64"
    assert pushed["return_value"]["destinations"] == FINAL
    assert pushed["return_value"]["failed"] is True


# -- the merge step, against an in-memory registry ------------------------------------------------


class MemoryRegistry:
    """Manifests and configs by repository; records every tag written."""

    def __init__(self):
        self.manifests: dict[tuple[str, str], ServedManifest] = {}
        self.configs: dict[str, dict] = {}
        self.puts: list[tuple[str, str, str]] = []

    def add_image(self, repository, os, arch, variant=None):
        config = {"os": os, "architecture": arch, **({"variant": variant} if variant else {})}
        body = json.dumps(
            {
                "schemaVersion": 2,
                "config": {"digest": "sha256:" + hashlib.sha256(json.dumps(config).encode()).hexdigest()},
                "arch": arch,
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.manifests[repository, digest] = ServedManifest(body, DOCKER, digest)
        self.configs[digest] = config
        return digest

    # Registries
    def for_host(self, host):
        assert host == REG
        return self

    # Registry
    def manifest(self, repository, reference):
        return self.manifests.get((repository, reference))

    def config(self, repository, manifest):
        return self.configs[manifest.digest]

    def put_manifest(self, repository, tag, manifest):
        self.puts.append((repository, tag, manifest.digest))
        self.manifests[repository, tag] = manifest


def merge(registries, destinations, platforms, results, log=print):
    """The merge step fed and read as its task is: the build tasks' XComs in, the XCom it returns out."""
    return index_push.merge(registries, destinations, platforms, parse_results(results), log=log).to_xcom()


def platform_digests(destinations, platforms, results):
    return index_push.platform_digests(destinations, platforms, parse_results(results))


def platform_result(platform, digest, destinations=FINAL):
    return {"digest": digest, "images": [], "platform": platform, "destinations": destinations}


def test_merge_pushes_one_index_under_every_final_tag():
    registry = MemoryRegistry()
    amd, arm = registry.add_image("demo/hello", "linux", "amd64"), registry.add_image("demo/hello", "linux", "arm64")
    other = platform_result("linux/arm64", "sha256:" + "9" * 64, [f"{REG}/demo/other:1"])  # another image's: ignored
    result = merge(
        registry,
        FINAL,
        ["linux/amd64", "linux/arm64"],
        [other, platform_result("linux/arm64", arm), platform_result("linux/amd64", amd)],
        log=lambda _: None,
    )
    index = registry.manifests["demo/hello", "1"]
    assert index.media_type == INDEX_MEDIA_TYPE
    assert result == {
        "digest": index.digest,
        "images": [f"{d}@{index.digest}" for d in FINAL],
        "platforms": {"linux/amd64": amd, "linux/arm64": arm},
        "destinations": FINAL,
    }
    body = json.loads(index.body)
    assert [(m["platform"]["architecture"], m["digest"], m["mediaType"]) for m in body["manifests"]] == [
        ("amd64", amd, DOCKER),
        ("arm64", arm, DOCKER),
    ]
    assert registry.puts == [("demo/hello", "1", index.digest), ("demo/hello", "latest", index.digest)]


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ([platform_result("linux/amd64", "x")], "linux/arm64: no result"),
        ([platform_result("linux/amd64", "x"), None], "linux/arm64: no result"),
        (
            [
                platform_result("linux/amd64", "x"),
                {
                    "failed": True,
                    "failure": {"kind": "dockerfile", "retryable": False, "detail": "exit 3"},
                    "platform": "linux/arm64",
                    "destinations": FINAL,
                },
            ],
            "linux/arm64: dockerfile: exit 3",
        ),
    ],
)
def test_a_failed_platform_pushes_nothing(results, message):
    registry = MemoryRegistry()
    with pytest.raises(MergeError) as err:
        merge(registry, FINAL, ["linux/amd64", "linux/arm64"], results)
    assert message in str(err.value) and "nothing pushed under its tags" in str(err.value)
    assert registry.puts == []


def test_a_manifest_built_for_another_architecture_pushes_nothing():
    registry = MemoryRegistry()
    amd = registry.add_image("demo/hello", "linux", "amd64")
    wrong = registry.add_image("demo/hello", "linux", "amd64")  # e.g. a base image without arm64
    registry.configs[wrong] = {"os": "linux", "architecture": "amd64", "x": 1}
    with pytest.raises(MergeError, match="is an image for linux/amd64, not linux/arm64"):
        merge(
            registry,
            FINAL,
            ["linux/amd64", "linux/arm64"],
            [platform_result("linux/amd64", amd), platform_result("linux/arm64", wrong)],
        )
    assert registry.puts == []


def test_platform_digests_needs_every_platform_listed():
    assert platform_digests(FINAL, ["linux/amd64"], [platform_result("linux/amd64", "a")]) == {"linux/amd64": "a"}
    with pytest.raises(KanikoSpecError):
        platform_digests(FINAL, ["amd64"], [])


def test_index_operator_pushes_the_failure_for_the_report_and_fails(monkeypatch):
    import airflow_kaniko.hooks.registry as hooks
    from airflow.providers.common.compat.sdk import AirflowFailException

    registry = MemoryRegistry()

    class Clients:
        def __enter__(self):
            return registry

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(hooks, "registries", lambda conn_id: Clients())
    op = KanikoImageIndexOperator(task_id="index", destinations=FINAL, platforms=["linux/amd64", "linux/arm64"], builds=[])
    assert op.trigger_rule == "all_done"
    context, pushed = ti_recorder()
    with pytest.raises(AirflowFailException, match="linux/amd64: no result"):
        op.execute(context)
    assert pushed["return_value"]["failed"] is True and pushed["return_value"]["destinations"] == FINAL
    assert registry.puts == []


@pytest.mark.parametrize("isolate", [False, True])
def test_no_container_of_a_platform_pod_names_a_final_tag(isolate):
    pod = rendered(operator(platform="linux/arm64", isolate_push_credentials=isolate))
    words = [w for c in [*(pod.spec.init_containers or []), *pod.spec.containers] for w in [*(c.command or []), *(c.args or [])]]
    staging = f"{REG}/demo/hello:1-linux-arm64"
    assert any(staging in w for w in words)
    for final in FINAL:
        assert not [w for w in words if w == final or w.endswith(f"={final}") or w.endswith(f" {final}")], final


def test_render_only_platform_builds_merge_into_nothing():
    result = operator(platform="linux/arm64", render_only=True)._render_pod(None).to_xcom()  # what execute pushes
    assert result["dry_run"] is True and result["platform"] == "linux/arm64" and result["destinations"] == FINAL
    registry = MemoryRegistry()
    rendered_results = [result, {**result, "platform": "linux/amd64"}]
    assert merge(registry, FINAL, ["linux/amd64", "linux/arm64"], rendered_results, log=lambda _: None) == {
        "dry_run": True,
        "platforms": ["linux/amd64", "linux/arm64"],
        "destinations": FINAL,
    }
    assert registry.puts == []
    with pytest.raises(MergeError, match="linux/amd64: no result"):  # one rendered, one missing: not a dry run
        merge(registry, FINAL, ["linux/amd64", "linux/arm64"], [result])


def test_index_operator_leaves_a_registry_failure_to_its_retries(monkeypatch):
    import airflow_kaniko.hooks.registry as hooks
    from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
    from airflow_kaniko.oci.registry_protocol import RegistryError

    registry = MemoryRegistry()
    amd, arm = registry.add_image("demo/hello", "linux", "amd64"), registry.add_image("demo/hello", "linux", "arm64")

    def unavailable(repository, tag, manifest):
        raise RegistryError(REG, f"{repository}:{tag}", "service unavailable (HTTP 503)", 503)

    registry.put_manifest = unavailable

    class Clients:
        def __enter__(self):
            return registry

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(hooks, "registries", lambda conn_id: Clients())
    builds = [platform_result("linux/amd64", amd), platform_result("linux/arm64", arm)]
    op = KanikoImageIndexOperator(
        task_id="index", destinations=FINAL, platforms=["linux/amd64", "linux/arm64"], builds=builds, retries=2
    )
    context, pushed = ti_recorder()
    with pytest.raises(AirflowException, match="index not pushed: .*HTTP 503") as err:
        op.execute(context)
    assert not isinstance(err.value, AirflowFailException)  # a transient registry error is retried, not final
    assert pushed["return_value"]["failure"]["kind"] == "push"


@pytest.mark.parametrize("destinations", [[], ""])
def test_index_operator_without_destinations_names_the_field_before_any_connection(monkeypatch, destinations):
    import airflow_kaniko.hooks.registry as hooks

    monkeypatch.setattr(hooks, "registries", lambda conn_id: pytest.fail("no connection is read for a bad value"))
    op = KanikoImageIndexOperator(task_id="index", destinations=destinations, platforms=["linux/amd64"], builds=[])
    context, pushed = ti_recorder()
    with pytest.raises(KanikoSpecError) as err:
        op.execute(context)
    assert err.value.field == "destinations" and err.value.value == destinations
    assert pushed == {}
