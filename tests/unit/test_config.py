"""The ``[kaniko]`` config section: registered with Airflow, read when an operator argument is absent, never over one."""

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

import airflow_kaniko
from airflow_kaniko import config
from tests.conftest import ROOT
from tests.unit.operators.test_kaniko import api_dict, rendered
from tests.unit.operators.test_kaniko import operator as build_operator
from tests.unit.operators.test_multi_build import operator as multi_operator

EXECUTOR = "ghcr.io/osscontainertools/kaniko:v1.28.3"
DEBUG_EXECUTOR = "ghcr.io/osscontainertools/kaniko:v1.28.3-debug"
PUSHER = "gcr.io/go-containerregistry/crane:v0.22.1"
PLATFORM_IMAGE = "registry.example.com/platform/kaniko@sha256:" + "e" * 64


@pytest.fixture
def kaniko_conf(monkeypatch):
    """Set a ``[kaniko]`` option as a deployment does, through its environment variable."""

    def set_option(option, value):
        monkeypatch.setenv(f"AIRFLOW__KANIKO__{option.upper()}", value)

    return set_option


def test_the_section_is_declared_as_cncf_kubernetes_declares_its_own():
    section = airflow_kaniko.get_provider_info()["config"]["kaniko"]
    assert section["description"]
    for option in section["options"].values():
        assert set(option) == {"description", "version_added", "type", "example", "default"}
        assert (option["type"], option["version_added"]) == ("string", "0.1.0") and option["description"]
    assert {name: option["default"] for name, option in section["options"].items()} == {
        "executor_image": EXECUTOR,
        "debug_executor_image": DEBUG_EXECUTOR,
        "pusher_image": PUSHER,
        "registry_mirrors": "",
        "namespace": "",
    }


def test_airflow_serves_the_section_with_its_defaults():
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "config", "get-value", "kaniko", "pusher_image"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == PUSHER


def test_nothing_configured_renders_the_pod_the_defaults_did():
    implicit = api_dict(rendered(build_operator(random_name_suffix=False)))
    explicit = api_dict(rendered(build_operator(random_name_suffix=False, executor_image=EXECUTOR, registry_mirrors=[])))
    assert implicit == explicit and implicit["spec"]["containers"][0]["image"] == EXECUTOR


def test_executor_image(kaniko_conf):
    kaniko_conf("executor_image", PLATFORM_IMAGE)
    assert api_dict(rendered(build_operator()))["spec"]["containers"][0]["image"] == PLATFORM_IMAGE
    assert api_dict(rendered(build_operator(executor_image=EXECUTOR)))["spec"]["containers"][0]["image"] == EXECUTOR


def test_debug_executor_image(kaniko_conf):
    kaniko_conf("debug_executor_image", PLATFORM_IMAGE + "-debug")
    kaniko_conf("executor_image", PLATFORM_IMAGE)  # not the multi-build's: it needs the shell of the -debug image
    assert api_dict(rendered(multi_operator()))["spec"]["containers"][0]["image"] == PLATFORM_IMAGE + "-debug"
    assert api_dict(rendered(multi_operator(executor_image=DEBUG_EXECUTOR)))["spec"]["containers"][0]["image"] == DEBUG_EXECUTOR


def _pusher_images(op):
    spec = api_dict(rendered(op))["spec"]
    return {c["image"] for c in [*spec["initContainers"], *spec["containers"]] if c["name"].startswith("push")}


def test_pusher_image(kaniko_conf):
    kaniko_conf("pusher_image", "registry.example.com/platform/crane:v0.22.1")
    assert _pusher_images(build_operator(isolate_push_credentials=True)) == {"registry.example.com/platform/crane:v0.22.1"}
    assert _pusher_images(build_operator(isolate_push_credentials=True, pusher_image=PUSHER)) == {PUSHER}


def _mirror_args(op):
    return [a for a in api_dict(rendered(op))["spec"]["containers"][0]["args"] if a.startswith("--registry-mirror")]


def test_registry_mirrors(kaniko_conf):
    kaniko_conf("registry_mirrors", " mirror.example.com, mirror-2.example.com:5000 ,")
    assert _mirror_args(build_operator()) == [
        "--registry-mirror=mirror.example.com",
        "--registry-mirror=mirror-2.example.com:5000",
    ]
    assert _mirror_args(build_operator(registry_mirrors=["own.example.com"])) == ["--registry-mirror=own.example.com"]
    assert _mirror_args(build_operator(registry_mirrors=[])) == []  # an empty list is an argument too: no mirror


@pytest.fixture
def kubernetes_namespace(monkeypatch):
    """KubernetesPodOperator's own choice when no namespace is given: its connection's namespace."""
    conn = {"conn_type": "kubernetes", "extra": {"namespace": "from-the-kubernetes-connection"}}
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(conn))


def _namespace(op):
    return rendered(op).metadata.namespace


def test_namespace_left_to_kubernetes_pod_operator_when_unset(kubernetes_namespace):
    assert _namespace(build_operator(namespace=None)) == "from-the-kubernetes-connection"


def test_namespace(kaniko_conf, kubernetes_namespace):
    kaniko_conf("namespace", "image-builds")
    assert _namespace(build_operator(namespace=None)) == "image-builds"  # the platform's, for build pods
    assert _namespace(multi_operator(namespace=None)) == "image-builds"
    assert _namespace(build_operator(namespace="team-a")) == "team-a"


class _Planned(Exception):
    """What the planner was asked to fingerprint, raised out of prepare_task before any registry call."""


@pytest.mark.parametrize(("configured", "planned"), [(None, EXECUTOR), (PLATFORM_IMAGE, PLATFORM_IMAGE)])
def test_the_maintenance_planner_fingerprints_the_executor_the_builds_default_to(monkeypatch, kaniko_conf, configured, planned):
    from airflow_kaniko.maintenance import planner
    from airflow_kaniko.tasks import maintenance

    if configured:
        kaniko_conf("executor_image", configured)
    registry = {"conn_type": "oci_registry", "host": "10.244.77.1:5000", "login": "robot", "password": "Pl4n-pw-robot"}
    monkeypatch.setenv("AIRFLOW_CONN_KANIKO_REGISTRY", json.dumps(registry))

    def prepare_plan(builds, *, executor_image, **kwargs):
        raise _Planned(executor_image)

    monkeypatch.setattr(planner, "prepare_plan", prepare_plan)
    with pytest.raises(_Planned) as info:
        maintenance.prepare_task(
            {"manifest": str(ROOT / "dags" / "images" / "images.yaml"), "images": []},
            datetime(2026, 12, 4, tzinfo=UTC),
            registry_conn_id="kaniko_registry",
            max_depth=4,
            ti=None,
            allowed_roots=[ROOT / "dags"],
        )
    assert info.value.args == (planned,)
    assert config.executor_image() == planned
    assert api_dict(rendered(build_operator()))["spec"]["containers"][0]["image"] == planned  # what the builds run


# Every option at once, set to a platform's values, for the operators that read it (the multi-build runs the
# debug executor and has no pushers).
PLATFORM = {
    "executor_image": PLATFORM_IMAGE,
    "debug_executor_image": "registry.example.com/platform/kaniko:v1.28.3-debug",
    "pusher_image": "registry.example.com/platform/crane:v0.22.1",
    "registry_mirrors": "mirror.example.com",
    "namespace": "image-builds",
}


def _settings(op):
    """What the five options decide in a rendered pod."""
    pod = api_dict(rendered(op))
    (kaniko,) = [c for c in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]] if c["name"] == "kaniko"]
    return {
        "executor": kaniko["image"],
        "pushers": _pusher_images(op) if getattr(op, "isolate_push_credentials", False) else None,
        "mirrors": [a.partition("=")[2] for a in kaniko["args"] if a.startswith("--registry-mirror")],
        "namespace": pod["metadata"]["namespace"],
    }


@pytest.mark.parametrize(
    ("make", "arguments", "from_arguments", "from_options"),
    [
        (
            build_operator,
            {"executor_image": EXECUTOR, "pusher_image": PUSHER, "registry_mirrors": ["own.example.com"], "namespace": "team-a"},
            {"executor": EXECUTOR, "pushers": {PUSHER}, "mirrors": ["own.example.com"], "namespace": "team-a"},
            {
                "executor": PLATFORM["executor_image"],
                "pushers": {PLATFORM["pusher_image"]},
                "mirrors": ["mirror.example.com"],
                "namespace": "image-builds",
            },
        ),
        (
            multi_operator,
            {"executor_image": DEBUG_EXECUTOR, "registry_mirrors": ["own.example.com"], "namespace": "team-a"},
            # The mirrors once for each of its two builds.
            {"executor": DEBUG_EXECUTOR, "pushers": None, "mirrors": ["own.example.com"] * 2, "namespace": "team-a"},
            {
                "executor": PLATFORM["debug_executor_image"],
                "pushers": None,
                "mirrors": ["mirror.example.com"] * 2,
                "namespace": "image-builds",
            },
        ),
    ],
    ids=["KanikoBuildOperator", "KanikoMultiBuildOperator"],
)
def test_with_every_option_set_each_argument_still_wins(kaniko_conf, make, arguments, from_arguments, from_options):
    """Each operator argument over its [kaniko] option (the pod is exactly the one rendered with no option set),
    and each option applied where its argument is absent."""
    if make is build_operator:
        arguments = {**arguments, "isolate_push_credentials": True}
    unconfigured = api_dict(rendered(make(random_name_suffix=False, **arguments)))
    for option, value in PLATFORM.items():
        kaniko_conf(option, value)
    assert _settings(make(**arguments)) == from_arguments
    assert api_dict(rendered(make(random_name_suffix=False, **arguments))) == unconfigured
    absent = {"namespace": None, **({"isolate_push_credentials": True} if make is build_operator else {})}
    assert _settings(make(**absent)) == from_options
