"""The plan travels as XCom JSON between the DAG's tasks: a real plan's JSON is pinned key by key, in order."""

import json

from airflow_kaniko.maintenance.plan_state import ImageState, Plan
from airflow_kaniko.maintenance.planner import absorb, prepare_plan
from tests.unit.maintenance.fake_registry import FakeRegistries
from tests.unit.maintenance.test_planner import BASE, EXECUTOR, NOW, REG, image


def test_a_real_plans_json_is_exactly_what_running_dags_exchange(tmp_path):
    registries = FakeRegistries()
    base = registries.for_host(REG).push_image("library/busybox", ["latest"])
    plan = prepare_plan([image(tmp_path, "hello")], registries=registries, executor_image=EXECUTOR, now=NOW, log=print)["plan"]
    state = plan["images"]["hello"]
    fp, context = state["fingerprint"], state["context_digest"]
    inputs = {
        "bases": {BASE: base},
        "context": context,
        "settings": {
            "build_args": {"BASE": BASE},
            "dockerfile": "Dockerfile",
            "executor_image": EXECUTOR,
            "extra_args": ["--reproducible"],
            "labels": {},
            "target": None,
        },
        "version": 2,
    }
    kwargs = {
        "image_name": "hello",
        "context": str(tmp_path / "hello"),
        "destinations": [f"{REG}/demo/hello:1", f"{REG}/demo/hello:latest"],
        "build_args": {"BASE": BASE},
        "extra_args": ["--reproducible"],
    }
    expected = {
        "now": "2026-12-01T12:00:00+00:00",
        "force": False,
        "dry_run": False,
        "reproducible": True,
        "levels": [["hello"]],
        "max_age": {},
        "images": {
            "hello": {
                "name": "hello",
                "kwargs": kwargs,
                "executor_image": EXECUTOR,
                "unknowable": None,
                "bases": [{"reference": BASE, "written": "${BASE}", "line": 2, "args": ["BASE"], "digest": base}],
                "context_digest": context,
                "status": "build",
                "reason": {"kind": "first"},
                "fingerprint": fp,
                "digest": None,
                "previous_digest": None,
                "build": {
                    **kwargs,
                    "destinations": [
                        *kwargs["destinations"],
                        f"{REG}/demo/hello:fp-{fp}",
                        f"{REG}/demo/hello:fp-{fp}-20261201120000",
                    ],
                    "executor_image": EXECUTOR,
                    "context_digest": context,
                    "base_pins": [{"line": 2, "written": "${BASE}", "pinned": f"{BASE}@{base}"}],
                    "fingerprint": fp,
                    "build_reason": {"kind": "first"},
                    "base_images": [f"{BASE}@{base}"],
                    "image_labels": {
                        "org.opencontainers.image.base.name": BASE,
                        "org.opencontainers.image.base.digest": base,
                        "dev.airflow-kaniko.fingerprint": fp,
                        "dev.airflow-kaniko.inputs": json.dumps(inputs, sort_keys=True, separators=(",", ":")),
                    },
                },
                "images": [],
                "level": 0,
                "parents": [],
                "final_base": BASE,
            }
        },
    }
    assert json.dumps(plan) == json.dumps(expected)  # byte for byte: the key order too
    assert set(state) <= set(ImageState.__annotations__) and set(plan) <= set(Plan.__annotations__)


def test_a_rebuilt_multi_arch_image_and_a_failed_one_record_exactly_these_keys(tmp_path):
    registries = FakeRegistries()
    registries.for_host(REG).push_image("library/busybox", ["latest"])
    builds = [image(tmp_path, "multi", platforms=["linux/amd64"]), image(tmp_path, "broken")]
    plan = prepare_plan(builds, registries=registries, executor_image=EXECUTOR, now=NOW, log=print)["plan"]
    index, amd = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    multi = plan["images"]["multi"]["build"]["destinations"]
    failure = {"kind": "dockerfile", "retryable": False, "detail": "exit 3"}
    results = [
        {"digest": index, "images": [f"{multi[0]}@{index}"], "platforms": {"linux/amd64": amd}, "destinations": multi},
        {"failed": True, "failure": failure, "destinations": plan["images"]["broken"]["build"]["destinations"]},
    ]
    absorb(plan, results, through_level=0)
    rebuilt, broken = plan["images"]["multi"], plan["images"]["broken"]
    assert [(k, rebuilt[k]) for k in ("status", "digest", "images", "platform_digests")] == [
        ("status", "rebuilt"),
        ("digest", index),
        ("images", [f"{multi[0]}@{index}"]),
        ("platform_digests", {"linux/amd64": amd}),
    ]
    assert list(rebuilt)[-1] == "platform_digests"
    assert (broken["status"], broken["failure"], list(broken)[-1]) == ("failed", failure, "failure")
